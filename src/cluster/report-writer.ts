// Writes the background audit's reports (report/policy-report.ts) into the cluster: one per judged
// namespace and the cluster-wide one, with server-side apply, and only when the content changed
// (the digest of the last content is kept in an annotation, so a restarted or new leader does not
// rewrite what is already there). A namespace whose workloads and findings say what they said at the
// last run (a relabelled Pod is judged again, to the same findings) is not even built again: one Pod
// changing among thousands costs at most one namespace's report, and building gives the event loop
// back between reports. A namespace that is no longer judged (gone, labelled off or excluded, no workload left)
// loses its report. With an owner (the chart's ClusterRole), every report is
// garbage-collected by Kubernetes when gapguard is uninstalled.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Finding } from '../engine/types.js';
import type { NamespaceView, RolloutView } from '../report/rollout.js';
import {
  clusterReport,
  CONTENT_HASH_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  namespaceReport,
  REPORT_KINDS,
  REPORT_NAME,
  type OwnerReference,
  type PolicyReportObject,
  type ReportFormat,
  type ReportLimits,
} from '../report/policy-report.js';
import type { Logger } from '../server/log.js';
import { failureOf, kubeRequest } from './kube-request.js';
import { slices } from './slices.js';

/** Key of the cluster-wide report in the maps below (no namespace is named with a slash). */
const CLUSTER = '/cluster';

/** Every field of a finding a report shows (policy-report.ts). */
function sameFinding(f: Finding, g: Finding): boolean {
  return f === g || (f.rule === g.rule && f.path === g.path && f.action === g.action && f.severity === g.severity && f.fixable === g.fixable && f.message === g.message && f.remediation === g.remediation);
}

/** The same workloads in the same order with the same findings: the namespace's report would be the same. */
function sameContent(a: NamespaceView, b: NamespaceView): boolean {
  if (a.workloads.length !== b.workloads.length) return false;
  return a.workloads.every((w, i) => {
    const v = b.workloads[i]!;
    return w.kind === v.kind && w.name === v.name && w.findings.length === v.findings.length && w.findings.every((f, j) => sameFinding(f, v.findings[j]!));
  });
}

export interface ReportWriterOptions {
  kubeConfig: KubeConfig;
  format: ReportFormat;
  logger: Logger;
  /** A ClusterRole whose deletion removes every report (ownerReferences). */
  ownerClusterRole?: string;
  limits?: ReportLimits;
  /** Counts writes and deletions by result. */
  record?(operation: 'apply' | 'delete', result: 'success' | 'failure'): void;
}

export class ReportWriter {
  /** Content digest of each report in the cluster, by namespace (CLUSTER for the cluster one). */
  private existing: Map<string, string> | undefined;
  private owner: OwnerReference | undefined;
  /** The view each namespace's report was last built from, and that report's digest. */
  private built = new Map<string, { from: NamespaceView; hash: string }>();

  constructor(private readonly options: ReportWriterOptions) {}

  private get kind() {
    return REPORT_KINDS[this.options.format];
  }

  private path(namespace: string): string {
    const k = this.kind;
    return namespace === CLUSTER
      ? `/apis/${k.group}/${k.version}/${k.clusterPlural}/${REPORT_NAME}`
      : `/apis/${k.group}/${k.version}/namespaces/${encodeURIComponent(namespace)}/${k.plural}/${REPORT_NAME}`;
  }

