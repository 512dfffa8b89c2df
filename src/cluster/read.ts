// Reads what a cluster runs, for `gapguard audit`: every kind that carries a pod spec, plus the
// NetworkPolicies and Namespaces the verdicts depend on. Lists are paginated (limit/continue) and
// every request has a deadline, so a slow or silent API server costs at most the timeout.
//
// An unreachable API server or rejected credentials end the audit (nothing can be read). A
// resource the credentials may not list is recorded and the others are still read, so the report
// says exactly which grants are missing.
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { NetworkPolicyLike } from '../engine/types.js';
import type { KubeObject } from '../workloads/locate.js';
import type { ClusterTarget } from './kubeconfig.js';
import { apiStatusMessage, describeFailure } from './status.js';

/** The API server cannot be used at all: unreachable, TLS failure, credentials rejected. */
export class ClusterUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}

interface ListPage {
  items: object[];
  metadata?: { _continue?: string };
}
interface PageRequest {
  limit: number;
  _continue?: string;
}
type Options = ConfigurationOptions;

export interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  networking: NetworkingV1Api;
}

export interface Listed {
  /** As RBAC and kubectl name it: `deployments` in group `apps`. */
  resource: string;
  group: string;
  kind: string;
  apiVersion: string;
  list(c: Clients, namespace: string | undefined, page: PageRequest, options: Options): Promise<ListPage>;
}

/** Every kind the engine judges (workloads/locate.ts), then what the verdicts depend on. */
export const LISTED: readonly Listed[] = [
  {
    resource: 'pods', group: '', kind: 'Pod', apiVersion: 'v1',
    list: (c, namespace, p, o) => (namespace ? c.core.listNamespacedPod({ namespace, ...p }, o) : c.core.listPodForAllNamespaces(p, o)),
  },
  {
    resource: 'podtemplates', group: '', kind: 'PodTemplate', apiVersion: 'v1',
    list: (c, namespace, p, o) => (namespace ? c.core.listNamespacedPodTemplate({ namespace, ...p }, o) : c.core.listPodTemplateForAllNamespaces(p, o)),
  },
  {
    resource: 'replicationcontrollers', group: '', kind: 'ReplicationController', apiVersion: 'v1',
    list: (c, namespace, p, o) =>
      namespace ? c.core.listNamespacedReplicationController({ namespace, ...p }, o) : c.core.listReplicationControllerForAllNamespaces(p, o),
  },
  {
    resource: 'deployments', group: 'apps', kind: 'Deployment', apiVersion: 'apps/v1',
    list: (c, namespace, p, o) => (namespace ? c.apps.listNamespacedDeployment({ namespace, ...p }, o) : c.apps.listDeploymentForAllNamespaces(p, o)),
  },
  {
    resource: 'replicasets', group: 'apps', kind: 'ReplicaSet', apiVersion: 'apps/v1',
    list: (c, namespace, p, o) => (namespace ? c.apps.listNamespacedReplicaSet({ namespace, ...p }, o) : c.apps.listReplicaSetForAllNamespaces(p, o)),
  },
  {
    resource: 'statefulsets', group: 'apps', kind: 'StatefulSet', apiVersion: 'apps/v1',
    list: (c, namespace, p, o) => (namespace ? c.apps.listNamespacedStatefulSet({ namespace, ...p }, o) : c.apps.listStatefulSetForAllNamespaces(p, o)),
  },
  {
    resource: 'daemonsets', group: 'apps', kind: 'DaemonSet', apiVersion: 'apps/v1',
    list: (c, namespace, p, o) => (namespace ? c.apps.listNamespacedDaemonSet({ namespace, ...p }, o) : c.apps.listDaemonSetForAllNamespaces(p, o)),
  },
  {
    resource: 'jobs', group: 'batch', kind: 'Job', apiVersion: 'batch/v1',
    list: (c, namespace, p, o) => (namespace ? c.batch.listNamespacedJob({ namespace, ...p }, o) : c.batch.listJobForAllNamespaces(p, o)),
  },
  {
    resource: 'cronjobs', group: 'batch', kind: 'CronJob', apiVersion: 'batch/v1',
    list: (c, namespace, p, o) => (namespace ? c.batch.listNamespacedCronJob({ namespace, ...p }, o) : c.batch.listCronJobForAllNamespaces(p, o)),
  },
  {
    resource: 'networkpolicies', group: 'networking.k8s.io', kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1',
    list: (c, namespace, p, o) =>
      namespace ? c.networking.listNamespacedNetworkPolicy({ namespace, ...p }, o) : c.networking.listNetworkPolicyForAllNamespaces(p, o),
  },
  {
    resource: 'namespaces', group: '', kind: 'Namespace', apiVersion: 'v1',
    // Namespaces are cluster-scoped: with --namespace only that one is read (verb get).
    list: async (c, namespace, p, o) => (namespace ? { items: [await c.core.readNamespace({ name: namespace }, o)] } : c.core.listNamespace(p, o)),
  },
];

