// Pod startup latency on the e2e suite's real node (bench/README.md, "Pod startup"): small Pods
// created at a steady rate and run by the kubelet, with no webhook, with a bare no-op HTTPS webhook
// pair, with gapguard in audit mode and with gapguard in enforce mode, interleaved in rounds so that
// drift of the machine falls on all four alike. gapguard runs in the cluster from its own image by
// digest, installed by its chart (2 replicas); the no-op pair runs in the cluster from an image
// built here the same way (bench/startup/noop.ts).
//
// The configuration of a round is the namespace its Pods are created in, whose labels select the
// webhooks: gapguard.io/mode=off and no no-op label (no webhook called), the no-op label (the pair
// called), gapguard.io/mode=audit (gapguard's validating audit webhook), =enforce (its mutating and
// validating enforce webhooks). Labels are set once, so no round waits for a label change to reach
// the kube-apiserver's and gapguard's informers.
//
// Per Pod: the create's client round trip (API-only create latency), and create to Running: from the
// start of the create to the watch event in which the kubelet's status says Running, both on the
// bench's clock (the API's own timestamps have 1 s resolution; bench/startup/watch.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../../e2e/support/api.js';
import { sleep } from '../../e2e/support/gapguard.js';
import { gapguardPods, InClusterGapguard, waitReplicas } from '../../e2e/support/in-cluster.js';
import { eventually } from '../../e2e/support/kube.js';
import { node, onNode } from '../../e2e/support/node.js';
import { hardenedContainer } from '../../e2e/support/objects.js';
import { repoRoot } from '../../e2e/support/paths.js';
import { env, kubectl, RELEASE_NAMESPACE, setUp, tearDown, tearDownNow } from '../../e2e/support/suite.js';
import { cpuBetween, daemonPids, sampleCpu, shimCount, type CpuSources } from './cpu.js';
import { installNoop, NOOP_LABEL, noopPodUids } from './noop.js';
import { PodWatch } from './watch.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Pods per configuration per round; they all run at once at the end of a round (the kubelet's maxPods is 110). */
const PODS = Number(process.env.PODS ?? 20);
/** Creates per second, started on a fixed schedule whatever the answers take. */
const RATE = Number(process.env.RATE ?? 1.5);
const WARMUP = Number(process.env.WARMUP ?? 5);
for (const [name, value, min, max] of [['ROUNDS', ROUNDS, 1, 100], ['PODS', PODS, 1, 90], ['RATE', RATE, 0.1, 50], ['WARMUP', WARMUP, 0, 90]] as const) {
  if (!(value >= min && value <= max) || (name !== 'RATE' && !Number.isInteger(value))) throw new Error(`${name}=${process.env[name]}: expected ${name === 'RATE' ? 'a number' : 'a whole number'} from ${min} to ${max}`);
}

const CONFIGS = ['none', 'no-op', 'audit', 'enforce'] as const;
type Config = (typeof CONFIGS)[number];
const LABELS: Record<Config, Record<string, string>> = {
  none: { 'gapguard.io/mode': 'off' },
  'no-op': { 'gapguard.io/mode': 'off', [NOOP_LABEL]: 'on' },
  audit: { 'gapguard.io/mode': 'audit' },
  enforce: { 'gapguard.io/mode': 'enforce' },
};
const POD_LABEL = 'bench.gapguard.io/startup';

interface PodResult {
  config: Config;
  round: number;
  name: string;
  createMs: number;
  startupMs: number;
  /** startedAt - creationTimestamp from the API, whole seconds (the coarse cross-check). */
  serverSeconds?: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** A small Pod that passes gapguard's default policy: the node's pause image by digest, hardened, limits set. */
function benchPod(name: string): Record<string, unknown> {
  const container = { ...hardenedContainer('pause'), image: node().pauseImage, resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { cpu: '10m', memory: '16Mi' } } };
  const spec: Record<string, any> = { containers: [container], terminationGracePeriodSeconds: 1 };
  onNode(spec);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { [POD_LABEL]: 'true' } }, spec };
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

