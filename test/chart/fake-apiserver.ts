// Just enough of a Kubernetes API for `helm template --dry-run=server`: version, discovery of the
// kinds the chart renders, and GET of the objects a test puts "in the cluster", so the chart's
// `lookup` sees them as it would on `helm upgrade`. Everything else is 404 (not there yet).
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RenderedObject } from './helm.js';

/** groupVersion -> kind -> [resource, namespaced] */
const KINDS: Record<string, Record<string, [string, boolean]>> = {
  v1: {
    Secret: ['secrets', true],
    ConfigMap: ['configmaps', true],
    ServiceAccount: ['serviceaccounts', true],
    Service: ['services', true],
    ResourceQuota: ['resourcequotas', true],
  },
  'apps/v1': { Deployment: ['deployments', true] },
  'policy/v1': { PodDisruptionBudget: ['poddisruptionbudgets', true] },
  'networking.k8s.io/v1': { NetworkPolicy: ['networkpolicies', true] },
  'rbac.authorization.k8s.io/v1': { ClusterRole: ['clusterroles', false], ClusterRoleBinding: ['clusterrolebindings', false] },
  'admissionregistration.k8s.io/v1': {
    MutatingWebhookConfiguration: ['mutatingwebhookconfigurations', false],
    ValidatingWebhookConfiguration: ['validatingwebhookconfigurations', false],
    ValidatingAdmissionPolicy: ['validatingadmissionpolicies', false],
    ValidatingAdmissionPolicyBinding: ['validatingadmissionpolicybindings', false],
  },
};

function objectPath(obj: RenderedObject): string {
  const [resource, namespaced] = KINDS[obj.apiVersion]?.[obj.kind] ?? [];
  if (!resource) throw new Error(`the fake API does not serve ${obj.apiVersion} ${obj.kind}`);
  const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
  const ns = namespaced ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${base}${ns}/${resource}/${obj.metadata.name}`;
}

function discovery(url: string): unknown {
  if (url === '/version') return { major: '1', minor: '35', gitVersion: 'v1.35.0' };
  if (url === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (url === '/apis') {
    const groups = Object.keys(KINDS)
      .filter((gv) => gv.includes('/'))
      .map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const gv = url === '/api/v1' ? 'v1' : url.replace(/^\/apis\//, '');
  const kinds = KINDS[gv];
  if (!kinds) return undefined;
  const resources = Object.entries(kinds).map(([kind, [name, namespaced]]) => ({
    name,
    singularName: kind.toLowerCase(),
    namespaced,
    kind,
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
  }));
  return { kind: 'APIResourceList', groupVersion: gv, resources };
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export interface FakeApiServer {
  /** A kubeconfig file for helm's --kubeconfig. */
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startFakeApiServer(objects: RenderedObject[]): Promise<FakeApiServer> {
  const stored = new Map(objects.map((o) => [objectPath(o), o]));
  const server = createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    const body = req.method === 'GET' ? (stored.get(url) ?? discovery(url)) : undefined;
    if (body) reply(res, 200, body);
    else reply(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'gapguard-fake-api-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'fake', user: { token: 'not-a-secret' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    }),
  );
  return {
    kubeconfig,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
