// Property-based: random bodies and randomly mutated AdmissionReviews sent to /validate and
// /mutate. Every answer is a well-formed AdmissionReview (a patch that applies to the object it was
// computed for) or a 400/413 with a JSON error; never a 500, a hang or a dead process.
import { expect } from 'chai';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { defaultPolicy } from '../../src/policy/load.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { fixablePod, hardenedPod, insecureDeployment, insecurePod } from '../admission/objects.js';
import { reviewOf, startTestServer, type HttpAnswer, type TestServer } from './harness.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Segment = string | number;

const ENDPOINTS = ['/validate', '/mutate', '/validate/audit', '/mutate/audit', '/validate?mode=audit', '/mutate?mode=audit'];

function cronJob(): KubeObject {
  const template = (insecureDeployment().spec as { template: unknown }).template;
  return { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'jobs' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template } } } };
}

const BASE_REVIEWS: (() => Json)[] = [
  () => reviewOf(insecurePod()) as unknown as Json,
  () => reviewOf(fixablePod()) as unknown as Json,
  () => reviewOf(cronJob()) as unknown as Json,
  () => reviewOf(insecureDeployment(), { operation: 'UPDATE', oldObject: fixablePod() }) as unknown as Json,
  () => {
    const pod = hardenedPod();
    const debug = structuredClone(pod);
    (debug.spec as { ephemeralContainers: unknown[] }).ephemeralContainers = [{ name: 'debugger', image: 'busybox' }];
    return reviewOf(debug, { operation: 'UPDATE', oldObject: pod, subResource: 'ephemeralcontainers' }) as unknown as Json;
  },
  () => reviewOf(null, { operation: 'DELETE', oldObject: insecurePod() }) as unknown as Json,
];

/** Values that steer a mutation onto the paths the server branches on. */
const INTERESTING: Json[] = ['Pod', 'Deployment', 'CronJob', 'CREATE', 'UPDATE', 'DELETE', 'ephemeralcontainers', 'status', '', '__proto__', 'constructor', null, 0, -1, 1.5, true, [], {}, [null], { containers: null }];

/** Mostly the type Kubernetes gives the field, sometimes anything at all. */
function field<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | Json> {
  return fc.oneof({ arbitrary: arb, weight: 5 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, weight: 1 });
}

const securityContext = fc.record(
  {
    privileged: field(fc.boolean()),
    allowPrivilegeEscalation: field(fc.boolean()),
    runAsNonRoot: field(fc.boolean()),
    runAsUser: field(fc.integer({ min: -1, max: 70000 })),
    procMount: field(fc.constantFrom('Default', 'Unmasked')),
    capabilities: field(fc.record({ add: field(fc.array(fc.constantFrom('NET_ADMIN', 'cap_sys_admin', 'NET_BIND_SERVICE', 'ALL', ''))), drop: field(fc.array(fc.constantFrom('ALL', 'all', 'NET_RAW'))) }, { requiredKeys: [] })),
    seccompProfile: field(fc.record({ type: fc.constantFrom('RuntimeDefault', 'Unconfined', 'Localhost') })),
    windowsOptions: field(fc.record({ hostProcess: field(fc.boolean()) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const quantity = field(fc.oneof(fc.constantFrom('100m', '1', '512Mi', '1e3', '2Gi', 'lots', ''), fc.integer()));
const container = fc.record(
  {
    name: field(fc.string({ maxLength: 12 })),
    image: field(fc.constantFrom('nginx', 'ngnix:latest', `nginx@sha256:${'a'.repeat(64)}`, 'localhost:5000/app', 'docker.io/library/postgers:16', '')),
    securityContext: field(securityContext),
    env: field(fc.array(fc.record({ name: fc.constantFrom('DB_PASSWORD', 'API_TOKEN', 'LOG_LEVEL', 'DOCKER_HOST'), value: field(fc.constantFrom('hunter2-but-longer', 'true', '12', '/run/secrets/x', 'tcp://docker:2375')) }, { requiredKeys: ['name'] }), { maxLength: 3 })),
    envFrom: field(fc.array(fc.record({ secretRef: fc.record({ name: fc.string() }) }), { maxLength: 2 })),
    ports: field(fc.array(fc.record({ containerPort: field(fc.integer({ min: 0, max: 70000 })), hostPort: field(fc.integer({ min: 0, max: 70000 })) }, { requiredKeys: [] }), { maxLength: 2 })),
    resources: field(fc.record({ limits: field(fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] })), requests: field(fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] })) }, { requiredKeys: [] })),
    volumeMounts: field(fc.array(fc.record({ name: fc.constantFrom('sock', 'data'), mountPath: fc.constantFrom('/var/run/docker.sock', '/data') }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const containers = field(fc.array(container, { maxLength: 3 }));
const podSpec: fc.Arbitrary<Json> = fc.record(
  {
    containers,
    initContainers: containers,
    ephemeralContainers: containers,
    volumes: field(fc.array(fc.record({ name: fc.constantFrom('sock', 'data'), hostPath: field(fc.record({ path: fc.constantFrom('/', '//var/run/docker.sock', '/var/run/../run/containerd/containerd.sock', '/var/log/pods', 'relative') })) }, { requiredKeys: ['name'] }), { maxLength: 2 })),
    securityContext: field(securityContext),
    hostNetwork: field(fc.boolean()),
    hostPID: field(fc.boolean()),
    hostIPC: field(fc.boolean()),
    os: field(fc.record({ name: fc.constantFrom('linux', 'windows') })),
    serviceAccountName: field(fc.string({ maxLength: 8 })),
    resources: field(fc.record({ limits: field(fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] })) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Json>;

/** Puts a pod spec where each judged kind carries it. */
const WRAP: Record<string, (spec: Json) => KubeObject> = {
  Pod: (spec) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'fuzz' }, spec }),
  Deployment: (spec) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'fuzz' }, spec: { template: { metadata: { labels: { app: 'd' } }, spec } } }),
  CronJob: (spec) => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'fuzz' }, spec: { jobTemplate: { spec: { template: { spec } } } } }),
  PodTemplate: (spec) => ({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 't', namespace: 'fuzz' }, template: { spec } }),
};

