// Writes the background audit's reports (report/policy-report.ts) into the cluster: one per judged
// namespace and the cluster-wide one, with server-side apply, and only when the content changed
// (the digest of the last content is kept in an annotation, so a restarted or new leader does not
// rewrite what is already there). A namespace that is no longer judged (gone, labelled off, no
// workload left) loses its report. With an owner (the chart's ClusterRole), every report is
// garbage-collected by Kubernetes when gapguard is uninstalled.
import type { KubeConfig } from '@kubernetes/client-node';
import type { RolloutView } from '../report/rollout.js';
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

/** Key of the cluster-wide report in the maps below (no namespace is named with a slash). */
const CLUSTER = '/cluster';

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
  async write(view: RolloutView): Promise<{ applied: number; deleted: number; failed: number }> {
    if (!this.existing) {
      this.owner = await this.loadOwner();
      this.existing = await this.load();
    }
    const existing = this.existing;
    const options = { generatedAt: view.generatedAt, ...(this.owner ? { owner: this.owner } : {}), ...(this.options.limits ? { limits: this.options.limits } : {}) };
    const wanted = new Map<string, PolicyReportObject>(view.namespaces.map((ns) => [ns.name, namespaceReport(ns, this.options.format, options)]));
    wanted.set(CLUSTER, clusterReport(view, this.options.format, options));
    let applied = 0;
    let deleted = 0;
    let failed = 0;
    for (const [key, report] of wanted) {
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

  /** Forget what is known: the next write lists the cluster's reports again (after losing the lease). */
  reset(): void {
    this.existing = undefined;
  }
}
