// The background audit's results as policy reports other tools read (Policy Reporter, Kyverno's
// UI, openreports consumers): one report per namespace with a result per finding and a pass per
// clean workload, plus one cluster-wide report with the rollout answer per Namespace.
// - wgpolicyk8s.io/v1alpha2 PolicyReport / ClusterPolicyReport, or openreports.io/v1alpha1
//   Report / ClusterReport (its successor: `subjects` for `resources`, `description` for `message`).
// - Bounded: at most maxResults results and maxBytes of JSON per report, so a namespace of
//   thousands of workloads stays far under etcd's 1.5 MiB object limit (Kyverno's per-resource
//   reports grow etcd instead). Results are ordered deny, patch, warn, pass, so what is cut is the
//   least important; the summary always counts every result, cut or not (Gatekeeper's audit caps
//   violations at 20 and the count with them), and an annotation says how many were left out.
// - No secret value: a result carries the finding's message, path and remedy, which never hold one.
import { createHash } from 'node:crypto';
import { findingOutcome, readyForEnforce, type NamespaceView, type RolloutView, type WorkloadView } from './rollout.js';

export type ReportFormat = 'wgpolicyk8s' | 'openreports';
export const REPORT_FORMATS: readonly ReportFormat[] = ['wgpolicyk8s', 'openreports'];

export interface ReportLimits {
  maxResults: number;
  /** Serialized JSON bytes of the whole report. */
  maxBytes: number;
}
/** About a third of etcd's default 1.5 MiB request limit, whatever the messages. */
const DEFAULT_LIMITS: ReportLimits = { maxResults: 1000, maxBytes: 512 * 1024 };

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gapguard';
export const CONTENT_HASH_ANNOTATION = 'gapguard.io/content-hash';
export const TRUNCATED_ANNOTATION = 'gapguard.io/results-omitted';
/** One report per namespace, and the cluster-wide one, have this name. */
export const REPORT_NAME = 'gapguard';

type ResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface Summary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface ReportKind {
  apiVersion: string;
  kind: string;
  clusterKind: string;
  /** The API path of the plural resource: `/apis/<group>/<version>/[namespaces/<ns>/]<plural>`. */
  group: string;
  version: string;
  plural: string;
  clusterPlural: string;
}

