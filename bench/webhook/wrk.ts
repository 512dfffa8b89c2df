// wrk against a webhook's /validate with the benchmark's review (bench/webhook/post.lua), read back
// as requests per second, p50, p99 and errors. Shared by the webhook and signature benchmarks.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

export interface WrkOptions {
  port: number;
  seconds: number;
  threads: number;
  connections: number;
  /** The AdmissionReview POSTed by every request. */
  reviewFile: string;
  /** Repository root (for post.lua). */
  root: string;
}

export function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
}

export function wrk(o: WrkOptions): WrkResult {
  const r = spawnSync('wrk', [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '-s', join(o.root, 'bench/webhook/post.lua'), `https://127.0.0.1:${o.port}/validate`], {
    encoding: 'utf8',
    env: { ...process.env, REVIEW_FILE: o.reviewFile },
  });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50ms: toMs(/^\s+50%\s+(\S+)$/m.exec(out)![1]!),
    p99ms: toMs(/^\s+99%\s+(\S+)$/m.exec(out)![1]!),
    errors: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}
