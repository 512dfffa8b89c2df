// Drives the webhook benchmark (bench/webhook/run.sh installs wrk and builds first). Four servers
// answer the same 8 KB Pod AdmissionReview over HTTPS keep-alive with 50 connections: gapguard's
// /validate on the default policy, a no-op node:https server that parses the body with JSON.parse
// (the floor of any Node webhook), one that does not even parse it (TLS and HTTP alone), and a
// no-op Express server with express.json. Runs are interleaved (gapguard, https+JSON, https,
// express, gapguard, ...) so that drift of the machine hits all alike; the report gives medians and
// ratios. Then gapguard alone under the
// same load for the soak, its resident memory sampled every 10 s.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCertificate } from '../../src/server/self-signed.js';
import { gapguardBin } from '../bin.js';
import { startServer, toMs, wrk as runWrk, type WrkResult } from './wrk.js';

const RUNS = Number(process.env.RUNS ?? 3);
const RUN_SECONDS = Number(process.env.RUN_SECONDS ?? 20);
const WARMUP_SECONDS = 5;
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const RSS_SAMPLE_SECONDS = 10;
const CONNECTIONS = 50;
const THREADS = 2;
const wrk = (port: number, seconds: number): WrkResult => runWrk({ port, seconds, threads: THREADS, connections: CONNECTIONS, reviewFile, root });

const root = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'gapguard-bench-'));
const reviewFile = join(work, 'review.json');

interface Target {
  name: string;
  port: number;
  command: string[];
  process?: ChildProcess;
}

function rssMiB(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return Math.round((kb / 1024) * 10) / 10;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(n: number, digits = 0): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  spawnSync(process.execPath, [join(root, 'dist/bench/webhook/pod-review.js'), reviewFile]);
  const certs = await ensureSelfSignedCertificate(join(work, 'certs'));
  const tlsArgs = [certs.certFile, certs.keyFile];
  const targets: Target[] = [
    { name: 'gapguard /validate', port: 18471, command: [gapguardBin(root), 'serve', '--port', '18471', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--no-cluster'] },
    { name: 'no-op node:https + JSON.parse', port: 18474, command: [join(root, 'dist/bench/webhook/noop-servers.js'), 'https-json', '18474', ...tlsArgs] },
    { name: 'no-op node:https', port: 18472, command: [join(root, 'dist/bench/webhook/noop-servers.js'), 'https', '18472', ...tlsArgs] },
    { name: 'no-op Express + express.json', port: 18473, command: [join(root, 'dist/bench/webhook/noop-servers.js'), 'express', '18473', ...tlsArgs] },
  ];
  const ca = readFileSync(certs.caFile);
  const body = readFileSync(reviewFile);
  try {
    for (const target of targets) {
      // gapguard writes its info log line per request with findings, as in a cluster, to /dev/null.
      target.process = await startServer(target.name, target.port, target.command, ca, body);
    }
    const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const target of targets) {
        wrk(target.port, WARMUP_SECONDS);
        const result = wrk(target.port, RUN_SECONDS);
        results.get(target.name)!.push(result);
        process.stderr.write(`run ${run} ${target.name}: ${round(result.rps)} req/s, p50 ${round(result.p50ms, 2)} ms, p99 ${round(result.p99ms, 2)} ms, errors ${result.errors}\n`);
      }
    }
    const med = (name: string, key: keyof WrkResult) => median(results.get(name)!.map((r) => r[key]));
    const [gapguard, httpsJson, https, express] = targets.map((t) => t.name) as [string, string, string, string];
    const lines = [
      `Machine: ${spawnSync('nproc').stdout.toString().trim()} cores, Node ${process.version}; wrk -t${THREADS} -c${CONNECTIONS}, ${RUN_SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, ${RUNS} runs interleaved; request body ${body.length} bytes.`,
      '',
      '| server | req/s (median) | p50 ms | p99 ms | errors | req/s of each run |',
      '|---|---:|---:|---:|---:|---|',
      ...targets.map((t) => {
        const runs = results.get(t.name)!;
        return `| ${t.name} | ${round(med(t.name, 'rps'))} | ${round(med(t.name, 'p50ms'), 2)} | ${round(med(t.name, 'p99ms'), 2)} | ${runs.reduce((a, r) => a + r.errors, 0)} | ${runs.map((r) => round(r.rps)).join(', ')} |`;
      }),
      '',
      `gapguard / no-op node:https + JSON.parse (the floor): **${round(med(gapguard, 'rps') / med(httpsJson, 'rps'), 2)}x** (target >= 0.6); gapguard / no-op Express: **${round(med(gapguard, 'rps') / med(express, 'rps'), 2)}x** (keep >= 1.3); gapguard / no-op node:https without a parse: ${round(med(gapguard, 'rps') / med(https, 'rps'), 2)}x; gapguard p99: **${round(med(gapguard, 'p99ms'), 2)} ms** (target <= 10).`,
    ];
    for (const target of targets.slice(1)) target.process!.kill();

    const pid = targets[0]!.process!.pid!;
    const idle = rssMiB(pid);
    const samples: number[] = [];
    const soak = spawn('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${SOAK_SECONDS}s`, '--latency', '-s', join(root, 'bench/webhook/post.lua'), `https://127.0.0.1:${targets[0]!.port}/validate`], {
      env: { ...process.env, REVIEW_FILE: reviewFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let soakOut = '';
    soak.stdout!.on('data', (c: Buffer) => (soakOut += c.toString()));
    const sampler = setInterval(() => samples.push(rssMiB(pid)), RSS_SAMPLE_SECONDS * 1000);
    await new Promise((resolve) => soak.on('exit', resolve));
    clearInterval(sampler);
    samples.push(rssMiB(pid));
    const soakRps = Number(/Requests\/sec:\s+([\d.]+)/.exec(soakOut)?.[1] ?? NaN);
    const soakP99 = toMs(/^\s+99%\s+(\S+)$/m.exec(soakOut)?.[1] ?? '0ms');
    lines.push(
      '',
      `Soak: gapguard alone, ${SOAK_SECONDS} s at the same load (${round(soakRps)} req/s, p99 ${round(soakP99, 2)} ms). Resident memory, idle before the soak: ${idle} MiB; under load, sampled every ${RSS_SAMPLE_SECONDS} s: start ${samples[0]} MiB, end ${samples[samples.length - 1]} MiB, max ${Math.max(...samples)} MiB, min ${Math.min(...samples)} MiB.`,
      '',
      `RSS samples (MiB): ${samples.join(', ')}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const target of targets) target.process?.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
