// The gapguard server as the kube-apiserver sees it: `gapguard serve` in a child process on
// 127.0.0.1, with a kubeconfig for its informers and certificate files it reloads on change.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';

export interface GapguardOptions {
  /** The CLI entry point (dist/src/cli/main.js of a build). */
  main: string;
  port: number;
  certFile: string;
  keyFile: string;
  kubeconfig: string;
  policyFile: string;
  logFile: string;
  /** More `serve` flags (registry lookups, the background audit's, say). */
  extraArgs?: string[];
  /** More environment (POD_NAME, the leader election identity). */
  env?: Record<string, string>;
}

export interface Readyz {
  status: number;
  body: { status?: string; cluster?: string; certificate?: { notAfter?: string } };
}

/** A port the kernel says is free now; the server keeps it across restarts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GET /readyz, trusting only the given CA (PEM). */
export function readyz(port: number, caPem: string): Promise<Readyz> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca: caPem, timeout: 2000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Readyz['body'] });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('readyz timed out')));
    req.on('error', reject);
    req.end();
  });
}

export class GapguardServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly options: GapguardOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server and waits until it is ready with its cluster caches synced. */
  async start(caPem: string): Promise<void> {
    if (this.child) throw new Error('gapguard is already running');
    const o = this.options;
    // Appended, so the log of every run of the server in this suite stays in one file.
    const log = openSync(o.logFile, 'a');
    const child = spawn(
      process.execPath,
      [o.main, 'serve', '--host', '127.0.0.1', '--port', String(o.port), '--tls-cert', o.certFile, '--tls-key', o.keyFile, '--kubeconfig', o.kubeconfig, '--policy', o.policyFile, '--log-level', 'info', ...(o.extraArgs ?? [])],
      { stdio: ['ignore', log, log], env: { ...process.env, ...o.env } },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    // The informers' first list is what makes namespace labels and NetworkPolicies known; before
    // it the server judges from the policy alone, so tests wait for "synced", not just for 200.
    const deadline = Date.now() + 30_000;
    let last = 'not started';
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`gapguard exited during startup; see ${o.logFile}:\n${tail(o.logFile)}`);
      try {
        const r = await readyz(o.port, caPem);
        if (r.status === 200 && r.body.cluster === 'synced') return;
        last = `${r.status} ${JSON.stringify(r.body)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`gapguard not ready after 30 s (last: ${last}); see ${o.logFile}`);
  }

  /** SIGTERM (the server drains and exits), SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** For the exit and signal handlers, which cannot wait for a drain. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  /** SIGKILL, as a node failure or an OOM kill would end it: no drain, no lease release. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  log(): string {
    return readFileSync(this.options.logFile, 'utf8');
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
