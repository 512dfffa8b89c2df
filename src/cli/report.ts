// The four outputs of scan and audit (table, JSON, SARIF, and the HTML rollout report of
// src/report), written as objects are judged (a Reporter), so a scan of a large input holds no
// more than one document and its result at a time (HTML keeps the results: its overview comes
// first). JSON is a stable contract:
// {"results":[{"source","kind","namespace","name","mode"?,"findings":[{gap,rule,severity,action,path,message,remediation,fixable}],"notes"?}],
//  "skipped":[{source,kind,name,reason}],"errors":[{source,message}]} (mode only for objects read from a cluster)
// SARIF 2.1.0 is what code-scanning tools ingest: rule ids are gap/rule, locations file and line
// (objects read from a cluster have only a logical location). A run's `results` come before its
// `tool` (the rules are known only once every result is written; SARIF does not order members).
import { relative, sep } from 'node:path';
import type { Finding, GapId, ObjectResult, Severity } from '../engine/types.js';
import { htmlReporter } from '../report/html.js';
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

/** Whether enforce would deny the object: one of its findings' action is deny. */
export function wouldDeny(result: ObjectResult): boolean {
  return result.findings.some((f) => f.action === 'deny');
}

/** 0 nothing denied, 1 a finding's action is deny, 2 something could not be read or judged (scan and audit alike). */
export function exitCodeOf(problems: number, denied: boolean): number {
  return problems ? 2 : denied ? 1 : 0;
}

export function exitCode(report: Report): number {
  return exitCodeOf(report.problems.length, report.evaluated.some((e) => wouldDeny(e.result)));
}

/**
 * An output format, fed one judged object at a time: `object` returns the text for it (possibly
 * empty), `end` the closing text once every object and the skipped ones and problems are known.
 */
export interface Reporter {
  object(o: ReportedObject): string;
  end(skipped: readonly SkippedObject[], problems: readonly InputProblem[]): string;
}

/**
 * JSON.stringify(value, null, 2) as it reads nested `depth` levels deep: the value is wrapped in
 * `depth` arrays, stringified, and the wrapping cut off again (about twice as fast as re-indenting
 * every line of the text).
 */
function nested(value: unknown, depth: number): string {
  let wrapped = value;
  for (let i = 0; i < depth; i++) wrapped = [wrapped];
  const text = JSON.stringify(wrapped, null, 2);
  // Each level opens with "[\n" and its indent before the value, and closes with "\n", its indent and "]".
  return text.slice(2 * depth + depth * (depth + 1), text.length - (2 * depth + depth * (depth - 1)));
}

/** Writes what JSON.stringify({results, skipped, errors}, null, 2) would, one result at a time. */
function jsonReporter(): Reporter {
  let count = 0;
  return {
    object({ source, result, mode }) {
      // Optional members are added in place, in the contract's order (no spread on this per-object path).
      const entry: Record<string, unknown> = { source, kind: result.kind, namespace: result.namespace, name: result.name };
      if (mode) entry.mode = mode;
      entry.findings = result.findings.map((f) => ({
        gap: f.gap,
        rule: f.rule,
        severity: f.severity,
        action: f.action,
        path: f.path,
        message: f.message,
        remediation: f.remediation,
        fixable: f.fixable,
      }));
      if (result.notes.length) entry.notes = result.notes;
      return (count++ === 0 ? '{\n  "results": [\n    ' : ',\n    ') + nested(entry, 2);
    },
    end(skipped, problems) {
      return `${count === 0 ? '{\n  "results": []' : '\n  ]'},\n  "skipped": ${nested(skipped, 1)},\n  "errors": ${nested(problems, 1)}\n}\n`;
    },
  };
}

function tableReporter(): Reporter {
  let deny = 0;
  let warn = 0;
  let count = 0;
  return {
    object({ source, result, mode }) {
      count++;
      if (!result.findings.length && !result.notes.length) return '';
      const lines: string[] = [];
      lines.push(`${result.kind} ${result.namespace}/${result.name}  (${source}${mode ? `, namespace mode ${mode}` : ''})`);
      for (const f of result.findings) {
        if (f.action === 'deny') deny++;
        else warn++;
        lines.push(`  ${f.action.toUpperCase().padEnd(5)} ${f.severity.padEnd(8)} ${f.rule}  ${f.path}${f.fixable ? '  [fixable]' : ''}`);
        lines.push(`        ${f.message}`);
      }
      for (const note of result.notes) lines.push(`  NOTE  ${note}`);
      lines.push('');
      return lines.join('\n') + '\n';
    },
    end(skipped) {
      return (
        `${count} workload(s) scanned: ${deny} finding(s) to deny, ${warn} to warn` +
        (skipped.length ? `; ${skipped.length} object(s) skipped (--output json says why)` : '') +
        '\n'
      );
    },
  };
}


const SARIF_HEAD = `{
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "version": "2.1.0",
  "runs": [
    {
      "results": [`;

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

function sarifReporter(): Reporter {
  const rules: { id: string; first: Finding }[] = [];
  const ruleIndex = new Map<string, number>();
  let count = 0;
  let started = false;
  const head = (): string => (started ? '' : ((started = true), SARIF_HEAD));
  return {
    object({ document, located, result }) {
      let out = '';
      for (const f of result.findings) {
        let index = ruleIndex.get(f.rule);
        if (index === undefined) {
          index = rules.push({ id: f.rule, first: f }) - 1;
          ruleIndex.set(f.rule, index);
        }
        const entry = {
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
                      region: { startLine: lineOf(document, [...located.base, ...f.segments]) },
                    },
                  }
                : {}),
              logicalLocations: [{ fullyQualifiedName: `${result.kind}/${result.namespace}/${result.name}/${f.path}`, kind: 'member' }],
            },
          ],
          partialFingerprints: { 'gapguard/v1': `${result.kind}/${result.namespace}/${result.name}/${f.rule}/${f.path}` },
        };
        out += (count++ === 0 ? '' : ',') + '\n        ' + nested(entry, 4);
      }
      return head() + out;
    },
    end() {
      const tool = {
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
      };
      return `${head()}${count ? '\n      ]' : ']'},\n      "tool": ${nested(tool, 3)}\n    }\n  ]\n}\n`;
    },
  };
}

const OUTPUTS = ['table', 'json', 'sarif', 'html'] as const;
export type OutputFormat = (typeof OUTPUTS)[number];

/** `table, json, sarif or html`, for usage errors. */
export const OUTPUT_CHOICES = `${OUTPUTS.slice(0, -1).join(', ')} or ${OUTPUTS[OUTPUTS.length - 1]}`;

export function isOutputFormat(text: string): text is OutputFormat {
  return (OUTPUTS as readonly string[]).includes(text);
}

/** The reporter of a format; title names what was judged (for html, src/report/html.ts). */
export function reporterFor(format: OutputFormat, title: string): Reporter {
  switch (format) {
    case 'json':
      return jsonReporter();
    case 'sarif':
      return sarifReporter();
    case 'html':
      return htmlReporter(title);
    default:
      return tableReporter();
  }
}

/** The whole report in the asked format, for a report held in memory (audit). */
export function formatReport(outcome: Report, format: OutputFormat, title: string): string {
  const reporter = reporterFor(format, title);
  let out = '';
  for (const o of outcome.evaluated) out += reporter.object(o);
  return out + reporter.end(outcome.skipped, outcome.problems);
}