/** Whether an object of this listed kind lives in one of these namespaces (a Namespace by its own name). */
export function inNamespaces(namespaces: ReadonlySet<string>, kind: string, obj: KubeObject): boolean {
  const meta = obj.metadata;
  return namespaces.has(String((kind === 'Namespace' ? meta?.name : meta?.namespace) ?? ''));
}

export function qualified(l: Pick<Listed, 'resource' | 'group'>): string {
  return l.group ? `${l.resource}.${l.group}` : l.resource;
}

export interface ClusterSnapshot {
  /** Objects of the kinds the engine judges, as the API server returned them. */
  workloads: KubeObject[];
  /** NetworkPolicies by namespace, or undefined when they could not be listed (then unknown). */
  networkPolicies: Map<string, NetworkPolicyLike[]> | undefined;
  /** Labels of each Namespace read; undefined when Namespaces could not be read. */
  namespaceLabels: Map<string, Record<string, string>> | undefined;
  /** One line per resource that could not be read. */
  problems: string[];
}

export interface ReadOptions {
  /** One namespace, or undefined for all. */
  namespace?: string;
  /** Namespaces whose objects are dropped as they are listed: never judged, reported or counted. */
  excludedNamespaces?: ReadonlySet<string>;
  timeoutMs: number;
  pageSize: number;
}

/** Gives every request its own deadline; the client passes the signal on to its fetch. */
function deadline(timeoutMs: number): Options {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** One line on a failure to reach the server. node-fetch says `request to URL failed, reason: X`. */
function transportFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const message = (e.message ?? String(err)).split('\n')[0]!;
  return /reason: (.*)$/.exec(message)?.[1] ?? message;
}

interface Failure {
  listed: Listed;
  err: unknown;
}

/** Every object of one resource, page by page. */
async function listAll(listed: Listed, clients: Clients, options: ReadOptions): Promise<KubeObject[]> {
  const requestOptions = deadline(options.timeoutMs);
  const objects: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page = await listed.list(clients, options.namespace, { limit: options.pageSize, ...(token ? { _continue: token } : {}) }, requestOptions);
    for (const item of page.items) {
      if (options.excludedNamespaces && inNamespaces(options.excludedNamespaces, listed.kind, item as KubeObject)) continue;
      // The client hands back typed objects (Dates for times): back to the JSON the API server
      // sent, which is what every other door of the engine reads. List items carry no kind.
      objects.push({ ...(JSON.parse(JSON.stringify(item)) as KubeObject), apiVersion: listed.apiVersion, kind: listed.kind });
    }
    token = page.metadata?._continue || undefined;
  } while (token);
  return objects;
}

function makeClients(kc: KubeConfig): Clients {
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
  };
}

function scope(namespace: string | undefined): string {
  return namespace ? `in namespace "${namespace}"` : 'in all namespaces';
}