async function makeNamespace(config: Config): Promise<string> {
  const name = `bench-startup-${config}`;
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: LABELS[config] } }));
  // Clean for flat-network too, so gapguard's answers carry no warnings (as in bench/e2e).
  const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: name }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
  await ok(['apply', '-f', '-'], JSON.stringify(np));
  // The ServiceAccount admission plugin refuses Pods until the namespace's default ServiceAccount exists.
  await eventually(`the default ServiceAccount in ${name}`, async () => ((await kubectl(['-n', name, 'get', 'serviceaccount', 'default'])).code === 0 ? true : undefined), 60_000, 250);
  return name;
}

/** What the kube-apiserver's own clocks say of the Pod creates: the whole request, and the request without its webhook calls. */
const POD_CREATES = 'pod creates';
const POD_CREATES_WITHOUT_WEBHOOKS = 'pod creates without webhook calls';
const POD_CREATE_LABELS = /(^|,)resource="pods"(,|$)/;

/**
 * The kube-apiserver's count and total seconds (its /metrics): of its webhook calls, by webhook
 * name; and of the Pod creates, whole (apiserver_request_duration_seconds) and without the time
 * spent calling webhooks (apiserver_request_sli_duration_seconds), the bench's being the only Pods
 * created while it runs.
 */
async function apiserverTimes(client: ApiClient): Promise<Record<string, { count: number; seconds: number }>> {
  const r = await client.send('GET', '/metrics');
  if (r.status !== 200) throw new Error(`apiserver /metrics: HTTP ${r.status}`);
  const calls: Record<string, { count: number; seconds: number }> = {};
  const add = (key: string, field: string, value: string): void => {
    const entry = (calls[key] ??= { count: 0, seconds: 0 });
    if (field === 'count') entry.count += Number(value);
    else entry.seconds += Number(value);
  };
  for (const m of r.body.matchAll(/^apiserver_admission_webhook_admission_duration_seconds_(count|sum)\{([^}]*)\} (\S+)$/gm)) {
    add(/name="([^"]*)"/.exec(m[2]!)?.[1] ?? '?', m[1]!, m[3]!);
  }
  for (const m of r.body.matchAll(/^apiserver_request_(sli_)?duration_seconds_(count|sum)\{([^}]*)\} (\S+)$/gm)) {
    const labels = m[3]!;
    if (POD_CREATE_LABELS.test(labels) && labels.includes('verb="POST"') && labels.includes('subresource=""')) add(m[1] ? POD_CREATES_WITHOUT_WEBHOOKS : POD_CREATES, m[2]!, m[4]!);
  }
  return calls;
}

/** gapguard's own view of its calls, summed over its replicas: its request histogram (server-side time, body reading included) by endpoint, and its TLS handshakes. */
interface ServerSide {
  calls: Record<string, { count: number; seconds: number }>;
  handshakes: number;
}

async function gapguardServerSide(client: ApiClient, pods: string[]): Promise<ServerSide> {
  const side: ServerSide = { calls: {}, handshakes: 0 };
  for (const pod of pods) {
    const r = await client.send('GET', `/api/v1/namespaces/${RELEASE_NAMESPACE}/pods/https:${pod}:8443/proxy/metrics`);
    if (r.status !== 200) throw new Error(`${pod} /metrics: HTTP ${r.status}`);
    for (const m of r.body.matchAll(/^gapguard_admission_duration_seconds_(count|sum)\{endpoint="(\w+)"\} (\S+)$/gm)) {
      const entry = (side.calls[m[2]!] ??= { count: 0, seconds: 0 });
      if (m[1] === 'count') entry.count += Number(m[3]);
      else entry.seconds += Number(m[3]);
    }
    side.handshakes += Number(/^gapguard_tls_handshakes_total (\S+)$/m.exec(r.body)?.[1] ?? NaN);
  }
  return side;
}