interface Mutation {
  at: number;
  op: 'delete' | 'replace' | 'interesting' | 'duplicate';
  value: Json;
  pick: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation['op']>('delete', 'replace', 'interesting', 'duplicate'),
  value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  pick: fc.nat(),
});

function allPaths(node: Json, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
  if (node !== null && typeof node === 'object') {
    const entries: [Segment, Json][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, child] of entries) {
      const path = [...prefix, key];
      out.push(path);
      allPaths(child, path, out);
    }
  }
  return out;
}

function apply(doc: Json, m: Mutation): Json {
  const paths = allPaths(doc);
  if (paths.length === 0) return m.value;
  const path = paths[m.at % paths.length]!;
  let parent = doc as Record<Segment, Json>;
  for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<Segment, Json>;
  const key = path[path.length - 1]!;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.op === 'replace') {
    parent[key] = m.value;
  } else if (m.op === 'interesting') {
    parent[key] = structuredClone(INTERESTING[m.pick % INTERESTING.length]!);
  } else if (Array.isArray(parent)) {
    parent.push(structuredClone(parent[key as number]!));
  } else {
    parent[`${String(key)}-copy`] = structuredClone(parent[key]!);
  }
  return doc;
}

function uidOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { request?: { uid?: unknown } }).request?.uid;
  } catch {
    return undefined;
  }
}

/** Fails unless the answer is a well-formed AdmissionReview for `body`, or a 400/413 JSON error. */
function checkAnswer(answer: HttpAnswer, body: string): void {
  if (answer.status !== 200) {
    expect([400, 413], answer.text).to.include(answer.status);
    expect(JSON.parse(answer.text)).to.have.property('error').that.is.a('string');
    return;
  }
  const review = JSON.parse(answer.text) as { apiVersion: string; kind: string; response: Record<string, unknown> };
  expect(review.apiVersion).to.equal('admission.k8s.io/v1');
  expect(review.kind).to.equal('AdmissionReview');
  const response = review.response;
  expect(response.uid).to.equal(uidOf(body));
  expect(response.allowed).to.be.a('boolean');
  if (!response.allowed) {
    const status = response.status as { code: number; message: string };
    expect(status.code).to.equal(403);
    expect(status.message).to.be.a('string').and.not.equal('');
  }
  for (const warning of (response.warnings as string[] | undefined) ?? []) expect(warning).to.be.a('string').with.length.below(120);
  for (const value of Object.values((response.auditAnnotations as Record<string, unknown> | undefined) ?? {})) expect(value).to.be.a('string');
  if (response.patch !== undefined) {
    expect(response.patchType).to.equal('JSONPatch');
    const ops = JSON.parse(Buffer.from(response.patch as string, 'base64').toString()) as jsonpatch.Operation[];
    expect(ops).to.be.an('array').that.is.not.empty;
    const object = (JSON.parse(body) as { request: { object: unknown } }).request.object;
    // The API server applies the patch to the object it sent; it must apply cleanly.
    jsonpatch.applyPatch(structuredClone(object), ops, true);
  }
}

