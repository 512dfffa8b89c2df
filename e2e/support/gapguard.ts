// The gapguard server out of the cluster (the development fast path, and the benches'): `gapguard
// serve` in a child process on 127.0.0.1, with a kubeconfig for its informers and certificate files
// it reloads on change; the chart's webhook configurations point at it by URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ServingPair } from './certs.js';
import { readyz } from './https-get.js';
import { eventually, kubeconfigWith } from './kube.js';
import { RELEASE, RELEASE_NAMESPACE } from './release.js';
import { applyRelease, expectCaBundle, helm, kubectl } from './suite.js';
import { DEFAULT_BUDGET_MS, sharedValues, type GapguardUnderTest, type Replica, type Settings } from './under-test.js';

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
        const r = await readyz({ host: '127.0.0.1', port: o.port }, caPem);
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

/** The policy the chart renders, read back from the ConfigMap helm wrote, into the server's file. */
async function writeChartPolicy(file: string): Promise<void> {
  const r = await kubectl(['-n', RELEASE_NAMESPACE, 'get', 'configmap', `${RELEASE}-policy`, '-o', 'jsonpath={.data.policy\\.yaml}']);
  if (r.code !== 0 || !r.stdout.trim()) throw new Error(`cannot read the chart's policy ConfigMap: ${r.stderr}`);
  writeFileSync(file, r.stdout);
}

/** Replaces the server's certificate files by rename, key first, as a mounted Secret update would. */
function swapFiles(from: ServingPair, to: ServingPair): void {
  for (const [src, dst] of [[from.keyFile, to.keyFile], [from.certFile, to.certFile]] as const) {
    copyFileSync(src, `${dst}.new`);
    renameSync(`${dst}.new`, dst);
  }
}

/** The chart with server.enabled=false and webhook.url, and `gapguard serve` as child processes. */
export class ProcessGapguard implements GapguardUnderTest {
  readonly where = 'process';
  readonly servingNames = ['IP:127.0.0.1'];
  readonly registryAddress = '127.0.0.1';
  /** The webhook's server first; with the background audit, a second replica beside it. */
  servers: GapguardServer[];
  private settings: Settings = {};
  private readonly dashboards = new Map<string, number>();
  /** What the webhook configurations trust. */
  private trusted: string;

  /** `base`: the server's options with the suite's settings; `dir`: where settings' files go. */
  constructor(private readonly base: GapguardOptions, public caPem: string, private readonly dir: string) {
    this.servers = [new GapguardServer(base)];
    this.trusted = caPem;
  }

  /** The server the webhooks call. */
  get server(): GapguardServer {
    return this.servers[0]!;
  }

  get webhookUrl(): string {
    return `https://127.0.0.1:${this.base.port}`;
  }

  keyPath(name: string, file: string): string {
    return join(this.dir, 'keys', name, file);
  }

  /** The chart's values files for the release: no server in the cluster, the webhooks at the URL. */
  chartValues(): Record<string, unknown>[] {
    return [{ server: { enabled: false }, webhook: { url: this.webhookUrl, caBundle: Buffer.from(this.trusted).toString('base64') } }, sharedValues(this.settings)];
  }

  /** Each replica's options: the flags the chart's Deployment renders for the settings. */
  private async replicaOptions(): Promise<GapguardOptions[]> {
    const lookups = this.settings.imageLookups;
    const args: string[] = [];
    if (lookups) {
      const caFile = join(this.dir, 'registry-ca.crt');
      writeFileSync(caFile, lookups.caPem);
      args.push('--resolve-images', '--image-lookup-budget', String(lookups.budgetMs ?? DEFAULT_BUDGET_MS), '--registry-ca', caFile);
    }
    if (!this.settings.backgroundAudit) return [{ ...this.base, extraArgs: args }];
    // As in the cluster: 2 replicas with the chart's ServiceAccount (its RBAC is what is granted).
    const token = await kubectl(['-n', RELEASE_NAMESPACE, 'create', 'token', RELEASE, '--duration=2h']);
    if (token.code !== 0) throw new Error(`cannot get a token of the chart's ServiceAccount: ${token.stderr}`);
    const kubeconfig = kubeconfigWith(this.dir, 'serviceaccount', { token: token.stdout.trim() });
    const options: GapguardOptions[] = [];
    for (const i of [0, 1]) {
      const name = `${RELEASE}-${i}`;
      if (!this.dashboards.has(name)) this.dashboards.set(name, await freePort());
      options.push({
        ...this.base,
        ...(i === 0 ? {} : { port: await freePort(), logFile: join(this.dir, `${name}.log`) }),
        kubeconfig,
        extraArgs: [
          ...args,
          '--background-audit',
          '--reports',
          'wgpolicyk8s',
          '--report-owner-clusterrole',
          RELEASE,
          '--leader-lease',
          `${RELEASE_NAMESPACE}/${RELEASE}`,
          '--dashboard-port',
          String(this.dashboards.get(name)),
          // As the chart renders it: the namespaces its webhooks leave out.
          `--excluded-namespaces=${['kube-system', RELEASE_NAMESPACE, ...(this.settings.excludedNamespaces ?? [])].join(',')}`,
        ],
        env: { POD_NAME: name },
      });
    }
    return options;
  }

