// The background audit's figures (bench/README.md, "Background audit"), on the e2e suite's real
// kube-apiserver and controller-manager:
// 1. OBJECTS Pods (default 5,000) in 10 namespaces, created with server-side apply (kubectl apply
//    --server-side; nothing runs them: no kubelet). Bytes per Pod held: the Pods listed from the
//    API server as the reflector lists them (cluster/reflector.ts), kept whole and kept trimmed
//    (cluster/trim.ts), heap measured after a forced GC (node --expose-gc).
// 2. Time to a full report: `serve --background-audit --reports wgpolicyk8s` started, until every
//    namespace's PolicyReport counts every Pod; and the resident memory of that server against one
//    without the audit.
// 3. Admission p99 of POST /validate (the webhook benchmark's 8 KB review, CONCURRENCY at a time)
//    on both servers, interleaved rounds, while Pods are relabelled CHURN times a second so the
//    audit keeps judging; beside it, the longest event-loop delay of each server during the round
//    (perf_hooks monitorEventLoopDelay, read from the server's own nodejs_eventloop_lag_max_seconds,
//    which prom-client resets at every scrape: one scrape before the round, one after).
// The servers' heap (used and total) and resident memory come from their /metrics too.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:https';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import { LISTED } from '../../src/cluster/read.js';
import { listPages } from '../../src/cluster/reflector.js';
import { trimObject } from '../../src/cluster/trim.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { freePort, GapguardServer, sleep } from '../../e2e/support/gapguard.js';
import { https } from '../../e2e/support/https-get.js';
import { createNamespace, eventually } from '../../e2e/support/kube.js';
import { pod } from '../../e2e/support/objects.js';
import { chartDir, repoRoot } from '../../e2e/support/paths.js';
import { env, helm, kubectl, processGapguard, setUp, tearDown, tearDownNow } from '../../e2e/support/suite.js';

const OBJECTS = Number(process.env.OBJECTS ?? 5000);
const NAMESPACES = 10;
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CHURN = Number(process.env.CHURN ?? 10);