describe('server: property-based robustness (fast-check)', function () {
  this.timeout(120_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const sendAndCheck = async (endpoint: string, body: string): Promise<void> => {
    checkAnswer(await server.post(endpoint, body), body);
  };

  it('answers randomly mutated reviews with a well-formed review or a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(BASE_REVIEWS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(...ENDPOINTS), async (base, mutations, endpoint) => {
        const doc = mutations.reduce(apply, BASE_REVIEWS[base]!());
        await sendAndCheck(endpoint, JSON.stringify(doc));
      }),
      { numRuns: 600 },
    );
  });

  it('answers reviews carrying random pod specs in every judged kind', async () => {
    await fc.assert(
      fc.asyncProperty(podSpec, fc.constantFrom(...Object.keys(WRAP)), fc.constantFrom<'CREATE' | 'UPDATE'>('CREATE', 'UPDATE'), fc.constantFrom(...ENDPOINTS), async (spec, kind, operation, endpoint) => {
        const obj = WRAP[kind]!(spec);
        const review = reviewOf(obj, { operation, ...(operation === 'UPDATE' ? { oldObject: WRAP[kind]!({ containers: [] }) } : {}) });
        await sendAndCheck(endpoint, JSON.stringify(review));
      }),
      { numRuns: 600 },
    );
  });

  it('answers arbitrary bodies with a 400', async () => {
    const body = fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' }));
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...ENDPOINTS), async (text, endpoint) => {
        await sendAndCheck(endpoint, text);
      }),
      { numRuns: 300 },
    );
  });

  // Oversized and pathological reviews, up to the kube-apiserver's 3 MB: lists far past the
  // policy's limits, long strings where short ones belong, every container holding a runtime socket.
  const pathological = fc.record({
    containers: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 5_000 })),
    volumes: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 20_000 })),
    envPerContainer: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 2_000 })),
    portsPerContainer: fc.integer({ min: 0, max: 15 }),
    longString: fc.constantFrom(0, 1_000, 200_000),
    kind: fc.constantFrom(...Object.keys(WRAP)),
    endpoint: fc.constantFrom(...ENDPOINTS),
  });
  type Pathological = { containers: number; volumes: number; envPerContainer: number; portsPerContainer: number; longString: number; kind: string };
  /** The sizes actually built: the test's own memory bounds how much of a large list is built. */
  const built = (p: Pathological): Pathological => ({
    ...p,
    envPerContainer: Math.min(p.envPerContainer, Math.floor(60_000 / Math.max(1, p.containers))),
    longString: p.containers <= 10 ? p.longString : 0,
  });
  const pathologicalReview = (p: Pathological): string => {
    const long = 'a'.repeat(p.longString);
    const spec = {
      hostPID: true,
      containers: Array.from({ length: p.containers }, (_, i) => ({
        name: `c${i}${long.slice(0, 64)}`,
        image: i % 2 ? `nginx${long}` : `quay.io/${long}:1`,
        securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } },
        env: Array.from({ length: p.envPerContainer }, (_, j) => ({ name: `DB_PASSWORD_${j}`, value: `hunter2-${j}${long.slice(0, 100)}` })),
        ports: Array.from({ length: p.portsPerContainer }, (_, j) => ({ containerPort: 1000 + j, hostPort: 1000 + j })),
        volumeMounts: [{ name: 'sock', mountPath: '/var/run/docker.sock' }],
      })),
      volumes: Array.from({ length: p.volumes }, (_, j) => ({ name: j ? `v${j}` : 'sock', hostPath: { path: '/var/run/docker.sock' } })),
    };
    const review = reviewOf(WRAP[p.kind]!(spec as unknown as Json));
    return JSON.stringify(review).slice(0, 3 * 1024 * 1024 - 1);
  };

  it('answers oversized and pathological reviews with a bounded answer that names any limit passed', async () => {
    const limits = defaultPolicy().limits;
    await fc.assert(
      fc.asyncProperty(pathological, async (drawn) => {
        const p = { ...built(drawn), endpoint: drawn.endpoint };
        const body = pathologicalReview(p);
        const answer = await server.post(p.endpoint, body);
        if (answer.status !== 200) {
          // Cut at 3 MB, the JSON no longer parses.
          expect(answer.status, answer.text).to.equal(400);
          return;
        }
        checkAnswer(answer, body);
        expect(answer.text.length).to.be.below(96 * 1024);
        const response = (JSON.parse(answer.text) as { response: { allowed: boolean; status?: { message: string }; warnings?: string[]; patch?: string } }).response;
        if (response.status) expect(Buffer.byteLength(response.status.message)).to.be.at.most(limits.maxMessageBytes);
        if (response.patch) expect(Buffer.from(response.patch, 'base64').length).to.be.at.most(limits.maxPatchBytes);
        const env = p.containers * p.envPerContainer;
        const lists = p.containers * (p.portsPerContainer + 1 + 1);
        const over = p.containers > limits.maxContainers || p.volumes > limits.maxVolumes || env > limits.maxEnvEntries || lists > limits.maxContainerListEntries;
        if (over) {
          const said = response.status?.message ?? response.warnings?.join('\n') ?? '';
          // A warning is cut at 120 characters; the denial says it whole.
          expect(said, p.endpoint).to.match(/audit/.test(p.endpoint) ? /not judged, \d+ [A-Za-z ,]+, more than limits\.max/ : /not judged, \d+ [A-Za-z ,]+, more than limits\.max\w+ \(\d+\) allows/);
          expect(response.allowed).to.equal(/audit/.test(p.endpoint));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('is still alive afterwards and logged no internal error', async () => {
    expect((await server.get('/healthz')).status).to.equal(200);
    expect(server.logs().filter((l) => l.level === 'error')).to.deep.equal([]);
  });
});
