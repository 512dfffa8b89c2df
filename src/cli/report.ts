// The four outputs of scan and audit (table, JSON, SARIF, and the HTML rollout report of src/report). JSON is a stable contract:
// {"results":[{"source","kind","namespace","name","mode"?,"findings":[{gap,rule,severity,action,path,message,remediation,fixable}],"notes"?}],
//  "skipped":[{source,kind,name,reason}],"errors":[{source,message}]} (mode only for objects read from a cluster)
// SARIF 2.1.0 is what code-scanning tools ingest: rule ids are gap/rule, locations file and line
// (objects read from a cluster have only a logical location).
import { relative, sep } from 'node:path';
import type { Finding, GapId, ObjectResult, Severity } from '../engine/types.js';
import { htmlReporter } from '../report/html.js';
import { parsePath } from '../workloads/paths.js';
import type { SkippedObject } from './evaluate-sources.js';
import { lineOf, type InputProblem, type LocatedObject, type SourceDocument } from './input.js';

export const VERSION = '0.1.0';

/** One judged object: where it came from, and for a file, where in it (for SARIF lines). */
export interface ReportedObject {
  source: string;
  result: ObjectResult;
  document?: SourceDocument;
  located?: LocatedObject;
  /** The admission mode of the object's namespace, for objects read from a cluster. */
  mode?: string;
}

export interface Report {
  evaluated: readonly ReportedObject[];
  skipped: readonly SkippedObject[];
  problems: readonly InputProblem[];
}

/** 0 nothing denied, 1 a finding's action is deny, 2 something could not be read or judged. */
export function exitCode(report: Report): number {
  if (report.problems.length) return 2;
  return report.evaluated.some((e) => e.result.findings.some((f) => f.action === 'deny')) ? 1 : 0;
}

export function toJson(outcome: Report): string {
  const results = outcome.evaluated.map(({ source, result, mode }) => ({
    source,
    kind: result.kind,
    namespace: result.namespace,
    name: result.name,
    ...(mode ? { mode } : {}),
    findings: result.findings.map((f) => ({
      gap: f.gap,
      rule: f.rule,
      severity: f.severity,
      action: f.action,
      path: f.path,
      message: f.message,
      remediation: f.remediation,
      fixable: f.fixable,
    })),
    ...(result.notes.length ? { notes: result.notes } : {}),
  }));
  return JSON.stringify({ results, skipped: outcome.skipped, errors: outcome.problems }, null, 2) + '\n';
}

export function toTable(outcome: Report): string {
  const lines: string[] = [];
  let deny = 0;
  let warn = 0;
  for (const { source, result, mode } of outcome.evaluated) {
    if (!result.findings.length && !result.notes.length) continue;
    lines.push(`${result.kind} ${result.namespace}/${result.name}  (${source}${mode ? `, namespace mode ${mode}` : ''})`);
    for (const f of result.findings) {
      if (f.action === 'deny') deny++;
      else warn++;
      lines.push(`  ${f.action.toUpperCase().padEnd(5)} ${f.severity.padEnd(8)} ${f.rule}  ${f.path}${f.fixable ? '  [fixable]' : ''}`);
      lines.push(`        ${f.message}`);
    }
    for (const note of result.notes) lines.push(`  NOTE  ${note}`);
    lines.push('');
  }
  lines.push(
    `${outcome.evaluated.length} workload(s) scanned: ${deny} finding(s) to deny, ${warn} to warn` +
      (outcome.skipped.length ? `; ${outcome.skipped.length} object(s) skipped (--output json says why)` : ''),
  );
  return lines.join('\n') + '\n';
}

const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0' };

const GAP_TITLES: Record<GapId, string> = {
  'docker-socket': 'Container-runtime socket mounted as a volume',
  privileged: 'Privileged container or host namespaces',
  'run-as-root': 'Container running as root with default capabilities',
  'env-secrets': 'Secret in environment variables',
  'unverified-image': 'Image pulled without verification',
  'flat-network': 'Pod on a flat network',
  'resource-limits': 'No resource limits',
  'stale-image': 'Container on an unrefreshed image',
};

function uri(source: string): string {
  return source === '-' ? 'stdin' : relative(process.cwd(), source).split(sep).join('/');
}

export function toSarif(outcome: Report): string {
  const rules: { id: string; first: Finding }[] = [];
  const ruleIndex = new Map<string, number>();
  const results: unknown[] = [];
  for (const { document, located, result } of outcome.evaluated) {
    for (const f of result.findings) {
      let index = ruleIndex.get(f.rule);
      if (index === undefined) {
        index = rules.push({ id: f.rule, first: f }) - 1;
        ruleIndex.set(f.rule, index);
      }
      results.push({
        ruleId: f.rule,
        ruleIndex: index,
        level: f.action === 'deny' ? 'error' : 'warning',
        message: { text: `${result.kind} ${result.namespace}/${result.name}: ${f.message}` },
        locations: [
          {
            ...(document && located
              ? {
                  physicalLocation: {
                    artifactLocation: { uri: uri(document.file.name) },
                    region: { startLine: lineOf(document, [...located.base, ...parsePath(f.path)]) },
                  },
                }
              : {}),
            logicalLocations: [{ fullyQualifiedName: `${result.kind}/${result.namespace}/${result.name}/${f.path}`, kind: 'member' }],
          },
        ],
        partialFingerprints: { 'gapguard/v1': `${result.kind}/${result.namespace}/${result.name}/${f.rule}/${f.path}` },
      });
    }
  }
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gapguard',
            version: VERSION,
            semanticVersion: VERSION,
            rules: rules.map(({ id, first }) => ({
              id,
              name: id.replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase()),
              shortDescription: { text: GAP_TITLES[first.gap] },
              fullDescription: { text: first.remediation },
              help: { text: first.remediation },
              defaultConfiguration: { level: first.action === 'deny' ? 'error' : 'warning' },
              properties: { tags: ['security', 'kubernetes', first.gap], 'security-severity': SECURITY_SEVERITY[first.severity] },
            })),
          },
        },
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

/** The rollout report as one self-contained HTML file (src/report/html.ts). */
export function toHtml(outcome: Report, title: string): string {
  const reporter = htmlReporter(title);
  for (const o of outcome.evaluated) reporter.object(o);
  return reporter.end(outcome.skipped, outcome.problems);
}

export const OUTPUTS = ['table', 'json', 'sarif', 'html'] as const;
export type OutputFormat = (typeof OUTPUTS)[number];

/** `table, json, sarif or html`, for usage errors. */
export const OUTPUT_CHOICES = `${OUTPUTS.slice(0, -1).join(', ')} or ${OUTPUTS[OUTPUTS.length - 1]}`;

export function isOutputFormat(text: string): text is OutputFormat {
  return (OUTPUTS as readonly string[]).includes(text);
}

/** The report in the asked format; title names what was judged (for html). */
export function formatReport(outcome: Report, format: OutputFormat, title: string): string {
  switch (format) {
    case 'json':
      return toJson(outcome);
    case 'sarif':
      return toSarif(outcome);
    case 'html':
      return toHtml(outcome, title);
    default:
      return toTable(outcome);
  }
}
