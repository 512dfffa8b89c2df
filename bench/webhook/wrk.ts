// wrk against a webhook's /validate with the benchmark's review (bench/webhook/post.lua), read back
// as requests per second, p50, p99 and errors, and the start of a server on a port nothing else holds. Shared by the
// webhook and signature benchmarks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
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

function post(port: number, ca: Buffer, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method: 'POST', path: '/validate', ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Fails when something already listens on the port: that, not the server about to start, would be measured. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`port ${port} is taken (${err.code}): stop what listens there, or the bench would measure it`)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/**
 * Starts a server (a Node.js script and its arguments) on a free port and waits (10 s at most)
 * until it answers the review with HTTP 200; fails if it exits first.
 */
export async function startServer(name: string, port: number, args: string[], ca: Buffer, body: Buffer): Promise<ChildProcess> {
  await assertPortFree(port);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it answered on port ${port}`);
    try {
      if ((await post(port, ca, body)) === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${name} did not answer on port ${port}`);
}