  /** Restarted with the settings' flags and the policy the chart now renders. */
  private async restart(): Promise<void> {
    await this.stop();
    await writeChartPolicy(this.base.policyFile);
    this.servers = (await this.replicaOptions()).map((o) => new GapguardServer(o));
    await this.start();
  }

  async install(): Promise<void> {
    this.settings = {};
    await applyRelease('install', this.chartValues(), ['--namespace', RELEASE_NAMESPACE, '--create-namespace']);
    // Installed before the server starts, so that it runs the policy the chart renders.
    await this.restart();
  }

  async uninstall(): Promise<void> {
    const r = await helm(['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    if (r.code !== 0) throw new Error(`helm uninstall failed: ${r.stderr}`);
    await this.stop();
  }

  async installed(): Promise<boolean> {
    return (await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE])).code === 0;
  }

  async configure(settings: Settings = {}): Promise<void> {
    for (const [file, text] of Object.entries(settings.keys?.files ?? {})) {
      mkdirSync(join(this.dir, 'keys', settings.keys!.name), { recursive: true });
      writeFileSync(this.keyPath(settings.keys!.name, file), text);
    }
    this.settings = settings;
    await applyRelease('upgrade', this.chartValues(), ['--namespace', RELEASE_NAMESPACE]);
    await this.restart();
  }

  /** SIGTERM: each server drains and exits. */
  async stop(): Promise<void> {
    for (const s of this.servers) await s.stop();
  }

  async start(): Promise<void> {
    for (const s of this.servers) if (!s.running) await s.start(this.caPem);
  }

  private name(i: number): string {
    return this.servers[i]!.options.env?.POD_NAME ?? `${RELEASE}-${i}`;
  }

  async replicas(): Promise<Replica[]> {
    return this.servers.flatMap((s, i) => (s.running ? [{ name: this.name(i), target: { host: '127.0.0.1', port: s.options.port } }] : []));
  }

  async dashboard(replica: string): Promise<{ url: string; close(): void }> {
    const port = this.dashboards.get(replica);
    if (port === undefined) throw new Error(`no dashboard on ${replica}`);
    return { url: `http://127.0.0.1:${port}`, close: () => {} };
  }

  /** SIGKILL, as an OOM kill would end it. */
  async kill(replica: string): Promise<void> {
    await this.servers.find((_, i) => this.name(i) === replica)!.kill();
  }

  async instances(): Promise<string[]> {
    return this.servers.filter((s) => s.running).map((s) => String(s.pid));
  }

  async logs(): Promise<string> {
    return [...new Set(this.servers.map((s) => s.options.logFile))].map((f) => readFileSync(f, 'utf8')).join('');
  }

  async trust(bundlePem: string): Promise<void> {
    this.trusted = bundlePem;
    await applyRelease('upgrade', this.chartValues(), ['--namespace', RELEASE_NAMESPACE]);
    await expectCaBundle(Buffer.from(bundlePem).toString('base64'));
  }

  async serve(pair: ServingPair, caPem: string): Promise<void> {
    swapFiles(pair, { certFile: this.base.certFile, keyFile: this.base.keyFile });
    await eventually('the server to present the new certificate', async () => ((await readyz({ host: '127.0.0.1', port: this.base.port }, caPem).catch(() => undefined))?.status === 200 ? true : undefined));
    this.caPem = caPem;
  }

  async shutdown(): Promise<void> {
    await this.stop();
  }

  killNow(): void {
    for (const s of this.servers) s.killNow();
  }
}
