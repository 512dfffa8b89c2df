// `gapguard audit`, kept running inside `serve`: every resource the audit lists is watched
// (reflector.ts keeps trimmed copies), and a change, a policy reload or the hourly clock tick
// (stale-image/long-running counts days) judges the cluster again with auditSnapshot, the CLI's
// own code, so owned objects are reported once at their owner exactly as the CLI does. Changes are
// batched (one run per debounce interval at most), and an object judged before under the same
// policy, NetworkPolicies and clock is not judged again, so a run after one Pod changed costs one
// evaluation plus the owner dedup, not one per object; and a run gives the event loop of its thread
// (audit-thread.ts: not admission's) back every few milliseconds (slices.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import type { ObjectResult } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import type { ImageLookupService } from '../registry/lookups.js';
import { rolloutViewInSlices, type RolloutView } from '../report/rollout.js';
import type { Logger } from '../server/log.js';
import { podImages, type KubeObject } from '../workloads/locate.js';
import { auditSnapshot, type AuditOutcome } from './audit.js';
import { LISTED, qualified, snapshotOf, type ClusterSnapshot } from './read.js';
import { Reflector } from './reflector.js';
import { slices } from './slices.js';

const CLOCK_TICK_MS = 3600_000;

export interface AuditRun {
  view: RolloutView;
  outcome: AuditOutcome;
  /** Objects held by the reflectors. */
  objects: number;
  durationMs: number;
}

export interface BackgroundAuditOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  policy(): Policy;
  imageLookups?: ImageLookupService;
  /** Namespaces never judged: those the webhook configurations leave out (the chart passes its list). */
  excludedNamespaces?: readonly string[];
  /** Shortest time between two runs; changes in between are judged together. */
  debounceMs: number;
  /** Called after every run, before the next one starts; pause gives the event loop back. */
  onRun(run: AuditRun, pause: () => Promise<void>): Promise<void> | void;
}

export class BackgroundAudit {
  latest: AuditRun | undefined;
  private readonly reflectors: Reflector[];
  private cache = new WeakMap<KubeObject, ObjectResult>();
  private timer: NodeJS.Timeout | undefined;
  private clock: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private started = false;
  private stopped = false;

  constructor(private readonly options: BackgroundAuditOptions) {
    const excluded = new Set(options.excludedNamespaces);
    this.reflectors = LISTED.map(
      (listed) =>
        new Reflector(
          listed,
          options.kubeConfig,
          // A NetworkPolicy change can change any verdict of its namespace: judge everything again.
          listed.kind === 'NetworkPolicy' ? () => this.invalidate() : () => this.schedule(),
          options.logger,
          excluded,
        ),
    );
  }

  /** Lists every resource, then judges; resolves after the first run. */
  async start(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.start()));
    this.started = true;
    this.clock = setInterval(() => this.invalidate(), CLOCK_TICK_MS);
    this.clock.unref();
    await this.runNow();
  }

  /** Objects held, for the memory figures. */
  get objectCount(): number {
    return this.reflectors.reduce((n, r) => n + r.objects.size, 0);
  }

  /** The policy or the world changed: nothing judged before holds. */
  invalidate(): void {
    this.cache = new WeakMap();
    this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNow();
    }, this.options.debounceMs);
    this.timer.unref();
  }

  private async runNow(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.running = this.judge()
      .catch((err: unknown) => this.options.logger.error('background audit run failed', { error: (err as Error).message }))
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.stopped) {
          this.pending = false;
          this.schedule();
        }
      });
    return this.running;
  }

  private snapshot(): ClusterSnapshot {
    const byKind = new Map(this.reflectors.map((r) => [r.listed.kind, r]));
    const problems = this.reflectors.filter((r) => r.problem !== undefined || !r.synced).map((r) => `${qualified(r.listed)}: ${r.problem ?? 'not listed yet'}`);
    // A reflector not listed yet holds nothing: its kind is unknown, not empty.
    return snapshotOf((kind) => {
      const r = byKind.get(kind)!;
      return r.synced ? r.objects.values() : undefined;
    }, problems);
  }

  private async judge(): Promise<void> {
    const started = performance.now();
    const policy = this.options.policy();
    const snapshot = this.snapshot();
    const lookups = this.options.imageLookups ? await this.options.imageLookups.lookUp(snapshot.workloads.flatMap((w) => podImages(w)), policy) : undefined;
    const now = new Date();
    const pause = slices();
    // With registry lookups, facts may change between runs: judge every object again.
    const outcome = await auditSnapshot(snapshot, { policy, now, source: 'cluster', pause, ...(lookups ? { imageLookups: lookups } : { cache: this.cache }) });
    const view = await rolloutViewInSlices(outcome, 'cluster', now, pause);
    const run: AuditRun = { view, outcome, objects: this.objectCount, durationMs: performance.now() - started };
    this.latest = run;
    await pause();
    await this.options.onRun(run, pause);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.clock);
    for (const r of this.reflectors) r.stop();
    await this.running;
  }
}
