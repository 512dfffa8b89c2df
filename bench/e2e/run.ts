// End-to-end admission cost: the same clean Pods created through a real kube-apiserver with no
// webhook, with two no-op webhooks that allow everything, called where gapguard's enforce mode is
// (a bare node:https server echoing the uid: the floor any webhook pays for those two calls; an
// Express server with express.json: the way webhooks are usually written), and with gapguard in
// audit mode and in enforce mode, interleaved in rounds so that drift of the machine (etcd growing, caches
// warming) falls on all alike. Uses the e2e suite's setup: the local control plane, `gapguard
// serve` out of cluster, the chart installed with helm.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../../e2e/support/api.js';
import { freePort, sleep } from '../../e2e/support/gapguard.js';
import { createNamespace } from '../../e2e/support/kube.js';
import { pod } from '../../e2e/support/objects.js';
import { chartDir, repoRoot } from '../../e2e/support/paths.js';
import { applyRelease, env, helm, kubectl, processGapguard, RELEASE, RELEASE_NAMESPACE, setUp, tearDown, tearDownNow } from '../../e2e/support/suite.js';

const PODS = Number(process.env.PODS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 100);

const NOOPS = ['no-op https', 'no-op express'] as const;
type Noop = (typeof NOOPS)[number];
type Mode = 'none' | Noop | 'audit' | 'enforce';
const MODES: Mode[] = ['none', ...NOOPS, 'audit', 'enforce'];
/** Where the webhook configurations point in each mode; `none` has no chart installed. */
type Target = 'none' | Noop | 'gapguard';
const TARGET: Record<Mode, Target> = { none: 'none', 'no-op https': 'no-op https', 'no-op express': 'no-op express', audit: 'gapguard', enforce: 'gapguard' };
const NOOP_KIND: Record<Noop, string> = { 'no-op https': 'https-uid', 'no-op express': 'express' };

