// Generated workloads for the fix property: Pods and Deployments the API server accepts as they are
// (so that a rejection after `fix` is the fix's doing), mixing every setting the fixes touch or
// must step around: container and pod-level resources (limits of zero included), user and
// capability settings, privileged and SYS_ADMIN containers (which allowPrivilegeEscalation: false
// would make invalid), Windows pods, host paths, literal secrets and image names; and written with
// anchors, aliases and merge keys, as kubectl resolves them.
import fc from 'fast-check';
import { Document, Pair, Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { KubeObject } from '../../src/workloads/locate.js';
import { parseQuantity } from '../../src/workloads/quantity.js';

type Json = Record<string, unknown>;

const CPU = ['0', '100m', '250m', '1', '2'] as const;
const MEMORY = ['0', '64Mi', '256Mi', '1Gi', '2Gi'] as const;

/** Resources of one kind on a container: nothing, a request, a limit (zero included), or both. */
function resourceArbitrary(values: readonly string[]): fc.Arbitrary<{ request?: string; limit?: string }> {
  const nonZero = values.filter((v) => v !== '0');
  return fc.oneof(
    fc.constant({}),
    fc.record({ request: fc.constantFrom(...nonZero) }),
    fc.record({ limit: fc.constantFrom(...values) }),
    // request <= limit, as the API requires.
    fc.tuple(fc.constantFrom(...nonZero), fc.constantFrom(...nonZero)).map(([a, b]) => {
      const [request, limit] = parseQuantity(a)! <= parseQuantity(b)! ? [a, b] : [b, a];
      return { request, limit };
    }),
  );
}

interface ContainerResources {
  cpu: { request?: string; limit?: string };
  memory: { request?: string; limit?: string };
}

const containerResources: fc.Arbitrary<ContainerResources> = fc.record({ cpu: resourceArbitrary(CPU), memory: resourceArbitrary(MEMORY) });

function resourcesJson(r: ContainerResources): Json | undefined {
  const requests: Json = {};
  const limits: Json = {};
  for (const name of ['cpu', 'memory'] as const) {
    if (r[name].request !== undefined) requests[name] = r[name].request;
    if (r[name].limit !== undefined) limits[name] = r[name].limit;
  }
  const out: Json = {};
  if (Object.keys(requests).length) out.requests = requests;
  if (Object.keys(limits).length) out.limits = limits;
  return Object.keys(out).length ? out : undefined;
}

const linuxSecurityContext: fc.Arbitrary<Json | undefined> = fc.option(
  fc.record(
    {
      runAsUser: fc.constantFrom(0, 1000),
      runAsNonRoot: fc.boolean(),
      allowPrivilegeEscalation: fc.boolean(),
      privileged: fc.boolean(),
      readOnlyRootFilesystem: fc.boolean(),
      capabilities: fc.record(
        { drop: fc.constantFrom(['ALL'], ['NET_RAW'], ['all']), add: fc.constantFrom(['NET_BIND_SERVICE'], ['NET_ADMIN'], ['SYS_ADMIN'], ['CAP_SYS_ADMIN']) },
        { requiredKeys: [] },
      ),
      seccompProfile: fc.constantFrom({ type: 'RuntimeDefault' }, { type: 'Unconfined' }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
).map((sc) => {
  if (!sc) return sc;
  // The API refuses allowPrivilegeEscalation: false next to privileged or SYS_ADMIN: keep inputs valid.
  const add = (sc.capabilities as { add?: string[] } | undefined)?.add ?? [];
  if (sc.allowPrivilegeEscalation === false && (sc.privileged === true || add.some((c) => /^(CAP_)?SYS_ADMIN$/i.test(c)))) delete sc.allowPrivilegeEscalation;
  return sc;
});

const windowsSecurityContext: fc.Arbitrary<Json | undefined> = fc.option(
  fc.record(
    { runAsNonRoot: fc.boolean(), windowsOptions: fc.record({ runAsUserName: fc.constantFrom('ContainerAdministrator', 'ContainerUser', 'app-user') }) },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const IMAGES = [
  'nginx:1.27',
  'nginx',
  'docker.io/library/nginx:latest',
  'registry.example.com/shop/api:2.4.1@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'ngnix:1.27',
  'dokcer.io/library/nginx:1.27',
  'alpnie/git:2.45',
  'gcr.io/distroless/static-debian12:nonroot',
];
const WINDOWS_IMAGES = ['mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022', 'mcr.microsoft.com/windows/nanoserver:ltsc2022'];
const HOST_PATHS = ['/var/log/pods', '/var/run/docker.sock', '/proc/1/root', '/run/user/1000/docker.sock', '/etc/ssl/certs', '/data'];
const ENV = [
  { name: 'LOG_LEVEL', value: 'debug' },
  { name: 'DB_PASSWORD', value: 'hunter2-hunter2' },
  { name: 'DBPASS', value: 'Winter2024' },
  { name: 'SQLSERVER', value: 'Server=db;User Id=sa;Password=Sup3r-Secret;' },
  { name: 'DB_PASSWORD_FILE', value: 'C:\\secrets\\db.txt' },
  { name: 'PASSWORD_MIN_LENGTH', value: '12' },
];

interface ContainerDraft {
  image: string;
  resources: ContainerResources;
  securityContext: Json | undefined;
  env: (typeof ENV)[number][];
  mountsVolume: boolean;
}

function containerDraft(windows: boolean): fc.Arbitrary<ContainerDraft> {
  return fc.record({
    image: fc.constantFrom(...(windows ? WINDOWS_IMAGES : IMAGES)),
    resources: containerResources,
    securityContext: windows ? windowsSecurityContext : linuxSecurityContext,
    env: fc.subarray(ENV, { maxLength: 2 }),
    mountsVolume: fc.boolean(),
  });
}

/** What a container asks the scheduler for: its request, or its limit when only that is set. */
function effectiveRequest(r: { request?: string; limit?: string }): number {
  return parseQuantity(r.request ?? r.limit ?? '0')!;
}

/** Pod-level resources the API accepts next to these containers: requests covering theirs, limits above every limit. */
function podResources(init: ContainerDraft[], regular: ContainerDraft[], headroom: { cpu: string; memory: string }, withLimits: boolean): Json {
  const requests: Json = {};
  const limits: Json = {};
  for (const name of ['cpu', 'memory'] as const) {
    const unit = name === 'cpu' ? 1 : 2 ** 20;
    const needed = Math.max(
      regular.reduce((sum, c) => sum + effectiveRequest(c.resources[name]), 0),
      ...init.map((c) => effectiveRequest(c.resources[name])),
    );
    const request = needed + parseQuantity(headroom[name])!;
    requests[name] = name === 'cpu' ? `${Math.ceil(request * 1000)}m` : `${Math.ceil(request / unit)}Mi`;
    if (withLimits) {
      const highest = Math.max(request, ...[...init, ...regular].map((c) => parseQuantity(c.resources[name].limit ?? '0')!));
      limits[name] = name === 'cpu' ? `${Math.ceil(highest * 1000)}m` : `${Math.ceil(highest / unit)}Mi`;
    }
  }
  return withLimits ? { requests, limits } : { requests };
}

function containerJson(name: string, draft: ContainerDraft, volume: string | undefined): Json {
  const c: Json = { name, image: draft.image };
  const resources = resourcesJson(draft.resources);
  if (resources) c.resources = resources;
  if (draft.securityContext) c.securityContext = draft.securityContext;
  if (draft.env.length) c.env = draft.env;
  if (volume && draft.mountsVolume) c.volumeMounts = [{ name: volume, mountPath: '/mnt/host' }];
  return c;
}

/** A Pod or a Deployment, valid as generated. */
export const workloadArbitrary: fc.Arbitrary<KubeObject> = fc.boolean().chain((windows) =>
  fc
    .record({
      kind: fc.constantFrom('Pod', 'Deployment'),
      init: fc.array(containerDraft(windows), { maxLength: 1 }),
      regular: fc.array(containerDraft(windows), { minLength: 1, maxLength: 3 }),
      podLevel: windows ? fc.constant('none' as const) : fc.constantFrom('none' as const, 'requests' as const, 'requests-and-limits' as const),
      headroom: fc.record({ cpu: fc.constantFrom('0', '100m', '1'), memory: fc.constantFrom('0', '64Mi', '1Gi') }),
      podSecurityContext: windows ? windowsSecurityContext : fc.option(fc.record({ runAsUser: fc.constantFrom(0, 1000), runAsNonRoot: fc.boolean() }, { requiredKeys: [] }), { nil: undefined }),
      hostPath: windows ? fc.constant(undefined) : fc.option(fc.constantFrom(...HOST_PATHS), { nil: undefined }),
    })
    .map(({ kind, init, regular, podLevel, headroom, podSecurityContext, hostPath }) => {
      const volume = hostPath ? 'host' : undefined;
      const spec: Json = { containers: regular.map((c, i) => containerJson(`app-${i}`, c, volume)) };
      if (init.length) spec.initContainers = init.map((c, i) => containerJson(`init-${i}`, c, volume));
      if (windows) spec.os = { name: 'windows' };
      if (podSecurityContext) spec.securityContext = podSecurityContext;
      if (hostPath) spec.volumes = [{ name: 'host', hostPath: { path: hostPath } }];
      if (podLevel !== 'none') spec.resources = podResources(init, regular, headroom, podLevel === 'requests-and-limits');
      const labels = { app: 'generated' };
      const obj =
        kind === 'Pod'
          ? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'generated', labels }, spec }
          : {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'generated' },
              spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
            };
      // Constants are shared between containers: a manifest is a tree, each value written once.
      return JSON.parse(JSON.stringify(obj)) as KubeObject;
    }),
);

/** A fixed sample of generated workloads, each under its own name, for batch runs (CLI, apiserver). */
export function sampleWorkloads(count: number, seed: number): KubeObject[] {
  return fc.sample(workloadArbitrary, { numRuns: count, seed }).map((obj, i) => ({
    ...obj,
    metadata: { ...(obj.metadata as Json), name: `generated-${i}` },
  }));
}

/**
 * The workload written as people share settings in YAML: the second container merges the first
 * (`<<: *first`, its own keys win) and the last container, without a securityContext of its own, takes the
 * first's through an alias. Pods sized at pod level are written plainly: a merged container's
 * inherited requests would no longer fit the generated pod-level requests.
 */
export function yamlWithSharedSettings(obj: KubeObject): string {
  const doc = new Document(obj);
  const specPath = obj.kind === 'Pod' ? ['spec'] : ['spec', 'template', 'spec'];
  const containers = doc.getIn([...specPath, 'containers']) as YAMLSeq<YAMLMap>;
  const spec = doc.getIn(specPath) as YAMLMap;
  if (!spec.has('resources') && containers.items.length >= 2) {
    const first = containers.items[0]!;
    first.anchor = 'first';
    containers.items[1]!.items.unshift(new Pair(new Scalar('<<'), doc.createAlias(first)));
    const shared = first.get('securityContext', true) as YAMLMap | undefined;
    const last = containers.items[containers.items.length - 1]!;
    if (shared && !last.has('securityContext')) {
      shared.anchor = 'shared-security';
      last.set('securityContext', doc.createAlias(shared));
    }
  }
  return doc.toString();
}