export const REPORT_KINDS: Record<ReportFormat, ReportKind> = {
  wgpolicyk8s: { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', clusterKind: 'ClusterPolicyReport', group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'policyreports', clusterPlural: 'clusterpolicyreports' },
  openreports: { apiVersion: 'openreports.io/v1alpha1', kind: 'Report', clusterKind: 'ClusterReport', group: 'openreports.io', version: 'v1alpha1', plural: 'reports', clusterPlural: 'clusterreports' },
};

export interface PolicyReportObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences?: OwnerReference[] };
  source?: string;
  scope?: unknown;
  summary: Summary;
  results: Record<string, unknown>[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

interface Subject {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

interface Draft {
  order: number;
  result: ResultValue;
  policy: string;
  rule: string;
  message: string;
  severity: string;
  subject: Subject;
  properties: Record<string, string>;
}

const API_VERSIONS: Record<string, string> = {
  Pod: 'v1',
  PodTemplate: 'v1',
  ReplicationController: 'v1',
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

function subjectOf(w: WorkloadView): Subject {
  return { apiVersion: API_VERSIONS[w.kind], kind: w.kind, name: w.name, namespace: w.namespace };
}

const ORDER = { deny: 0, patch: 1, warn: 2, pass: 3 } as const;

function drafts(ns: NamespaceView): Draft[] {
  const out: Draft[] = [];
  for (const w of ns.workloads) {
    if (!w.findings.length) {
      out.push({ order: ORDER.pass, result: 'pass', policy: 'gapguard', rule: 'all-gaps', message: 'no gap found', severity: 'info', subject: subjectOf(w), properties: { enforce: 'allow' } });
      continue;
    }
    for (const f of w.findings) {
      const enforce = findingOutcome(f);
      out.push({
        order: ORDER[enforce],
        result: f.action === 'deny' ? 'fail' : 'warn',
        policy: f.gap,
        rule: f.rule,
        message: f.message,
        severity: f.severity,
        subject: subjectOf(w),
        properties: { path: f.path, action: f.action, enforce, fixable: String(f.fixable), remediation: f.remediation },
      });
    }
  }
  return out.sort((a, b) => a.order - b.order);
}

function summarize(values: readonly ResultValue[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const v of values) summary[v]++;
  return summary;
}

function shapeResult(d: Draft, format: ReportFormat, timestamp: { seconds: number; nanos: number }): Record<string, unknown> {
  const common = { source: 'gapguard', policy: d.policy, rule: d.rule, result: d.result, severity: d.severity, category: 'container security', scored: true, timestamp, properties: d.properties };
  return format === 'wgpolicyk8s' ? { ...common, message: d.message, resources: [d.subject] } : { ...common, description: d.message, subjects: [d.subject] };
}

/** A digest of what a report says, timestamps left out: equal digests mean nothing to write. */
export function contentHash(report: Pick<PolicyReportObject, 'summary' | 'results' | 'metadata'>): string {
  const stable = report.results.map(({ timestamp: _t, ...rest }) => rest);
  return createHash('sha256').update(JSON.stringify([report.summary, stable, report.metadata.annotations[TRUNCATED_ANNOTATION] ?? ''])).digest('hex').slice(0, 32);
}

function bounded(
  format: ReportFormat,
  base: Omit<PolicyReportObject, 'summary' | 'results'>,
  all: readonly Draft[],
  limits: ReportLimits,
  generatedAt: Date,
): PolicyReportObject {
  const timestamp = { seconds: Math.floor(generatedAt.getTime() / 1000), nanos: 0 };
  const summary = summarize(all.map((d) => d.result));
  const results = all.slice(0, limits.maxResults).map((d) => shapeResult(d, format, timestamp));
  const report: PolicyReportObject = { ...base, summary, results };
  // Each result's share of the bytes, so that the cut is found in one pass, not one per result;
  // the two annotations added below take well under the 1 KiB kept for them.
  let size = Buffer.byteLength(JSON.stringify(report));
  while (size > limits.maxBytes - 1024 && results.length) size -= Buffer.byteLength(JSON.stringify(results.pop())) + 1;
  const omitted = all.length - results.length;
  if (omitted) report.metadata.annotations[TRUNCATED_ANNOTATION] = `${omitted} of ${all.length} results left out to keep the report under ${limits.maxResults} results and ${limits.maxBytes} bytes; the summary counts all of them`;
  report.metadata.annotations[CONTENT_HASH_ANNOTATION] = contentHash(report);
  return report;
}

function metadata(namespace: string | undefined, owner: OwnerReference | undefined): PolicyReportObject['metadata'] {
  return {
    name: REPORT_NAME,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: {},
    ...(owner ? { ownerReferences: [owner] } : {}),
  };
}

/** The report of one namespace: a result per finding of each workload, a pass per clean workload. */
export function namespaceReport(ns: NamespaceView, format: ReportFormat, options: { limits?: ReportLimits; owner?: OwnerReference; generatedAt: Date }): PolicyReportObject {
  const k = REPORT_KINDS[format];
  const base = { apiVersion: k.apiVersion, kind: k.kind, metadata: metadata(ns.name, options.owner) };
  return bounded(format, base, drafts(ns), options.limits ?? DEFAULT_LIMITS, options.generatedAt);
}

/** The cluster-wide report: per Namespace, whether it is ready for enforce, and if not, why. */
export function clusterReport(view: RolloutView, format: ReportFormat, options: { limits?: ReportLimits; owner?: OwnerReference; generatedAt: Date }): PolicyReportObject {
  const k = REPORT_KINDS[format];
  const all: Draft[] = view.namespaces.map((ns) => {
    const ready = readyForEnforce(ns);
    return {
      order: ready ? ORDER.pass : ORDER.deny,
      result: ready ? 'pass' : 'fail',
      policy: 'gapguard',
      rule: 'ready-for-enforce',
      message: ready
        ? `ready for enforce: no running workload would be denied or patched (mode ${ns.mode ?? 'unknown'})`
        : `not ready for enforce: ${ns.wouldDeny.length} workload(s) would be denied, ${ns.wouldPatch.length} patched (mode ${ns.mode ?? 'unknown'})`,
      severity: ready ? 'info' : 'high',
      subject: { apiVersion: 'v1', kind: 'Namespace', name: ns.name },
      properties: { mode: ns.mode ?? 'unknown', wouldDeny: String(ns.wouldDeny.length), wouldPatch: String(ns.wouldPatch.length), workloads: String(ns.workloads.length) },
    };
  });
  all.sort((a, b) => a.order - b.order);
  const base = { apiVersion: k.apiVersion, kind: k.clusterKind, metadata: metadata(undefined, options.owner) };
  return bounded(format, base, all, options.limits ?? DEFAULT_LIMITS, options.generatedAt);
}
