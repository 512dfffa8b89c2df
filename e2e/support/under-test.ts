// "The gapguard under test", as the scenarios use it, whichever way it runs: installed in the
// cluster by its chart from its own image (in-cluster.ts, what CI runs), or the chart's webhook
// configurations pointed at a `gapguard serve` child process (gapguard.ts, the development fast
// path). Either way the chart is how it is configured: settings become chart values, applied with
// helm upgrade, and the process reads the policy back from the ConfigMap the chart renders.
import type { ServingPair } from './certs.js';
import type { HttpsTarget } from './https-get.js';

/** What a scenario may change; the suite's settings are none of these (lookups off, the chart's policy). */
export interface Settings {
  /** The chart's `policy` value (gaps, exemptions), rendered into the policy ConfigMap. */
  policy?: Record<string, unknown>;
  /** Registry lookups on (the chart's imageLookups), trusting this CA for registries. */
  imageLookups?: { caPem: string; budgetMs?: number };
  /** The chart's webhook.timeoutSeconds (a longer lookup budget needs longer timeouts). */
  timeoutSeconds?: { enforce: number; audit: number };
  /** Public key files the policy's signature requirements name, under one mount (keyPath()). */
  keys?: { name: string; files: Record<string, string> };
  /**
   * The chart's backgroundAudit (wgpolicyk8s reports, the Lease, the dashboard) on 2 replicas, with
   * the chart's ServiceAccount and RBAC; out of the cluster, a second process joins the first.
   */
  backgroundAudit?: boolean;
  /** The chart's webhook.excludedNamespaces: left out by the webhooks and the background audit. */
  excludedNamespaces?: string[];
}

export interface Replica {
  /** The Pod's name, or "process". */
  name: string;
  target: HttpsTarget;
}

export interface GapguardUnderTest {
  readonly where: 'in-cluster' | 'process';
  /** The CA the webhook configurations trust and the serving certificate chains to (PEM). */
  readonly caPem: string;
  /** The subjectAltName entries a serving certificate needs (for makeServingPair). */
  readonly servingNames: readonly string[];
  /** The address a registry must listen on for the server to reach it. */
  readonly registryAddress: string;
  /** Where the server reads a file of settings.keys, for the policy's `file:` fields. */
  keyPath(name: string, file: string): string;
  /** Installs the release (the suite's settings) and waits until it serves, synced. */
  install(): Promise<void>;
  /** helm uninstall; the server goes with it. */
  uninstall(): Promise<void>;
  installed(): Promise<boolean>;
  /** Applies the settings (none: the suite's) and waits until every replica serves with them. */
  configure(settings?: Settings): Promise<void>;
  /** No server answers: the apiserver's calls fail. */
  stop(): Promise<void>;
  /** Serving again (a no-op when it is), every replica ready with its caches synced. */
  start(): Promise<void>;
  /** The serving replicas; their names are their leader-election identities. */
  replicas(): Promise<Replica[]>;
  /** The dashboard of one replica (settings.backgroundAudit), at an http URL on this host. */
  dashboard(replica: string): Promise<{ url: string; close(): void }>;
  /** Ends one replica as a node failure would: no drain, no lease release. */
  kill(replica: string): Promise<void>;
  /** What tells a restarted server from the same one running on: pids, or Pod uids and restarts. */
  instances(): Promise<string[]>;
  /** The log of every server (JSON lines). */
  logs(): Promise<string>;
  /** Makes the webhook configurations trust exactly this bundle (PEM) and waits until they do. */
  trust(bundlePem: string): Promise<void>;
  /** Replaces the serving pair as its owner would, and waits until every replica presents it. */
  serve(pair: ServingPair, caPem: string): Promise<void>;
  /** Stops what the suite started, for its teardown; killNow() for a signal handler. */
  shutdown(): Promise<void>;
  killNow(): void;
}

/** The chart values of the settings that mean the same in and out of the cluster. */
export function sharedValues(settings: Settings): Record<string, unknown> {
  return {
    ...(settings.policy ? { policy: settings.policy } : {}),
    webhook: { ...(settings.timeoutSeconds ? { timeoutSeconds: settings.timeoutSeconds } : {}), ...(settings.excludedNamespaces ? { excludedNamespaces: settings.excludedNamespaces } : {}) },
    ...(settings.backgroundAudit ? { backgroundAudit: { enabled: true, reports: 'wgpolicyk8s', dashboard: { enabled: true, port: DASHBOARD_PORT } } } : {}),
  };
}

/** The chart's default dashboard port, in the Pod. */
export const DASHBOARD_PORT = 8080;

/** The chart's default lookup budget, used out of the cluster too. */
export const DEFAULT_BUDGET_MS = 1500;
