// The worst case under the policy's review limits (bench/webhook/run.sh worst-case):
// 1. in process, the time one worst review takes (parse, judge, answer), wall and CPU, for
//    /validate and /mutate, and for a review past the limits (50,000 containers);
// 2. a `gapguard serve` process answering worst reviews back to back: its latency, and its peak
//    resident memory (VmHWM), which the chart's memory limit is sized from;
// 3. the normal 8 KB review under wrk's load (as in run.ts) alone, then while one client sends
//    worst reviews back to back: throughput and p99 of the normal reviews, interleaved runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admit, type Endpoint } from '../../src/admission/admit.js';
import { parseReview } from '../../src/admission/review.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { ensureSelfSignedCertificate } from '../../src/server/self-signed.js';
import { overLimitReview, worstReview } from './worst-review.js';

const RUNS = Number(process.env.RUNS ?? 3);
const RUN_SECONDS = Number(process.env.RUN_SECONDS ?? 20);
const IN_PROCESS_SAMPLES = 15;
const SERVER_SAMPLES = 40;
// run.ts uses 18471 to 18474.
const PORT = 18479;

const root = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'gapguard-bench-worst-'));
const reviewFile = join(work, 'review.json');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
const fmt = (n: number, digits = 1) => n.toFixed(digits);

function inProcess(endpoint: Endpoint, body: string): { wall: number[]; cpu: number[]; answerBytes: number } {
  const policy = defaultPolicy();
  const sources = { policy, namespaceMode: () => undefined, namespacesKnown: () => true, networkPolicies: () => undefined };
  const wall: number[] = [];
  const cpu: number[] = [];
  let answerBytes = 0;
  for (let i = 0; i < IN_PROCESS_SAMPLES + 3; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = admit(endpoint, parseReview(body), sources, { route: undefined, now: new Date() });
    answerBytes = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: outcome.response }).length;
    const elapsed = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    if (i < 3) continue; // warm-up
    wall.push(elapsed);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall, cpu, answerBytes };
}

function post(agent: Agent, ca: Buffer, path: string, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port: PORT, method: 'POST', path, ca, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return Math.round((kb / 1024) * 10) / 10;
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
}

function wrk(seconds: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const child = spawn('wrk', ['-t2', '-c50', `-d${seconds}s`, '--latency', '-s', join(root, 'bench/webhook/post.lua'), `https://127.0.0.1:${PORT}/validate`], {
    env: { ...process.env, REVIEW_FILE: reviewFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) =>
    child.on('exit', () => {
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
        p50: toMs(/^\s+50%\s+(\S+)$/m.exec(out)![1]!),
        p99: toMs(/^\s+99%\s+(\S+)$/m.exec(out)![1]!),
        errors: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
      });
    }),
  );
}

async function main(): Promise<void> {
  const worst = worstReview();
  const over = overLimitReview();
  const lines: string[] = [`Machine: ${spawnSync('nproc').stdout.toString().trim()} cores, Node ${process.version}. Worst review ${worst.length} bytes; past-the-limits review ${over.length} bytes.`, ''];

  lines.push('In process (parse, judge, answer), median and max of ' + IN_PROCESS_SAMPLES + ' after 3 warm-ups:', '', '| review | wall ms median | wall ms max | CPU ms median | answer bytes |', '|---|---:|---:|---:|---:|');
  for (const [name, endpoint, body] of [
    ['worst UPDATE, /validate', 'validate', worst],
    ['worst UPDATE, /mutate', 'mutate', worst],
    ['50,000 containers, /validate', 'validate', over],
  ] as const) {
    const r = inProcess(endpoint, body);
    lines.push(`| ${name} | ${fmt(median(r.wall))} | ${fmt(Math.max(...r.wall))} | ${fmt(median(r.cpu))} | ${r.answerBytes} |`);
  }

  spawnSync(process.execPath, [join(root, 'dist/bench/webhook/pod-review.js'), reviewFile]);
  const normal = readFileSync(reviewFile, 'utf8');
  const certs = await ensureSelfSignedCertificate(join(work, 'certs'));
  const ca = readFileSync(certs.caFile);
  let server: ChildProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    server = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--port', String(PORT), '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--no-cluster'], { stdio: ['ignore', 'ignore', 'ignore'] });
    const pid = server.pid!;
    for (let attempt = 0; ; attempt++) {
      try {
        const status = (await post(agent, ca, '/validate', normal)).status;
        if (status === 200) break;
        throw new Error(`gapguard answered ${status}`);
      } catch (err) {
        if (attempt > 300) throw new Error(`gapguard did not start: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const idle = procStatus(pid, 'VmRSS');
    const latencies: number[] = [];
    for (let i = 0; i < SERVER_SAMPLES; i++) {
      const r = await post(agent, ca, i % 2 ? '/mutate' : '/validate', worst);
      if (r.status !== 200) throw new Error(`worst review answered ${r.status}`);
      latencies.push(r.ms);
      await post(agent, ca, '/validate', over);
    }
    lines.push(
      '',
      `gapguard serve, ${SERVER_SAMPLES} worst reviews back to back over HTTPS (alternately /validate and /mutate, each followed by a 50,000-container review): latency median ${fmt(median(latencies))} ms, max ${fmt(Math.max(...latencies))} ms. Resident memory idle ${idle} MiB, peak (VmHWM) ${procStatus(pid, 'VmHWM')} MiB.`,
    );

    const alone: Awaited<ReturnType<typeof wrk>>[] = [];
    const attacked: Awaited<ReturnType<typeof wrk>>[] = [];
    const hostile: number[] = [];
    await wrk(5); // warm-up
    for (let run = 1; run <= RUNS; run++) {
      alone.push(await wrk(RUN_SECONDS));
      let attacking = true;
      const attacker = (async () => {
        while (attacking) hostile.push((await post(agent, ca, '/validate', worst)).ms);
      })();
      attacked.push(await wrk(RUN_SECONDS));
      attacking = false;
      await attacker;
      process.stderr.write(`run ${run}: alone ${fmt(alone.at(-1)!.rps, 0)} req/s p99 ${fmt(alone.at(-1)!.p99, 2)} ms; with a worst-review client ${fmt(attacked.at(-1)!.rps, 0)} req/s p99 ${fmt(attacked.at(-1)!.p99, 2)} ms\n`);
    }
    const row = (name: string, rs: typeof alone) =>
      `| ${name} | ${fmt(median(rs.map((r) => r.rps)), 0)} | ${fmt(median(rs.map((r) => r.p50)), 2)} | ${fmt(median(rs.map((r) => r.p99)), 2)} | ${rs.reduce((a, r) => a + r.errors, 0)} | ${rs.map((r) => fmt(r.p99, 2)).join(', ')} |`;
    lines.push(
      '',
      `Normal 8 KB reviews, wrk -t2 -c50 on /validate, ${RUN_SECONDS} s per run, ${RUNS} runs interleaved:`,
      '',
      '| load | req/s (median) | p50 ms | p99 ms | errors | p99 of each run |',
      '|---|---:|---:|---:|---:|---|',
      row('normal reviews alone', alone),
      row('normal reviews + one client sending worst reviews back to back', attacked),
      '',
      `The worst-review client got ${hostile.length} answers, latency median ${fmt(median(hostile))} ms, max ${fmt(Math.max(...hostile))} ms. Peak resident memory after all of it: ${procStatus(pid, 'VmHWM')} MiB.`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    agent.destroy();
    server?.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