const gc = (globalThis as { gc?: () => void }).gc;
/** The bench's own servers, stopped on every exit (the suite's teardown knows only its own). */
const started: GapguardServer[] = [];

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** One unlabelled sample of a server's /metrics. */
async function metric(server: GapguardServer, ca: string, name: string): Promise<number> {
  const { body } = await https({ host: '127.0.0.1', port: server.options.port }, '/metrics', ca);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

const MiB = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

async function createPods(namespaces: string[]): Promise<void> {
  const perNamespace = Math.ceil(OBJECTS / namespaces.length);
  for (const ns of namespaces) {
    for (let start = 0; start < perNamespace; start += 500) {
      const items = [];
      for (let i = start; i < Math.min(start + 500, perNamespace); i++) {
        const p = pod(`bench-${i}`);
        (p.spec as { containers: Record<string, unknown>[] }).containers[0]!.readinessProbe = { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 5 };
        items.push({ ...p, metadata: { ...(p.metadata as object), namespace: ns, annotations: { 'example.com/owner': 'team-bench' } } });
      }
      await ok(['apply', '--server-side', '--field-manager=bench', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    }
  }
}

/** Bytes per Pod held whole and trimmed, listed exactly as the reflector lists them. */
async function bytesPerPod(kubeconfig: string): Promise<{ pods: number; whole: number; trimmed: number; jsonWhole: number; jsonTrimmed: number }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const listed = LISTED.find((l) => l.kind === 'Pod')!;
  const measure = async (keep: (o: KubeObject) => KubeObject): Promise<{ perPod: number; json: number; count: number }> => {
    const held = new Map<string, KubeObject>();
    const before = heapAfterGc();
    await listPages(kc, listed, (o) => held.set(`${String(o.metadata?.namespace)}/${String(o.metadata?.name)}`, keep(o)));
    const after = heapAfterGc();
    const json = [...held.values()].reduce((n, o) => n + Buffer.byteLength(JSON.stringify(o)), 0);
    return { perPod: (after - before) / held.size, json: json / held.size, count: held.size };
  };
  const whole = await measure((o) => o);
  const trimmed = await measure((o) => trimObject(o, 'Pod', 'v1'));
  return { pods: trimmed.count, whole: whole.perPod, trimmed: trimmed.perPod, jsonWhole: whole.json, jsonTrimmed: trimmed.json };
}

function post(port: number, ca: string, body: Buffer, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function load(port: number, ca: string, body: Buffer): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) latencies.push(await post(port, ca, body, agent));
    }),
  );
  agent.destroy();
  return latencies;
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc');
  // Out of the cluster: the bench runs servers with and without the audit as processes beside it.
  await setUp({ auditLog: false, inCluster: false });
  const e = env();
  const g = processGapguard();
  const out: string[] = [];
  const say = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
    out.push(line);
  };
  say(`load average at the start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const namespaces: string[] = [];
  for (let i = 0; i < NAMESPACES; i++) namespaces.push(await createNamespace(`bench-audit-${i}`, 'audit'));
  let begun = performance.now();
  await createPods(namespaces);
  say(`${OBJECTS} Pods applied server-side in ${NAMESPACES} namespaces in ${((performance.now() - begun) / 1000).toFixed(1)} s`);

  const b = await bytesPerPod(e.kubeconfig);
  say(`bytes per Pod held (heap after GC, ${b.pods} Pods): whole ${Math.round(b.whole)}, trimmed ${Math.round(b.trimmed)} (${(b.whole / b.trimmed).toFixed(1)}x less); JSON whole ${Math.round(b.jsonWhole)}, trimmed ${Math.round(b.jsonTrimmed)}`);
  say(`heap per 1,000 Pods held by the audit: ${((b.trimmed * 1000) / 1024 / 1024).toFixed(2)} MiB (whole objects: ${((b.whole * 1000) / 1024 / 1024).toFixed(2)} MiB)`);

  const crds = await helm(['template', 'bench', chartDir, '--set', 'backgroundAudit.enabled=true', '--show-only', 'templates/report-crds.yaml']);
  await ok(['apply', '-f', '-'], crds.stdout);
  await ok(['wait', '--for=condition=established', 'crd/policyreports.wgpolicyk8s.io', 'crd/clusterpolicyreports.wgpolicyk8s.io']);
  const servers: Record<'without' | 'with', GapguardServer> = {
    without: new GapguardServer({ ...g.server.options, port: await freePort(), logFile: join(e.workdir, 'bench-without.log') }),
    with: new GapguardServer({ ...g.server.options, port: await freePort(), logFile: join(e.workdir, 'bench-with.log'), extraArgs: ['--background-audit', '--reports', 'wgpolicyk8s'] }),
  };
  started.push(servers.without, servers.with);
  await servers.without.start(g.caPem);
  begun = performance.now();
  await servers.with.start(g.caPem);
  const perNamespace = Math.ceil(OBJECTS / NAMESPACES);
  await eventually(
    'every namespace report counting every Pod',
    async () => {
      // Every Pod counts once in its namespace's summary, whatever its result (the bench Pods warn
      // under the default policy's writable-root-fs rule).
      const r = await kubectl(['get', 'policyreports.wgpolicyk8s.io', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace} {.summary.pass} {.summary.warn} {.summary.fail}{"\\n"}{end}']);
      const counts = new Map(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => {
            const [ns, ...n] = l.split(' ');
            return [ns, n.reduce((sum, x) => sum + (Number(x) || 0), 0)] as [string, number];
          }),
      );
      return namespaces.every((ns) => counts.get(ns) === perNamespace) ? true : undefined;
    },
    300_000,
    200,
  );
  const fullReport = (performance.now() - begun) / 1000;
  const firstRun = /"background audit: first run done".*?"ms":(\d+)/.exec(readFileSync(servers.with.options.logFile, 'utf8'));
  say(`time to a full report after start (${OBJECTS} Pods + the suite's objects): ${fullReport.toFixed(1)} s (process start to every PolicyReport written; the first audit run itself: ${firstRun?.[1] ?? '?'} ms)`);
  await sleep(2000);
  const rss = { without: rssKiB(servers.without.pid!), with: rssKiB(servers.with.pid!) };
  say(`resident memory: without the audit ${(rss.without / 1024).toFixed(0)} MiB, with it ${(rss.with / 1024).toFixed(0)} MiB (+${((rss.with - rss.without) / 1024).toFixed(0)} MiB, ${((rss.with - rss.without) / 1024 / (OBJECTS / 1000)).toFixed(1)} MiB per 1,000 Pods, runtime and caches included)`);
  for (const which of ['without', 'with'] as const) {
    const m = async (name: string) => MiB(await metric(servers[which], g.caPem, name));
    say(`${which} the audit: heap used ${await m('nodejs_heap_size_used_bytes')} MiB of ${await m('nodejs_heap_size_total_bytes')} MiB, external ${await m('nodejs_external_memory_bytes')} MiB, resident ${await m('process_resident_memory_bytes')} MiB`);
  }

  const reviewFile = join(e.workdir, 'review.json');
  spawnSync(process.execPath, [join(repoRoot, 'dist/bench/webhook/pod-review.js'), reviewFile]);
  const body = readFileSync(reviewFile);
  let churning = true;
  const churn = (async () => {
    let i = 0;
    while (churning) {
      const ns = namespaces[i % NAMESPACES]!;
      await kubectl(['-n', ns, 'label', 'pod', `bench-${i % perNamespace}`, `churn=${i}`, '--overwrite']);
      i++;
      await sleep(1000 / CHURN);
    }
  })();
  const p99: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const p50: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const loopMax: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const LAG = 'nodejs_eventloop_lag_max_seconds';
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of ['without', 'with'] as const) {
      await metric(servers[which], g.caPem, LAG);
      const l = await load(servers[which].options.port, g.caPem, body);
      const lag = (await metric(servers[which], g.caPem, LAG)) * 1000;
      p99[which].push(percentile(l, 99));
      p50[which].push(percentile(l, 50));
      loopMax[which].push(lag);
      say(`round ${round + 1}, ${which} the audit: p50 ${percentile(l, 50).toFixed(2)} ms, p99 ${percentile(l, 99).toFixed(2)} ms, longest event-loop delay ${lag.toFixed(1)} ms`);
    }
  }
  churning = false;
  await churn;
  say(
    `admission POST /validate, ${REQUESTS} requests x ${ROUNDS} rounds, ${CONCURRENCY} at a time, ${CHURN} Pod changes/s: p99 median without ${median(p99.without).toFixed(2)} ms, with ${median(p99.with).toFixed(2)} ms (${(median(p99.with) / median(p99.without)).toFixed(2)}x); p50 ${median(p50.without).toFixed(2)} / ${median(p50.with).toFixed(2)} ms; longest event-loop delay (median of rounds) ${median(loopMax.without).toFixed(1)} / ${median(loopMax.with).toFixed(1)} ms`,
  );
  say(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const s of Object.values(servers)) await s.stop();
  const dir = join(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`), out.join('\n') + '\n');
}

process.once('SIGINT', () => {
  for (const s of started) s.killNow();
  tearDownNow();
  process.exit(130);
});
main()
  .then(() => tearDown())
  .catch(async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    for (const s of started) await s.stop();
    await tearDown();
    process.exitCode = 1;
  });
