// What `serve --background-audit` adds beside admission: the background audit, its gauges, the
// reports (written by the lease holder only, when a lease is configured; by this replica otherwise)
// and the read-only dashboard. Admission does not depend on any of it: a failure here is logged and
// retried, never a reason to stop serving. `serve` runs it in a worker thread of its own
// (audit-thread.ts), so that none of this shares admission's event loop or heap.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Policy } from '../policy/types.js';
import { ImageLookupService, type ImageLookupConfig } from '../registry/lookups.js';
import { startDashboard, type Dashboard } from '../report/dashboard.js';
import type { ReportFormat } from '../report/policy-report.js';
import type { Logger } from '../server/log.js';
import { AuditMetrics } from './audit-metrics.js';
import { BackgroundAudit, type AuditRun } from './background-audit.js';
import { LeaderElector } from './leader.js';
import { ReportWriter } from './report-writer.js';
import { Retry } from './retry.js';

/** A failed write (the API server busy, CRDs just installed) is tried again after this, doubling. */
const FIRST_WRITE_RETRY_MS = 2000;
const MAX_WRITE_RETRY_MS = 60_000;
/** Lookups of the background audit are not on the admission path: a longer budget than admission's. */
const BACKGROUND_LOOKUP_BUDGET_MS = 30_000;

export interface ContinuousAuditConfig {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  /** The policy to judge with until setPolicy() replaces it. */
  policy: Policy;
  imageLookups?: ImageLookupConfig;
  reports?: { format: ReportFormat; ownerClusterRole?: string };
  lease?: { namespace: string; name: string; identity: string; durationSeconds: number; retryMs: number };
  dashboard?: { host: string; port: number };
  excludedNamespaces?: readonly string[];
  maxNamespaces: number;
  debounceMs: number;
}

export interface ContinuousAudit {
  readonly audit: BackgroundAudit;
  readonly dashboard: Dashboard | undefined;
  /** Resolves after the first run (rejects never: a failed run is logged). */
  readonly firstRun: Promise<void>;
  /** A reload put a new policy in force: judge everything again with it. */
  setPolicy(policy: Policy): void;
  stop(): Promise<void>;
}

export async function startContinuousAudit(config: ContinuousAuditConfig): Promise<ContinuousAudit> {
  const { logger } = config;
  const metrics = new AuditMetrics(config.registry, config.maxNamespaces);
  const writer = config.reports
    ? new ReportWriter({
        kubeConfig: config.kubeConfig,
        format: config.reports.format,
        logger,
        ...(config.reports.ownerClusterRole !== undefined ? { ownerClusterRole: config.reports.ownerClusterRole } : {}),
        record: (operation, result) => metrics.reportWrite(operation, result),
      })
    : undefined;
  let leading = config.lease === undefined;
  metrics.leading(leading);
  let writing: Promise<void> = Promise.resolve();
  // Runs happen on changes only: a write that failed is tried again on its own, with the latest run.
  const writeRetry = new Retry(FIRST_WRITE_RETRY_MS, MAX_WRITE_RETRY_MS);
  const retryLater = (): void =>
    writeRetry.schedule(() => {
      if (audit.latest) void write(audit.latest);
    });
  const write = (run: AuditRun, pause?: () => Promise<void>): Promise<void> => {
    if (!writer || !leading) return Promise.resolve();
    writing = writing
      .then(() => writer.write(run.view, pause))
      .then(
        ({ applied, deleted, failed }) => {
          if (applied || deleted) logger.info('reports written', { applied, deleted, format: config.reports!.format });
          if (failed) retryLater();
          else writeRetry.reset();
        },
        (err: unknown) => {
          logger.warn('reports not written; trying again', { error: (err as Error).message, retryInSeconds: writeRetry.delayMs / 1000 });
          retryLater();
        },
      );
    return writing;
  };
  let policy = config.policy;
  const audit = new BackgroundAudit({
    kubeConfig: config.kubeConfig,
    logger,
    policy: () => policy,
    ...(config.imageLookups ? { imageLookups: new ImageLookupService({ ...config.imageLookups, budgetMs: BACKGROUND_LOOKUP_BUDGET_MS }) } : {}),
    ...(config.excludedNamespaces ? { excludedNamespaces: config.excludedNamespaces } : {}),
    debounceMs: config.debounceMs,
    onRun: async (run, pause) => {
      metrics.observe(run);
      logger.debug('background audit run', { objects: run.objects, namespaces: run.view.namespaces.length, ms: Math.round(run.durationMs) });
      await write(run, pause);
    },
  });
  const elector = config.lease
    ? new LeaderElector({
        kubeConfig: config.kubeConfig,
        namespace: config.lease.namespace,
        name: config.lease.name,
        identity: config.lease.identity,
        leaseDurationSeconds: config.lease.durationSeconds,
        retryMs: config.lease.retryMs,
        logger,
        onChange: (now) => {
          leading = now;
          metrics.leading(now);
          // A new leader writes what it has at once; one that lost the lease reads the cluster again next time.
          if (now && audit.latest) void write(audit.latest);
          if (!now) writer?.reset();
        },
      })
    : undefined;
  const dashboard = config.dashboard ? await startDashboard(config.dashboard.host, config.dashboard.port, () => audit.latest?.view) : undefined;
  if (dashboard) logger.info('dashboard serving', { url: `http://${config.dashboard!.host}:${dashboard.port}/` });
  elector?.start();
  const started = audit.start().then(() => logger.info('background audit: first run done', { objects: audit.objectCount, ms: Math.round(audit.latest?.durationMs ?? 0) }));
  return {
    audit,
    dashboard,
    firstRun: started.catch(() => undefined),
    setPolicy(now) {
      policy = now;
      audit.invalidate();
    },
    async stop() {
      // The lease first, so that another replica takes over while this one drains.
      await elector?.stop();
      writeRetry.cancel();
      await audit.stop();
      await started.catch(() => undefined);
      await writing;
      await dashboard?.close();
    },
  };
}