/** Reads the cluster. Throws ClusterUnavailableError when nothing can be read. */
export async function readCluster(target: ClusterTarget, options: ReadOptions): Promise<ClusterSnapshot> {
  const clients = makeClients(target.kubeConfig);
  const settled = await Promise.allSettled(LISTED.map((l) => listAll(l, clients, options)));
  const listedObjects = new Map<string, KubeObject[]>();
  const failures: Failure[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') listedObjects.set(LISTED[i]!.kind, s.value);
    else failures.push({ listed: LISTED[i]!, err: s.reason });
  });

  const where = `the API server ${target.server} (context "${target.context}")`;
  const transport = failures.find((f) => !(f.err instanceof ApiException));
  if (transport) throw new ClusterUnavailableError(`cannot talk to ${where}: ${transportFailure(transport.err, options.timeoutMs)}`);
  const unauthorized = failures.find((f) => (f.err as ApiException<unknown>).code === 401);
  if (unauthorized) {
    throw new ClusterUnavailableError(`${where} rejected the credentials (HTTP 401 Unauthorized): the token or client certificate is missing, invalid or expired`);
  }
  if (options.namespace) {
    const missing = failures.find((f) => f.listed.kind === 'Namespace' && (f.err as ApiException<unknown>).code === 404);
    if (missing) throw new ClusterUnavailableError(`namespace "${options.namespace}" does not exist on ${where}`);
  }

  const problems: string[] = [];
  // All refusals in one line: the fix is one RBAC grant, and it should name everything it needs.
  const forbidden = failures.filter((f) => (f.err as ApiException<unknown>).code === 403);
  if (forbidden.length) {
    const who = /User "([^"]+)"/.exec(apiStatusMessage(forbidden[0]!.err as ApiException<unknown>))?.[1];
    const verbs = forbidden.map((f) => `${f.listed.kind === 'Namespace' && options.namespace ? 'get' : 'list'} ${qualified(f.listed)}`);
    problems.push(
      `forbidden ${scope(options.namespace)}${who ? ` for ${who}` : ''}: RBAC does not allow ${verbs.join(', ')} ` +
        '(the audit needs get and list on every resource in docs/cluster-audit.md)',
    );
  }
  for (const f of failures) {
    if ((f.err as ApiException<unknown>).code === 403) continue;
    problems.push(`cannot list ${qualified(f.listed)} ${scope(options.namespace)}: ${describeFailure(f.err)}`);
  }

  return snapshotOf((kind) => listedObjects.get(kind), problems);
}

/**
 * The snapshot of what was listed, kind by kind (undefined for a kind that could not be listed):
 * the workloads in LISTED order, NetworkPolicies by namespace, Namespace labels by name. The CLI's
 * audit and the background audit's reflectors both judge from it.
 */
export function snapshotOf(objectsOf: (kind: string) => Iterable<KubeObject> | undefined, problems: string[]): ClusterSnapshot {
  const workloads: KubeObject[] = [];
  for (const l of LISTED) if (l.kind !== 'NetworkPolicy' && l.kind !== 'Namespace') workloads.push(...(objectsOf(l.kind) ?? []));
  const policies = objectsOf('NetworkPolicy');
  let networkPolicies: Map<string, NetworkPolicyLike[]> | undefined;
  if (policies) {
    networkPolicies = new Map();
    for (const np of policies) {
      const ns = typeof np.metadata?.namespace === 'string' ? np.metadata.namespace : '';
      const list = networkPolicies.get(ns);
      if (list) list.push(np as NetworkPolicyLike);
      else networkPolicies.set(ns, [np as NetworkPolicyLike]);
    }
  }
  const namespaces = objectsOf('Namespace');
  const namespaceLabels = namespaces ? new Map([...namespaces].map((ns) => [String(ns.metadata?.name ?? ''), (ns.metadata?.labels ?? {}) as Record<string, string>])) : undefined;
  return { workloads, networkPolicies, namespaceLabels, problems };
}
