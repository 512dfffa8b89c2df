// The webhook's view of the cluster, kept by informers (one list, then a watch) so that admission
// never waits on the API server: Namespaces for the per-namespace mode label, NetworkPolicies for
// the flat-network rule. When the API server goes away the caches keep the last state they saw and
// the informers retry with backoff; until the first list succeeds nothing is known, and unknown
// NetworkPolicies are not a finding.
import {
  CoreV1Api,
  makeInformer,
  NetworkingV1Api,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Namespace,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import { modeOfLabel, NAMESPACE_MODE_LABEL } from '../admission/admit.js';
import type { NetworkPolicyLike } from '../engine/types.js';
import type { Logger } from '../server/log.js';
import { Retry } from './retry.js';
import { describeFailure } from './status.js';
import type { ClusterView } from './view.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/** One resource kept in a cache by an informer that restarts itself after errors. */
class WatchedResource<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  /** The first list succeeded: the cache holds real state (possibly stale, never invented). */
  synced = false;
  /** Why the informer is not watching right now. */
  problem: string | undefined;
  private failures = 0;
  private readonly retry = new Retry(FIRST_RETRY_MS, MAX_RETRY_MS);
  private stopped = false;

  constructor(
    readonly resource: string,
    kubeConfig: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly logger: Logger,
  ) {
    this.informer = makeInformer(kubeConfig, path, async () => {
      const items = await list();
      // The informer fills its cache from this list before any other callback can run.
      this.synced = true;
      return items;
    });
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  get cache(): ObjectCache<T> {
    return this.informer;
  }

  on(event: 'add' | 'update', callback: (obj: T) => void): void {
    this.informer.on(event, callback);
  }

  /** Starts (or restarts) the list and watch; resolves once it is watching or has failed. */
  async run(): Promise<void> {
    const failuresBefore = this.failures;
    await this.informer.start().catch((err: unknown) => this.failed(err));
    // start() reports list and watch failures through the error callback before it resolves.
    if (this.failures === failuresBefore && !this.stopped) {
      if (this.problem !== undefined) this.logger.info('cluster watch resumed', { resource: this.resource });
      this.problem = undefined;
      this.retry.reset();
    }
  }

  private failed(err: unknown): void {
    this.failures++;
    if (this.stopped) return;
    this.problem = describeFailure(err);
    this.logger.warn('cluster watch failed; retrying', {
      resource: this.resource,
      error: this.problem,
      retryInSeconds: this.retry.delayMs / 1000,
      servingFrom: this.synced ? 'last known state' : 'policy alone',
    });
    this.retry.schedule(() => void this.run());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry.cancel();
    await this.informer.stop();
  }
}

function modeLabel(ns: V1Namespace): string | undefined {
  return ns.metadata?.labels?.[NAMESPACE_MODE_LABEL];
}

/** Starts the informers; the view answers from their caches from the first successful list on. */
export function connectCluster(kubeConfig: KubeConfig, logger: Logger): ClusterView {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const namespaces = new WatchedResource<V1Namespace>('namespaces', kubeConfig, '/api/v1/namespaces', () => core.listNamespace(), logger);
  const networkPolicies = new WatchedResource<V1NetworkPolicy>(
    'networkpolicies',
    kubeConfig,
    '/apis/networking.k8s.io/v1/networkpolicies',
    () => networking.listNetworkPolicyForAllNamespaces(),
    logger,
  );
  const resources = [namespaces, networkPolicies];

  // A mistyped label would silently fall back to the policy's mode: say so when it appears.
  const checkLabel = (ns: V1Namespace): void => {
    const label = modeLabel(ns);
    if (label !== undefined && modeOfLabel(label) === undefined) {
      logger.warn('namespace mode label ignored', { namespace: ns.metadata?.name, label: NAMESPACE_MODE_LABEL, value: label, expected: 'enforce, audit or off' });
    }
  };
  namespaces.on('add', checkLabel);
  namespaces.on('update', checkLabel);
  const firstLists = Promise.all(resources.map((resource) => resource.run()));

  return {
    namespaceMode(namespace) {
      const ns = namespaces.synced ? namespaces.cache.get(namespace) : undefined;
      return modeOfLabel(ns && modeLabel(ns));
    },
    networkPolicies(namespace) {
      return networkPolicies.synced ? (networkPolicies.cache.list(namespace) as readonly NetworkPolicyLike[]) : undefined;
    },
    inSync() {
      return resources.every((r) => r.synced && r.problem === undefined);
    },
    status() {
      const problems = resources
        .filter((r) => !r.synced || r.problem !== undefined)
        .map((r) => `${r.resource}: ${r.problem ?? 'waiting for the first list'}${r.synced ? ' (serving the last known state)' : ''}`);
      return problems.length ? `unavailable: ${problems.join('; ')}` : 'synced';
    },
    async firstListsDone() {
      await firstLists;
    },
    async stop() {
      await Promise.all(resources.map((r) => r.stop()));
    },
  };
}