  /** What is in the cluster already: reports labelled as gapguard's, with their digests. */
  private async load(): Promise<Map<string, string>> {
    const k = this.kind;
    const selector = `labelSelector=${encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY}`)}`;
    const found = new Map<string, string>();
    for (const [plural, cluster] of [[k.plural, false], [k.clusterPlural, true]] as const) {
      const answer = await kubeRequest(this.options.kubeConfig, 'GET', `/apis/${k.group}/${k.version}/${plural}?${selector}`);
      if (answer.status !== 200) throw failureOf(`list ${plural}.${k.group} (are the CRDs installed? see docs/cluster-audit.md)`, answer);
      for (const item of (answer.body as { items?: PolicyReportObject[] }).items ?? []) {
        if (item.metadata.name !== REPORT_NAME) continue;
        found.set(cluster ? CLUSTER : item.metadata.namespace ?? '', item.metadata.annotations?.[CONTENT_HASH_ANNOTATION] ?? '');
      }
    }
    return found;
  }

  private async loadOwner(): Promise<OwnerReference | undefined> {
    const name = this.options.ownerClusterRole;
    if (name === undefined) return undefined;
    const answer = await kubeRequest(this.options.kubeConfig, 'GET', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${encodeURIComponent(name)}`);
    if (answer.status !== 200) throw failureOf(`read the reports' owner ClusterRole ${name}`, answer);
    const uid = (answer.body as { metadata?: { uid?: string } }).metadata?.uid;
    return uid ? { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name, uid } : undefined;
  }

  /**
   * Brings the cluster's reports in line with view; throws when the reports cannot be listed.
   * `failed` counts reports left as they were (to be tried again).
   */
  async write(view: RolloutView, pause = slices()): Promise<{ applied: number; deleted: number; failed: number }> {
    if (!this.existing) {
      this.owner = await this.loadOwner();
      this.existing = await this.load();
      this.built.clear();
    }
    const existing = this.existing;
    const options = { generatedAt: view.generatedAt, ...(this.owner ? { owner: this.owner } : {}), ...(this.options.limits ? { limits: this.options.limits } : {}) };
    const wanted = new Set([...view.namespaces.map((ns) => ns.name), CLUSTER]);
    for (const key of this.built.keys()) if (!wanted.has(key)) this.built.delete(key);
    const reports: [string, () => PolicyReportObject | undefined][] = [
      ...view.namespaces.map((ns): [string, () => PolicyReportObject | undefined] => [ns.name, () => this.changedReport(ns, existing.get(ns.name), options)]),
      [CLUSTER, () => clusterReport(view, this.options.format, options)],
    ];
    let applied = 0;
    let deleted = 0;
    let failed = 0;
    for (const [key, build] of reports) {
      await pause();
      const report = build();
      if (!report) continue;
      const hash = report.metadata.annotations[CONTENT_HASH_ANNOTATION]!;
      if (existing.get(key) === hash) continue;
      const answer = await kubeRequest(this.options.kubeConfig, 'PATCH', `${this.path(key)}?fieldManager=gapguard&force=true`, report, 'application/apply-patch+yaml');
      if (answer.status === 200 || answer.status === 201) {
        existing.set(key, hash);
        applied++;
        this.options.record?.('apply', 'success');
      } else {
        failed++;
        this.options.record?.('apply', 'failure');
        // A namespace being deleted refuses new objects: not worth more than a debug line.
        const level = answer.status === 403 && /being terminated/.test(JSON.stringify(answer.body)) ? 'debug' : 'warn';
        this.options.logger[level]('report not written', { namespace: key === CLUSTER ? undefined : key, error: failureOf('apply', answer).message });
      }
    }
    for (const key of [...existing.keys()]) {
      if (wanted.has(key)) continue;
      const answer = await kubeRequest(this.options.kubeConfig, 'DELETE', this.path(key));
      if (answer.status === 200 || answer.status === 202 || answer.status === 404) {
        existing.delete(key);
        deleted++;
        this.options.record?.('delete', 'success');
      } else {
        failed++;
        this.options.record?.('delete', 'failure');
        this.options.logger.warn('stale report not deleted', { namespace: key, error: failureOf('delete', answer).message });
      }
    }
    return { applied, deleted, failed };
  }

  /** The namespace's report, or undefined when it would be the one last built and the cluster holds that. */
  private changedReport(ns: NamespaceView, held: string | undefined, options: Parameters<typeof namespaceReport>[2]): PolicyReportObject | undefined {
    const last = this.built.get(ns.name);
    if (last && last.hash === held && sameContent(ns, last.from)) {
      last.from = ns;
      return undefined;
    }
    const report = namespaceReport(ns, this.options.format, options);
    this.built.set(ns.name, { from: ns, hash: report.metadata.annotations[CONTENT_HASH_ANNOTATION]! });
    return report;
  }

  /** Forget what is known: the next write lists the cluster's reports again (after losing the lease). */
  reset(): void {
    this.existing = undefined;
  }
}
