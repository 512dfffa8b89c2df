// `serve --background-audit` runs the continuous audit (continuous-audit.ts: reflectors, judging,
// reports, the Lease, its gauges, the dashboard) in a worker thread: its own V8 isolate, heap,
// collector and event loop, so that admission's thread neither runs its slices nor collects its
// garbage. The two speak in messages: the policy in force on every reload, the gauges for each
// scrape of /metrics, the audit's log lines, and stop. A worker that dies is logged and started
// again with backoff; admission never waits for it.
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger, LogLevel } from '../server/log.js';
import type { Metrics } from '../server/metrics.js';
import type { PolicySource } from '../server/policy-file.js';
import type { ContinuousAuditConfig } from './continuous-audit.js';
import { Retry } from './retry.js';

/** A worker that died is started again after this, doubling while it keeps dying before its first run. */
const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 60_000;
/** How long a scrape of /metrics waits for the audit's gauges before it serves without them. */
const METRICS_WAIT_MS = 1000;
/** How long stop() waits for the audit to release its lease and end before ending the thread. */
const STOP_WAIT_MS = 10_000;

/** Everything of the audit's configuration but what lives in one thread only. */
export type AuditSettings = Omit<ContinuousAuditConfig, 'kubeConfig' | 'logger' | 'registry' | 'policy'>;

/** What the worker starts from: plain data only (structured clone). */
export interface AuditWorkerData {
  /** KubeConfig.exportConfig(): file paths (the in-cluster token and CA) stay paths, read there. */
  kubeConfig: string;
  logLevel: LogLevel;
  policy: PolicySource;
  settings: AuditSettings;
}

export type ToWorker = { type: 'policy'; policy: PolicySource } | { type: 'metrics'; id: number } | { type: 'stop' };

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'started' }
  | { type: 'failed'; error: string }
  | { type: 'first-run' }
  | { type: 'metrics'; id: number; text: string }
  | { type: 'stopped' };

export interface AuditThreadConfig {
  kubeConfig: KubeConfig;
  logger: Logger;
  logLevel: LogLevel;
  /** Writes one of the worker's log lines, already formatted and filtered by level there. */
  writeLog(line: string): void;
  /** The policy in force now; setPolicy() sends each one a reload puts in force. */
  policy: PolicySource;
  settings: AuditSettings;
  /** The main thread's metrics: /metrics adds the audit's gauges to them. */
  metrics: Metrics;
}

/** The worker's module, beside this one with the same extension (.js from tsc and the package's bundle, .mjs in the image). */
const WORKER_FILE = new URL(`./audit-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

export class AuditThread {
  private worker: Worker | undefined;
  private policy: PolicySource;
  private stopping = false;
  private readonly restart = new Retry(FIRST_RESTART_MS, MAX_RESTART_MS);
  private readonly scrapes = new Map<number, (text: string) => void>();
  private lastScrape = 0;
  private stopped: (() => void) | undefined;

  /** workerFile: the worker's module (the tests give one that wraps it). */
  constructor(
    private readonly config: AuditThreadConfig,
    private readonly workerFile: URL = WORKER_FILE,
  ) {
    this.policy = config.policy;
    config.metrics.addSource(() => this.gauges());
  }

  /** Starts the thread; rejects when it cannot start (say, the dashboard's port is taken). */
  start(): Promise<void> {
    return this.spawn();
  }

  /** Starts a worker; resolves once it serves (its dashboard listening), rejects when it cannot start. */
  private spawn(): Promise<void> {
    const { logger } = this.config;
    const data: AuditWorkerData = { kubeConfig: this.config.kubeConfig.exportConfig(), logLevel: this.config.logLevel, policy: this.policy, settings: this.config.settings };
    const worker = new Worker(this.workerFile, { workerData: data });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      let failure: string | undefined;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'log':
            this.config.writeLog(message.line);
            break;
          case 'started':
            started = true;
            resolve();
            break;
          case 'failed':
            failure = message.error;
            void worker.terminate();
            break;
          case 'first-run':
            this.restart.reset();
            break;
          case 'metrics':
            this.scrapes.get(message.id)?.(message.text);
            break;
          case 'stopped':
            this.stopped?.();
            break;
        }
      });
      // An uncaught exception or rejection in the worker: it ends next ('exit').
      worker.on('error', (err) => (failure = err.message));
      worker.on('exit', (code) => {
        this.worker = undefined;
        for (const answer of this.scrapes.values()) answer('');
        this.stopped?.();
        if (!started) {
          reject(new Error(failure ?? `the background audit's thread ended at start (exit code ${code})`));
          return;
        }
        if (this.stopping) return;
        logger.error('background audit thread ended; starting it again', { error: failure ?? `exit code ${code}`, retryInSeconds: this.restart.delayMs / 1000 });
        this.scheduleRestart();
      });
    });
  }

  private scheduleRestart(): void {
    this.restart.schedule(() => {
      if (this.stopping) return;
      this.spawn().catch((err: unknown) => {
        this.config.logger.error('background audit thread did not start; trying again', { error: (err as Error).message, retryInSeconds: this.restart.delayMs / 1000 });
        this.scheduleRestart();
      });
    });
  }

  /** The audit's gauges as exposition text; "" while no worker runs or when it does not answer in time. */
  private gauges(): Promise<string> {
    const worker = this.worker;
    if (!worker) return Promise.resolve('');
    const id = ++this.lastScrape;
    return new Promise((resolve) => {
      const answer = (text: string): void => {
        clearTimeout(timer);
        this.scrapes.delete(id);
        resolve(text);
      };
      const timer = setTimeout(() => answer(''), METRICS_WAIT_MS);
      this.scrapes.set(id, answer);
      worker.postMessage({ type: 'metrics', id } satisfies ToWorker);
    });
  }

  /** A reload put this policy in force (before start() resolves too: the worker reads its messages once started). */
  setPolicy(policy: PolicySource): void {
    // Kept for a restarted worker, which starts from the policy in force.
    this.policy = policy;
    this.worker?.postMessage({ type: 'policy', policy } satisfies ToWorker);
  }

  /** The audit releases its lease and ends; then the thread ends. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.restart.cancel();
    const worker = this.worker;
    if (!worker) return;
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    worker.postMessage({ type: 'stop' } satisfies ToWorker);
    const waited = setTimeout(() => {
      this.config.logger.warn('the background audit did not stop in time; ending its thread', { waitedSeconds: STOP_WAIT_MS / 1000 });
      void worker.terminate();
    }, STOP_WAIT_MS);
    await done;
    clearTimeout(waited);
    // Its lease released and its reports written: nothing left that the thread must finish.
    await worker.terminate();
  }
}