function diffServerSide(before: ServerSide, after: ServerSide): ServerSide {
  return { calls: diffCalls(before.calls, after.calls), handshakes: after.handshakes - before.handshakes };
}

interface Round {
  pods: PodResult[];
  cpu: Record<string, number>;
  webhooks: Record<string, { count: number; seconds: number }>;
  server: ServerSide;
  seconds: number;
  load: number;
}

/** Creates `count` Pods at RATE, waits until the kubelet reports every one Running, then deletes them and waits until they are gone from the node. */
async function runRound(client: ApiClient, watch: PodWatch, sources: CpuSources, config: Config, namespace: string, round: number, count: number): Promise<Round> {
  const callsBefore = await apiserverTimes(client);
  const serverBefore = await gapguardServerSide(client, gapguardPodNames);
  const cpuBefore = sampleCpu(sources);
  const t0 = performance.now();
  const creates: Promise<{ name: string; started: number; ended: number }>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / RATE;
    await sleep(Math.max(0, due - performance.now()));
    const name = `${config.replace(/[^a-z]/g, '')}-${round}-${i}`;
    creates.push((async () => {
      const started = performance.now();
      const r = await client.send('POST', `/api/v1/namespaces/${namespace}/pods`, benchPod(name));
      const ended = performance.now();
      // Every Pod passes the default policy: anything but 201 is a broken run, not a data point.
      if (r.status !== 201) throw new Error(`${namespace}/${name}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
      return { name, started, ended };
    })());
  }
  const created = await Promise.all(creates);
  await eventually(`${count} Pods Running in ${namespace}`, async () => {
    watch.check();
    return created.every((c) => watch.running.has(`${namespace}/${c.name}`)) ? true : undefined;
  }, 180_000, 50);
  const cpu = cpuBetween(cpuBefore, sampleCpu(sources));
  const load = loadavg()[0]!;
  const seconds = (performance.now() - t0) / 1000;
  const webhooks = diffCalls(callsBefore, await apiserverTimes(client));
  const server = diffServerSide(serverBefore, await gapguardServerSide(client, gapguardPodNames));
  const pods = created.map((c) => {
    const seen = watch.running.get(`${namespace}/${c.name}`)!;
    const serverSeconds = seen.startedAt ? (Date.parse(seen.startedAt) - Date.parse(seen.created)) / 1000 : undefined;
    return { config, round, name: c.name, createMs: c.ended - c.started, startupMs: seen.seenAt - c.started, serverSeconds };
  });

  const del = await client.send('DELETE', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(POD_LABEL)}`);
  if (del.status !== 200) throw new Error(`deleting the Pods of ${namespace}: HTTP ${del.status}: ${del.body.slice(0, 300)}`);
  await eventually(`the Pods of ${namespace} gone`, async () => {
    const r = await client.send('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(POD_LABEL)}&limit=1`);
    return (JSON.parse(r.body) as { items: unknown[] }).items.length === 0 ? true : undefined;
  }, 180_000, 250);
  // ...and from the node: their sandboxes stopped, their shims gone, before the next round starts.
  await eventually('the node back to its standing shims', async () => (shimCount(sources.shimMarker) <= standingShims ? true : undefined), 120_000, 250);
  await sleep(1000);
  return { pods, cpu, webhooks, server, seconds, load };
}

function diffCalls(before: Record<string, { count: number; seconds: number }>, after: Record<string, { count: number; seconds: number }>): Record<string, { count: number; seconds: number }> {
  const d: Record<string, { count: number; seconds: number }> = {};
  for (const [name, a] of Object.entries(after)) {
    const count = a.count - (before[name]?.count ?? 0);
    if (count > 0) d[name] = { count, seconds: a.seconds - (before[name]?.seconds ?? 0) };
  }
  return d;
}

/** gapguard's admission counters by endpoint and decision, from each replica through the apiserver's proxy. */
async function gapguardDecisions(): Promise<string[]> {
  const lines: string[] = [];
  for (const p of await gapguardPods()) {
    const metrics = await ok(['get', '--raw', `/api/v1/namespaces/${RELEASE_NAMESPACE}/pods/https:${p.name}:8443/proxy/metrics`]);
    lines.push(`${p.name}: ${metrics.split('\n').filter((l) => l.startsWith('gapguard_admission_requests_total{')).map((l) => l.replace('gapguard_admission_requests_total', '')).join(', ')}`);
  }
  return lines;
}

/** The node's shims with no bench Pod running (gapguard's and the no-op pair's replicas). */
let standingShims = 0;
/** gapguard's replicas, whose metrics each round reads. */
let gapguardPodNames: string[] = [];

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadavg();
  // The suite's own install: gapguard in the cluster from its image by digest, 2 replicas.
  await setUp({ auditLog: false, inCluster: true });
  const e = env();
  if (!e.node || !(e.gapguard instanceof InClusterGapguard)) throw new Error('the startup benchmark needs the real node: run it as root, without GAPGUARD_E2E_NODE=0');
  const image = e.gapguard.image;
  const gapguard = await waitReplicas(2);
  gapguardPodNames = gapguard.map((p) => p.name);
  const benchDir = join(e.workdir, 'bench-startup');
  mkdirSync(benchDir);
  const noopImage = await installNoop(image, benchDir);
  process.stderr.write(`bench: gapguard ${image.repository}@${image.digest} (2 replicas), no-op ${noopImage} (2 replicas)\n`);

  const namespaces = {} as Record<Config, string>;
  for (const config of CONFIGS) namespaces[config] = await makeNamespace(config);
  const client = new ApiClient({ server: e.apiServer, caFile: e.apiServerCaFile, token: e.token, maxSockets: 16 });
  const watch = new PodWatch(e.apiServer, e.apiServerCaFile, e.token, POD_LABEL);
  await watch.start(client);
  const sources: CpuSources = {
    daemons: daemonPids(join(e.workdir, 'cluster')),
    shimMarker: join(e.workdir, 'cluster/node/containerd/containerd.sock'),
    podGroups: { gapguard: gapguard.map((p) => p.uid), 'no-op pair': await noopPodUids() },
  };
  standingShims = shimCount(sources.shimMarker);

  try {
    if (WARMUP > 0) for (const config of CONFIGS) await runRound(client, watch, sources, config, namespaces[config], 0, WARMUP);
    const rounds: Round[] = [];
    const cpu = Object.fromEntries(CONFIGS.map((c) => [c, {}])) as Record<Config, Record<string, number>>;
    const webhooks = Object.fromEntries(CONFIGS.map((c) => [c, {}])) as Record<Config, Record<string, { count: number; seconds: number }>>;
    const server = Object.fromEntries(CONFIGS.map((c) => [c, { calls: {}, handshakes: 0, seconds: 0 }])) as Record<Config, ServerSide & { seconds: number }>;
    const loads: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round starts with the next configuration, so none is always first after the machine's pauses.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round - 1) % CONFIGS.length]!);
      for (const config of order) {
        const r = await runRound(client, watch, sources, config, namespaces[config], round, PODS);
        rounds.push(r);
        loads.push(r.load);
        for (const [k, v] of Object.entries(r.cpu)) cpu[config][k] = (cpu[config][k] ?? 0) + v;
        for (const [k, v] of Object.entries(r.webhooks)) {
          const w = (webhooks[config][k] ??= { count: 0, seconds: 0 });
          w.count += v.count;
          w.seconds += v.seconds;
        }
        for (const [k, v] of Object.entries(r.server.calls)) {
          const w = (server[config].calls[k] ??= { count: 0, seconds: 0 });
          w.count += v.count;
          w.seconds += v.seconds;
        }
        server[config].handshakes += r.server.handshakes;
        server[config].seconds += r.seconds;
      }
      process.stderr.write(`bench: round ${round}/${ROUNDS} done, load average ${loadavg()[0]!.toFixed(2)}\n`);
    }
    // The replicas that answered are the ones accounted: none restarted or was replaced.
    const after = (await gapguardPods()).map((p) => p.uid).sort();
    if (JSON.stringify(after) !== JSON.stringify(sources.podGroups.gapguard!.slice().sort())) throw new Error('a gapguard replica was replaced during the run; its CPU is not accounted');
    report({ rounds, cpu, webhooks, server, loads, loadAtStart, decisions: await gapguardDecisions(), gapguardImage: `${image.repository}@${image.digest}`, noopImage, seconds: (Date.now() - started) / 1000 });
  } finally {
    watch.stop();
    client.close();
  }
}

interface Summary {
  rounds: Round[];
  cpu: Record<Config, Record<string, number>>;
  webhooks: Record<Config, Record<string, { count: number; seconds: number }>>;
  server: Record<Config, ServerSide & { seconds: number }>;
  loads: number[];
  loadAtStart: number[];
  decisions: string[];
  gapguardImage: string;
  noopImage: string;
  seconds: number;
}

function report(s: Summary): void {
  const pods = s.rounds.flatMap((r) => r.pods);
  const of = (c: Config) => pods.filter((p) => p.config === c);
  const stats = Object.fromEntries(CONFIGS.map((c) => {
    const ps = of(c);
    const create = ps.map((p) => p.createMs);
    const startup = ps.map((p) => p.startupMs);
    const server = ps.flatMap((p) => (p.serverSeconds === undefined ? [] : [p.serverSeconds]));
    return [c, { pods: ps.length, createP50: percentile(create, 50), createP99: percentile(create, 99), startupP50: percentile(startup, 50), startupP99: percentile(startup, 99), serverP50: percentile(server, 50) }];
  })) as Record<Config, { pods: number; createP50: number; createP99: number; startupP50: number; startupP99: number; serverP50: number }>;
  const rounds = [...new Set(pods.map((p) => p.round))];
  const perRound = (c: Config) => rounds.map((r) => percentile(of(c).filter((p) => p.round === r).map((p) => p.startupMs), 50));
  const none = stats.none;
  const noop = stats['no-op'];
  const enforce = stats.enforce;
  const verdict = (ratio: number, target: number) => `${ratio.toFixed(3)}x (target at most ${target.toFixed(2)}x: ${ratio <= target ? 'met' : 'NOT met'})`;
  const components = [...new Set(CONFIGS.flatMap((c) => Object.keys(s.cpu[c])))];
  const lines = [
    `Pod startup, ${ROUNDS} interleaved rounds of ${PODS} Pods per configuration (${WARMUP} warm-up each), ${RATE} creates/s; ${cpus().length} cores, Node ${process.version}`,
    `load average (1 min) at start ${s.loadAtStart.map((l) => l.toFixed(2)).join(' ')}; at the end of each round-configuration min ${Math.min(...s.loads).toFixed(2)}, median ${percentile(s.loads, 50).toFixed(2)}, max ${Math.max(...s.loads).toFixed(2)}`,
    `gapguard ${s.gapguardImage}; no-op ${s.noopImage}`,
    '',
    '| webhooks | Pods | create p50 ms | create p99 ms | create→Running p50 ms | p99 ms | p50 vs none | p99 vs none | API startedAt−created p50 (1 s res.) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...CONFIGS.map((c) => {
      const x = stats[c];
      return `| ${c} | ${x.pods} | ${x.createP50.toFixed(1)} | ${x.createP99.toFixed(1)} | ${x.startupP50.toFixed(0)} | ${x.startupP99.toFixed(0)} | ${(x.startupP50 / none.startupP50).toFixed(3)}x | ${(x.startupP99 / none.startupP99).toFixed(3)}x | ${x.serverP50.toFixed(0)} s |`;
    }),
    '',
    'create→Running p50 of each round, ms (round order rotates):',
    ...CONFIGS.map((c) => `  ${c}: ${perRound(c).map((v) => v.toFixed(0)).join(', ')}`),
    `enforce / none, p50 of the same round: ${perRound('enforce').map((v, i) => (v / perRound('none')[i]!).toFixed(3)).join(', ')}`,
    '',
    `enforce startup p50 vs none: ${verdict(enforce.startupP50 / none.startupP50, 1.05)}`,
    `enforce startup p99 vs none: ${verdict(enforce.startupP99 / none.startupP99, 1.05)}`,
    `enforce create p50 vs no-op: ${verdict(enforce.createP50 / noop.createP50, 1.1)}; p99: ${(enforce.createP99 / noop.createP99).toFixed(3)}x`,
    '',
    `| webhooks | CPU ms per Pod: ${components.join(' | ')} | total |`,
    `|---|${components.map(() => '---:|').join('')}---:|`,
    ...CONFIGS.map((c) => {
      const perPod = components.map((k) => (s.cpu[c][k] ?? 0) / stats[c].pods);
      return `| ${c} | ${perPod.map((v) => v.toFixed(1)).join(' | ')} | ${perPod.reduce((a, b) => a + b, 0).toFixed(1)} |`;
    }),
    '',
    'Webhook calls the kube-apiserver made (its admission_webhook_admission_duration_seconds), per configuration: name count × mean ms',
    ...CONFIGS.map((c) => `  ${c}: ${Object.entries(s.webhooks[c]).filter(([n]) => n !== POD_CREATES && n !== POD_CREATES_WITHOUT_WEBHOOKS).map(([n, w]) => `${n} ${w.count} × ${((w.seconds / w.count) * 1000).toFixed(1)} ms`).join(', ') || '(none)'}`),
    "The Pod creates, mean ms: the bench's round trip; the kube-apiserver's request (apiserver_request_duration_seconds) and that request without its webhook calls (apiserver_request_sli_duration_seconds)",
    ...CONFIGS.map((c) => {
      const mean = (w: { count: number; seconds: number } | undefined) => (w && w.count ? ((w.seconds / w.count) * 1000).toFixed(2) : '?');
      const client = of(c).map((p) => p.createMs);
      return `  ${c}: round trip ${(client.reduce((a, b) => a + b, 0) / client.length).toFixed(2)}; request ${mean(s.webhooks[c][POD_CREATES])}; without webhook calls ${mean(s.webhooks[c][POD_CREATES_WITHOUT_WEBHOOKS])}`;
    }),
    "gapguard's side, both replicas: its request histogram by endpoint (server time, count × mean ms) and its TLS handshakes (the kubelet's probes and these reads of /metrics included: the none row is that floor)",
    ...CONFIGS.map((c) => {
      const x = s.server[c];
      const calls = Object.entries(x.calls).map(([n, w]) => `${n} ${w.count} × ${((w.seconds / w.count) * 1000).toFixed(2)} ms`).join(', ') || '(no call)';
      return `  ${c}: ${calls}; ${x.handshakes} handshakes in ${x.seconds.toFixed(0)} s (${(x.handshakes / x.seconds).toFixed(2)}/s)`;
    }),
    `gapguard's admission counters: ${s.decisions.join('; ')}`,
    `total ${s.seconds.toFixed(0)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = join(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `startup-${stamp}.txt`), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, `startup-${stamp}.json`), JSON.stringify({ rounds: ROUNDS, podsPerRound: PODS, rate: RATE, warmup: WARMUP, stats, cpu: s.cpu, webhooks: s.webhooks, server: s.server, loads: s.loads, loadAtStart: s.loadAtStart, pods }, null, 1));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}: tearing down the cluster\n`);
    tearDownNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .then(() => tearDown())
  .catch((down: Error) => {
    process.stderr.write(`bench: teardown: ${down.message}\n`);
    process.exitCode = 1;
  });