/** Creates `count` Pods, `concurrency` at a time; the latency of each create in ms. */
async function createPods(client: ApiClient, namespace: string, count: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const manifest = pod('bench');
        manifest.metadata = { generateName: 'bench-', labels: { app: 'bench' } };
        const started = performance.now();
        const r = await client.send('POST', `/api/v1/namespaces/${namespace}/pods`, manifest);
        latencies.push(performance.now() - started);
        // Every Pod passes the default policy: anything but 201 is a broken run, not a data point.
        if (r.status !== 201) throw new Error(`${namespace}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
      }
    }),
  );
  return latencies;
}

/** CPU time (user + system) a process has used, in ms; clock ticks are 10 ms on Linux. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function chartInstalled(): Promise<boolean> {
  return (await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE])).code === 0;
}

let target: Target = 'none';

/** Installs, repoints or uninstalls the chart so the webhooks go where `wanted` says. */
async function setTarget(wanted: Target, noopUrls: Record<Noop, string>): Promise<void> {
  if (wanted === target) return;
  if (wanted === 'none') {
    const r = await helm(['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    if (r.code !== 0) throw new Error(`helm uninstall: ${r.stderr}`);
  } else {
    const g = processGapguard();
    if (!(await chartInstalled())) await applyRelease('install', g.chartValues(), ['--namespace', RELEASE_NAMESPACE, '--create-namespace']);
    const url = wanted === 'gapguard' ? g.webhookUrl : noopUrls[wanted];
    const r = await helm(['upgrade', RELEASE, chartDir, '-n', RELEASE_NAMESPACE, '--reuse-values', '--set', `webhook.url=${url}`]);
    if (r.code !== 0) throw new Error(`helm upgrade: ${r.stderr}`);
  }
  target = wanted;
  // The apiserver picks webhook configurations up through its informer; give it a moment.
  await sleep(1500);
}

async function main(): Promise<void> {
  const started = Date.now();
  // Out of the cluster: the bench compares the server's process with no-op ones beside it.
  await setUp({ auditLog: false, inCluster: false });
  const e = env();
  const g = processGapguard();
  // The no-op webhooks serve with gapguard's certificate, so the same CA bundle trusts them.
  const noopUrls = {} as Record<Noop, string>;
  const noopPids = {} as Record<Noop, number>;
  for (const noop of NOOPS) {
    const port = await freePort();
    const child = spawn(process.execPath, [join(repoRoot, 'dist/bench/webhook/noop-servers.js'), NOOP_KIND[noop], String(port), g.server.options.certFile, g.server.options.keyFile], { stdio: 'ignore' });
    const previous = stopNoops;
    stopNoops = () => {
      previous();
      child.kill();
    };
    noopUrls[noop] = `https://127.0.0.1:${port}`;
    noopPids[noop] = child.pid!;
  }
  target = (await chartInstalled()) ? 'gapguard' : 'none';
  const namespaces: Record<Mode, string> = {
    none: await createNamespace('bench-none'),
    'no-op https': await createNamespace('bench-noop-https', 'enforce'),
    'no-op express': await createNamespace('bench-noop-express', 'enforce'),
    audit: await createNamespace('bench-audit'),
    enforce: await createNamespace('bench-enforce', 'enforce'),
  };
  // A default-deny policy in each, so the Pods are clean for flat-network too and no answer carries warnings.
  for (const ns of Object.values(namespaces)) {
    const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const r = await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify(np));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const client = new ApiClient({ server: e.apiServer, caFile: e.apiServerCaFile, token: e.token, maxSockets: CONCURRENCY });
  const latencies = Object.fromEntries(MODES.map((m) => [m, []])) as unknown as Record<Mode, number[]>;
  const wall = Object.fromEntries(MODES.map((m) => [m, 0])) as Record<Mode, number>;
  // Where the CPU goes, per Pod: on a small machine every process here competes for the same cores.
  const pidOf = (name: string): number => Number(readFileSync(join(e.workdir, 'cluster', `${name}.pid`), 'utf8'));
  const processes: Record<string, number> = { 'kube-apiserver': pidOf('kube-apiserver'), etcd: pidOf('etcd'), gapguard: g.server.pid!, ...noopPids, 'load generator': process.pid };
  const cpu = Object.fromEntries(MODES.map((m) => [m, {}])) as Record<Mode, Record<string, number>>;
  const perRound = Math.ceil(PODS / ROUNDS);

  for (const mode of MODES) {
    await setTarget(TARGET[mode], noopUrls);
    await createPods(client, namespaces[mode], WARMUP, CONCURRENCY);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      await setTarget(TARGET[mode], noopUrls);
      const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)]));
      const t0 = performance.now();
      latencies[mode].push(...(await createPods(client, namespaces[mode], perRound, CONCURRENCY)));
      wall[mode] += performance.now() - t0;
      for (const [name, pid] of Object.entries(processes)) cpu[mode][name] = (cpu[mode][name] ?? 0) + cpuMs(pid) - cpuBefore[name]!;
    }
    process.stderr.write(`bench: round ${round}/${ROUNDS} done\n`);
  }
  client.close();
  // Proof that the webhook was in the path: the server's request counters by decision.
  const metrics = await fetchMetrics();

  const rows = MODES.map((mode) => {
    const sorted = [...latencies[mode]].sort((a, b) => a - b);
    return { mode, pods: sorted.length, median: percentile(sorted, 50), p99: percentile(sorted, 99), perSecond: (sorted.length / wall[mode]) * 1000 };
  });
  const base = rows[0]!;
  const lines = [
    `Pods per mode: ${PODS} (${ROUNDS} interleaved rounds of ${perRound}, ${WARMUP} warm-up each), ${CONCURRENCY} in parallel; ${cpus().length} cores, Node ${process.version}`,
    '',
    '| webhooks | pods | median ms | p99 ms | pods/s | median vs none | p99 vs none |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.mode} | ${r.pods} | ${r.median.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.perSecond.toFixed(0)} | ${(r.median / base.median).toFixed(3)}x | ${(r.p99 / base.p99).toFixed(3)}x |`),
    '',
    '| webhooks | CPU ms per Pod: ' + Object.keys(processes).join(' | ') + ' | total |',
    '|---|' + Object.keys(processes).map(() => '---:|').join('') + '---:|',
    ...MODES.map((mode) => {
      const perPod = Object.keys(processes).map((name) => (cpu[mode][name] ?? 0) / latencies[mode].length);
      return `| ${mode} | ${perPod.map((v) => v.toFixed(2)).join(' | ')} | ${perPod.reduce((a, b) => a + b, 0).toFixed(2)} |`;
    }),
    '',
    `gapguard admission requests by endpoint and decision: ${metrics}`,
    `total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = join(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `e2e-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ pods: PODS, concurrency: CONCURRENCY, rounds: ROUNDS, rows, cpu, latencies }, null, 1));
}

async function fetchMetrics(): Promise<string> {
  const g = processGapguard();
  const { request } = await import('node:https');
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: g.server.options.port, path: '/metrics', ca: g.caPem }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  return text
    .split('\n')
    .filter((l) => l.startsWith('gapguard_admission_requests_total{'))
    .map((l) => l.replace('gapguard_admission_requests_total', ''))
    .join(', ');
}

let stopNoops = (): void => {};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopNoops();
    tearDownNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
main()
  .then(() => {
    stopNoops();
    return tearDown();
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    stopNoops();
    await tearDown();
    process.exitCode = 1;
  });
