// The rollout view of a report, shared by the HTML file, the dashboard, the PolicyReports and the
// metrics: per namespace, what each gap counts, and what enforce mode would do to each workload if
// the namespace were switched now. Enforce's mutating call fixes a fixable finding before its
// validating call judges the object, so a fixable finding means "would patch"; a deny finding that
// is not fixable means "would deny" (the same split /validate/audit answers with).
import { GAP_IDS, type Finding, type GapId, type ObjectResult } from '../engine/types.js';

export type Verdict = 'deny' | 'patch' | 'warn' | 'clean';

export interface WorkloadView {
  kind: string;
  namespace: string;
  name: string;
  /** Where the object came from: `file:line`, or `cluster:<context>`. */
  source: string;
  verdict: Verdict;
  findings: readonly Finding[];
  notes: readonly string[];
}

export interface NamespaceView {
  name: string;
  /** The namespace's admission mode, for objects read from a cluster; undefined for manifests. */
  mode: string | undefined;
  /** Findings per gap (every gap present, zero included). */
  gaps: Record<GapId, number>;
  /** Workloads judged, and those of them enforce mode would deny or patch. */
  workloads: WorkloadView[];
  wouldDeny: WorkloadView[];
  wouldPatch: WorkloadView[];
}

export interface RolloutView {
  /** What was judged: the cluster context or the scanned files. */
  title: string;
  generatedAt: Date;
  namespaces: NamespaceView[];
  /** Objects not judged (off namespaces, same findings as their owner, kinds without a pod spec). */
  skipped: number;
  problems: readonly { source: string; message: string }[];
}

export interface JudgedObject {
  source: string;
  result: ObjectResult;
  mode?: string;
}

const VERDICT_ORDER: Record<Verdict, number> = { deny: 0, patch: 1, warn: 2, clean: 3 };

/** What enforce would do with one finding: patch it when fixable, else deny or warn as its action says. */
export function findingOutcome(f: Finding): Exclude<Verdict, 'clean'> {
  if (f.fixable) return 'patch';
  return f.action === 'deny' ? 'deny' : 'warn';
}

/** The workload's verdict: the strongest outcome of its findings (deny, patch, warn), clean without any. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  let verdict: Verdict = 'clean';
  for (const f of findings) {
    const outcome = findingOutcome(f);
    if (VERDICT_ORDER[outcome] < VERDICT_ORDER[verdict]) verdict = outcome;
  }
  return verdict;
}

function emptyGapCounts(): Record<GapId, number> {
  return Object.fromEntries(GAP_IDS.map((g) => [g, 0])) as Record<GapId, number>;
}

/** Ready for enforce: no running workload would be denied or patched. */
export function readyForEnforce(ns: NamespaceView): boolean {
  return ns.wouldDeny.length === 0 && ns.wouldPatch.length === 0;
}

/**
 * Names sorted as localeCompare sorts them, with one collator instead of one per comparison. Made on
 * first use: building a collator loads ICU's collation data, about 15 ms of every start on Node 20,
 * and `scan` loads this module for the HTML report and GAP_IDS without sorting anything.
 */
let collate: Intl.Collator['compare'] | undefined;
const byName = (a: string, b: string): number => (collate ??= new Intl.Collator().compare)(a, b);

const byWorkload = (a: WorkloadView, b: WorkloadView): number =>
  VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict] || byName(a.kind, b.kind) || byName(a.name, b.name);

type ViewInput = { evaluated: readonly JudgedObject[]; skipped: readonly unknown[]; problems: readonly { source: string; message: string }[] };

/** Builds the view, yielding between units of work (a workload, a namespace's sort). */
function* buildView(report: ViewInput, title: string, generatedAt: Date): Generator<void, RolloutView> {
  const namespacesByName = new Map<string, NamespaceView>();
  for (const { source, result, mode } of report.evaluated) {
    yield;
    let ns = namespacesByName.get(result.namespace);
    if (!ns) {
      ns = { name: result.namespace, mode, gaps: emptyGapCounts(), workloads: [], wouldDeny: [], wouldPatch: [] };
      namespacesByName.set(result.namespace, ns);
    }
    const workload: WorkloadView = {
      kind: result.kind,
      namespace: result.namespace,
      name: result.name,
      source,
      verdict: verdictOf(result.findings),
      findings: result.findings,
      notes: result.notes,
    };
    for (const f of result.findings) ns.gaps[f.gap]++;
    ns.workloads.push(workload);
    if (workload.verdict === 'deny') ns.wouldDeny.push(workload);
    else if (workload.verdict === 'patch') ns.wouldPatch.push(workload);
  }
  const namespaces = [...namespacesByName.values()].sort((a, b) => byName(a.name, b.name));
  for (const ns of namespaces) {
    yield;
    ns.workloads.sort(byWorkload);
  }
  return { title, generatedAt, namespaces, skipped: report.skipped.length, problems: report.problems };
}

export function rolloutView(report: ViewInput, title: string, generatedAt: Date): RolloutView {
  const build = buildView(report, title, generatedAt);
  for (;;) {
    const step = build.next();
    if (step.done) return step.value;
  }
}

/**
 * The same view, built with pause called between workloads: the background audit builds it on
 * every run over thousands of workloads, on the event loop its dashboard shares (cluster/slices.ts).
 */
export async function rolloutViewInSlices(report: ViewInput, title: string, generatedAt: Date, pause: () => Promise<void>): Promise<RolloutView> {
  const build = buildView(report, title, generatedAt);
  for (;;) {
    const step = build.next();
    if (step.done) return step.value;
    await pause();
  }
}
