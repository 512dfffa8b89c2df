// Just enough of the Kubernetes API for gapguard's informers and the background audit's
// reflectors, over plain HTTP on loopback: list, and watch from a resourceVersion, for Namespaces,
// NetworkPolicies and every kind the audit lists; and an outage switch.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface Obj {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  [field: string]: unknown;
}

const RESOURCES: Record<string, { list: string; kind: string; apiVersion: string }> = {
  '/api/v1/namespaces': { list: 'NamespaceList', kind: 'Namespace', apiVersion: 'v1' },
  '/apis/networking.k8s.io/v1/networkpolicies': { list: 'NetworkPolicyList', kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1' },
  // What the background audit lists besides (cluster/read.ts's LISTED).
  '/api/v1/pods': { list: 'PodList', kind: 'Pod', apiVersion: 'v1' },
  '/api/v1/podtemplates': { list: 'PodTemplateList', kind: 'PodTemplate', apiVersion: 'v1' },
  '/api/v1/replicationcontrollers': { list: 'ReplicationControllerList', kind: 'ReplicationController', apiVersion: 'v1' },
  '/apis/apps/v1/deployments': { list: 'DeploymentList', kind: 'Deployment', apiVersion: 'apps/v1' },
  '/apis/apps/v1/replicasets': { list: 'ReplicaSetList', kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  '/apis/apps/v1/statefulsets': { list: 'StatefulSetList', kind: 'StatefulSet', apiVersion: 'apps/v1' },
  '/apis/apps/v1/daemonsets': { list: 'DaemonSetList', kind: 'DaemonSet', apiVersion: 'apps/v1' },
  '/apis/batch/v1/jobs': { list: 'JobList', kind: 'Job', apiVersion: 'batch/v1' },
  '/apis/batch/v1/cronjobs': { list: 'CronJobList', kind: 'CronJob', apiVersion: 'batch/v1' },
};

/** Just enough of the Kubernetes API for informers and reflectors: list, and watch from a resourceVersion. */
export class FakeApiServer {
  private readonly objects = new Map<string, Map<string, Obj>>(Object.keys(RESOURCES).map((path) => [path, new Map()]));
  private readonly watches = new Map<ServerResponse, string>();
  private version = 1;
  private down = false;
  /** Lists are answered this much later: an API server slow to answer a starting webhook. */
  listDelayMs = 0;
  private readonly server = createServer((req, res) => this.handle(req, res));
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'gapguard', token: 'not-a-real-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'gapguard' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same cluster as a kubeconfig file, for `gapguard serve --kubeconfig`. */
  writeKubeconfig(file: string): void {
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: fake, cluster: {server: "http://127.0.0.1:' + this.port + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: gapguard, user: {token: not-a-real-token}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: gapguard}}]',
        'current-context: fake',
        '',
      ].join('\n'),
    );
  }

  /** Adds or replaces an object and tells the watchers. */
  put(path: string, obj: Obj): void {
    const store = this.objects.get(path)!;
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = store.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = this.stamp(path, obj);
    store.set(key, stored);
    for (const [res, watched] of this.watches) if (watched === path) res.write(`${JSON.stringify({ type, object: stored })}\n`);
  }

  /** The API server goes away: open watches break and every request fails. */
  goDown(): void {
    this.down = true;
    for (const res of this.watches.keys()) res.destroy();
    this.watches.clear();
  }

  comeBack(): void {
    this.down = false;
  }

  async stop(): Promise<void> {
    this.goDown();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private stamp(path: string, obj: Obj): Obj {
    const { kind, apiVersion } = RESOURCES[path]!;
    return { ...obj, kind, apiVersion, metadata: { ...obj.metadata, resourceVersion: String(++this.version) } };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const resource = RESOURCES[url.pathname];
    if (this.down || !resource) {
      res.writeHead(this.down ? 503 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: this.down ? 503 : 404 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch') === 'true') {
      // As the API server does: the headers go out at once, events follow as they happen.
      res.flushHeaders();
      this.watches.set(res, url.pathname);
      res.on('close', () => this.watches.delete(res));
      return;
    }
    const list = JSON.stringify({ kind: resource.list, apiVersion: resource.apiVersion, metadata: { resourceVersion: String(this.version) }, items: [...this.objects.get(url.pathname)!.values()] });
    setTimeout(() => res.end(list), this.listDelayMs);
  }
}

export const NAMESPACES = '/api/v1/namespaces';
export const NETWORK_POLICIES = '/apis/networking.k8s.io/v1/networkpolicies';
export const PODS = '/api/v1/pods';

export function namespace(name: string, mode?: string): Obj {
  return { metadata: { name, ...(mode ? { labels: { 'gapguard.io/mode': mode, 'kubernetes.io/metadata.name': name } } : {}) } };
}

export function defaultDeny(ns: string): Obj {
  return { metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
}
