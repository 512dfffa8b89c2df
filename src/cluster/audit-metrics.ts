// Prometheus gauges of the background audit: running findings per namespace and gap, workloads
// per namespace and what enforce would do to them, and whether each namespace is ready for enforce.
// Cardinality is bounded whatever the cluster: the maxNamespaces namespaces with the most findings
// (ties by name) keep their own label, every other namespace is summed into namespace="(other)"
// (parentheses cannot appear in a namespace name). So at most (maxNamespaces + 1) x 13 series
// (8 gaps, 4 verdicts, 1 readiness); the default of 100 gives at most 1,313. Labels are gap ids,
// verdicts and namespace names only. Every replica runs the audit and exports the same values: sum
// over replicas with max by (namespace, gap), as the chart's Grafana dashboard does.
import { Counter, Gauge, type Registry } from 'prom-client';
import { GAP_IDS } from '../engine/types.js';
import { readyForEnforce, type NamespaceView } from '../report/rollout.js';
import type { AuditRun } from './background-audit.js';

const OTHER_NAMESPACES = '(other)';
const VERDICTS = ['deny', 'patch', 'warn', 'clean'] as const;

export class AuditMetrics {
  private readonly findings: Gauge<'namespace' | 'gap'>;
  private readonly workloads: Gauge<'namespace' | 'verdict'>;
  private readonly ready: Gauge<'namespace'>;
  private readonly duration: Gauge;
  private readonly lastRun: Gauge;
  private readonly objects: Gauge;
  private readonly leader: Gauge;
  private readonly reportWrites: Counter<'operation' | 'result'>;

  constructor(
    registry: Registry,
    private readonly maxNamespaces: number,
  ) {
    const registers = [registry];
    this.findings = new Gauge({
      name: 'gapguard_running_findings',
      help: `Findings of the running workloads by namespace and gap (background audit; owned objects counted once at their owner). The ${maxNamespaces} namespaces with the most findings keep their name, the rest are summed in namespace="${OTHER_NAMESPACES}".`,
      labelNames: ['namespace', 'gap'],
      registers,
    });
    this.workloads = new Gauge({
      name: 'gapguard_running_workloads',
      help: 'Workloads judged by the background audit, by namespace and what enforce mode would do (deny, patch, warn: findings that only warn, clean).',
      labelNames: ['namespace', 'verdict'],
      registers,
    });
    this.ready = new Gauge({
      name: 'gapguard_namespace_ready_for_enforce',
      help: `1 when no running workload of the namespace would be denied or patched in enforce mode, else 0. namespace="${OTHER_NAMESPACES}" is 1 only when all the namespaces it sums are ready.`,
      labelNames: ['namespace'],
      registers,
    });
    this.duration = new Gauge({ name: 'gapguard_background_audit_duration_seconds', help: 'Duration of the last background audit run.', registers });
    this.lastRun = new Gauge({ name: 'gapguard_background_audit_last_run_timestamp_seconds', help: 'End of the last background audit run (Unix seconds).', registers });
    this.objects = new Gauge({ name: 'gapguard_background_audit_objects', help: 'Objects held (trimmed) by the background audit: workloads, Namespaces, NetworkPolicies.', registers });
    this.leader = new Gauge({ name: 'gapguard_leader', help: '1 while this replica holds the lease and writes the reports.', registers });
    this.reportWrites = new Counter({
      name: 'gapguard_report_writes_total',
      help: 'Policy report writes by operation (apply, delete) and result.',
      labelNames: ['operation', 'result'],
      registers,
    });
    this.leader.set(0);
  }

  observe(run: AuditRun): void {
    const ranked = [...run.view.namespaces].sort((a, b) => total(b) - total(a) || a.name.localeCompare(b.name));
    const own = ranked.slice(0, this.maxNamespaces);
    const rest = ranked.slice(this.maxNamespaces);
    this.findings.reset();
    this.workloads.reset();
    this.ready.reset();
    for (const ns of own) this.set(ns.name, [ns]);
    if (rest.length) this.set(OTHER_NAMESPACES, rest);
    this.duration.set(run.durationMs / 1000);
    this.lastRun.set(Date.now() / 1000);
    this.objects.set(run.objects);
  }

  private set(label: string, namespaces: readonly NamespaceView[]): void {
    for (const gap of GAP_IDS) this.findings.set({ namespace: label, gap }, namespaces.reduce((n, ns) => n + ns.gaps[gap], 0));
    for (const verdict of VERDICTS) this.workloads.set({ namespace: label, verdict }, namespaces.reduce((n, ns) => n + ns.workloads.filter((w) => w.verdict === verdict).length, 0));
    this.ready.set({ namespace: label }, namespaces.every(readyForEnforce) ? 1 : 0);
  }

  leading(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  reportWrite(operation: 'apply' | 'delete', result: 'success' | 'failure'): void {
    this.reportWrites.inc({ operation, result });
  }
}

function total(ns: NamespaceView): number {
  return GAP_IDS.reduce((n, g) => n + ns.gaps[g], 0);
}
