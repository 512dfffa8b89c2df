// gapguard as docs/install.md installs it: its own image (`npm run image`) pushed by digest to the
// node's registry, `helm install gapguard charts/gapguard --namespace gapguard --create-namespace
// --wait` with that digest, 2 replicas on the real node called through the Service, reading the API
// with the chart's ServiceAccount. Two values differ from a user's: a toleration of the node's
// taint, and registry lookups off unless a scenario turns them on (the cluster has no internet, and
// the scenarios were written for the server's default, lookups off). The host is the node, so it
// reaches the replicas at their Pod addresses, checking the certificate's Service name.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServingPair } from './certs.js';
import { readyz } from './https-get.js';
import { eventually, getJson } from './kube.js';
import { hostContainer } from './node.js';
import { repoRoot } from './paths.js';
import { runOk } from './run.js';
import { RELEASE, RELEASE_NAMESPACE } from './release.js';
import { applyRelease, env, expectCaBundle, helm, kubectl, log, toolEnv } from './suite.js';
import { DASHBOARD_PORT, DEFAULT_BUDGET_MS, sharedValues, type GapguardUnderTest, type Replica, type Settings } from './under-test.js';

/** The chart's replicaCount. */
const REPLICAS = 2;
/** The Secret a tls.mode=secret install serves from (what cert-manager or an operator would own). */
const SERVING_SECRET = 'e2e-serving';
const REGISTRY_CA = 'e2e-registry-ca';
const SERVICE_NAME = `${RELEASE}.${RELEASE_NAMESPACE}.svc`;

export interface GapguardPod {
  name: string;
  uid: string;
  ip: string;
  ready: boolean;
  restarts: number;
  terminating: boolean;
}

export async function gapguardPods(): Promise<GapguardPod[]> {
  const list = await getJson<{ items: any[] }>(RELEASE_NAMESPACE, 'pods', '');
  return list.items
    .filter((p) => p.metadata.labels?.['app.kubernetes.io/instance'] === RELEASE)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      ip: p.status.podIP,
      ready: (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
      restarts: (p.status.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
      terminating: Boolean(p.metadata.deletionTimestamp),
    }));
}

/** Pod IPs the Service sends traffic to: its EndpointSlices' ready endpoints. */
export async function readyEndpoints(): Promise<string[]> {
  const r = await kubectl(['-n', RELEASE_NAMESPACE, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${RELEASE}`, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const slices = JSON.parse(r.stdout) as { items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] };
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses).sort();
}

/** Rolled out: `count` replicas, all ready, none terminating, and exactly they are the Service's endpoints. */
export async function waitReplicas(count: number): Promise<GapguardPod[]> {
  const r = await kubectl(['-n', RELEASE_NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}`, '--timeout=180s']);
  if (r.code !== 0) throw new Error(`gapguard did not roll out: ${r.stderr}`);
  return eventually(`${count} ready gapguard replicas in the Service`, async () => {
    const pods = await gapguardPods();
    const endpoints = await readyEndpoints();
    const ready = pods.filter((p) => p.ready && !p.terminating).map((p) => p.ip).sort();
    return pods.length === count && ready.length === count && JSON.stringify(ready) === JSON.stringify(endpoints) ? pods : undefined;
  }, 120_000, 500);
}

/** `npm run image`: reproducible, so the digest is the one this commit's chart would pin. */
export async function buildImage(): Promise<string> {
  await runOk('npm', ['run', '--silent', 'image'], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
  return readFileSync(join(repoRoot, 'build/image/digest'), 'utf8').trim();
}

/** The built image pushed by digest to the node's registry with crane. */
export async function pushImage(bin: string, registry: string, digest: string): Promise<{ repository: string; digest: string }> {
  const repository = `${registry}/gapguard`;
  const pushed = await runOk(join(bin, 'crane'), ['--insecure', 'push', join(repoRoot, 'build/image/oci'), `${repository}:e2e`], { timeoutMs: 5 * 60_000 });
  if (pushed.stdout.trim() !== `${repository}@${digest}`) throw new Error(`crane pushed ${pushed.stdout.trim()}, not ${repository}@${digest}`);
  return { repository, digest };
}

/** A ConfigMap of the release namespace with these files, created or replaced. */
async function configMap(name: string, data: Record<string, string>): Promise<void> {
  const r = await kubectl(['-n', RELEASE_NAMESPACE, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }));
  if (r.code !== 0) throw new Error(`cannot apply ConfigMap ${name}: ${r.stderr}`);
}

async function servingSecret(cert: string, key: string): Promise<void> {
  const secret = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: SERVING_SECRET }, data: { 'tls.crt': cert, 'tls.key': key } };
  const r = await kubectl(['-n', RELEASE_NAMESPACE, 'apply', '-f', '-'], JSON.stringify(secret));
  if (r.code !== 0) throw new Error(`cannot apply Secret ${SERVING_SECRET}: ${r.stderr}`);
}

export class InClusterGapguard implements GapguardUnderTest {
  readonly where = 'in-cluster';
  readonly servingNames = [`DNS:${SERVICE_NAME}`];
  caPem = '';
  private settings: Settings = {};
  /** docs/install.md's default (the chart makes its CA), until a scenario rotates certificates. */
  private tls: Record<string, unknown> = { mode: 'generate' };

  constructor(
    readonly image: { repository: string; digest: string },
    private readonly taintKey: string,
    readonly registryAddress: string,
  ) {}

  keyPath(name: string, file: string): string {
    return `/etc/gapguard/signatures/${name}/${file}`;
  }

  private values(): Record<string, unknown>[] {
    const s = this.settings;
    const lookups = s.imageLookups ? { enabled: true, budgetMs: s.imageLookups.budgetMs ?? DEFAULT_BUDGET_MS, caConfigMap: REGISTRY_CA } : { enabled: false };
    return [
      {
        image: this.image,
        tolerations: [{ key: this.taintKey, operator: 'Exists', effect: 'NoSchedule' }],
        imageLookups: lookups,
        tls: this.tls,
        ...(s.keys ? { signatures: { mounts: [{ name: s.keys.name, configMap: `e2e-keys-${s.keys.name}` }] } } : {}),
      },
      sharedValues(s),
    ];
  }

  /** What every replica must report in /readyz once it runs the policy the chart rendered. */
  private async policyHash(): Promise<string> {
    const r = await kubectl(['-n', RELEASE_NAMESPACE, 'get', 'configmap', `${RELEASE}-policy`, '-o', 'jsonpath={.data.policy\\.yaml}']);
    if (r.code !== 0) throw new Error(`cannot read the policy ConfigMap: ${r.stderr}`);
    return createHash('sha256').update(r.stdout).digest('hex').slice(0, 16);
  }

  /**
   * Rolled out, and every replica's /readyz says it is synced and runs the rendered policy. A policy
   * change rolls no Pod (the server reloads the mounted file): it arrives with the kubelet's next
   * sync of the Pod (syncFrequency, 5 s on the suite's node; a minute by default).
   */
  private async settle(what: string, started: number): Promise<void> {
    const hash = await this.policyHash();
    await waitReplicas(REPLICAS);
    await eventually(`every replica synced with policy ${hash}`, async () => {
      for (const r of await this.replicas()) {
        const got = await readyz(r.target, this.caPem).catch(() => undefined);
        if (got?.status !== 200 || got.body.cluster !== 'synced' || got.body.policy?.sha256 !== hash) return undefined;
      }
      return true;
    }, 120_000, 500);
    // What a change costs in the cluster (e2e/README.md has the figures).
    log(`gapguard ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  private async readCaPem(): Promise<void> {
    const ca = await kubectl(['-n', RELEASE_NAMESPACE, 'get', 'secret', `${RELEASE}-tls`, '-o', 'jsonpath={.data.ca\\.crt}']);
    if (ca.code !== 0 || !ca.stdout) throw new Error(`cannot read the chart's CA: ${ca.stderr}`);
    this.caPem = Buffer.from(ca.stdout, 'base64').toString();
  }

  async install(): Promise<void> {
    const started = Date.now();
    this.settings = {};
    this.tls = { mode: 'generate' };
    await applyRelease('install', this.values(), ['--namespace', RELEASE_NAMESPACE, '--create-namespace', '--wait', '--timeout', '5m']);
    await this.readCaPem();
    await this.settle('installed', started);
  }

  async uninstall(): Promise<void> {
    const r = await helm(['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    if (r.code !== 0) throw new Error(`helm uninstall failed: ${r.stderr}`);
    await eventually('no gapguard Pod left', async () => ((await gapguardPods()).length === 0 ? true : undefined), 120_000, 500);
  }

  async installed(): Promise<boolean> {
    return (await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE])).code === 0;
  }

  async configure(settings: Settings = {}): Promise<void> {
    const started = Date.now();
    if (settings.imageLookups) await configMap(REGISTRY_CA, { 'ca.crt': settings.imageLookups.caPem });
    if (settings.keys) await configMap(`e2e-keys-${settings.keys.name}`, settings.keys.files);
    this.settings = settings;
    await applyRelease('upgrade', this.values(), ['--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '5m']);
    await this.settle(`configured (${Object.keys(settings).join(', ') || 'the suite\'s settings'})`, started);
  }

  /** Scaled to 0: every replica drains and goes, as when a node with all of them fails or is drained. */
  async stop(): Promise<void> {
    const r = await kubectl(['-n', RELEASE_NAMESPACE, 'scale', `deployment/${RELEASE}`, '--replicas=0']);
    if (r.code !== 0) throw new Error(`cannot scale gapguard down: ${r.stderr}`);
    await eventually('no gapguard Pod left', async () => ((await gapguardPods()).length === 0 ? true : undefined), 120_000, 500);
  }

  async start(): Promise<void> {
    const started = Date.now();
    const r = await kubectl(['-n', RELEASE_NAMESPACE, 'scale', `deployment/${RELEASE}`, `--replicas=${REPLICAS}`]);
    if (r.code !== 0) throw new Error(`cannot scale gapguard up: ${r.stderr}`);
    await this.settle('started', started);
  }

  async replicas(): Promise<Replica[]> {
    return (await gapguardPods()).filter((p) => p.ready && !p.terminating).map((p) => ({ name: p.name, target: { host: p.ip, port: 8443, servername: SERVICE_NAME } }));
  }

  /** kubectl port-forward to the Pod: the chart binds the dashboard to 127.0.0.1 in the Pod. */
  async dashboard(replica: string): Promise<{ url: string; close(): void }> {
    const child = spawn(join(env().bin, 'kubectl'), ['-n', RELEASE_NAMESPACE, 'port-forward', `pod/${replica}`, `:${DASHBOARD_PORT}`], { env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kubectl port-forward to ${replica} printed no port: ${output}`)), 30_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', () => reject(new Error(`kubectl port-forward to ${replica} exited: ${output}`)));
    });
    return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
  }

  /**
   * Frozen with SIGSTOP from the node's host: it neither renews nor releases its lease, as after a
   * SIGKILL or a node cut off. (A SIGKILLed container is restarted by the kubelet in the same Pod,
   * under the same leader identity, which takes its lease straight back.) Its liveness probe fails
   * and the kubelet restarts it some 30 s later.
   */
  async kill(replica: string): Promise<void> {
    const { pid } = await hostContainer(RELEASE_NAMESPACE, replica);
    process.kill(pid, 'SIGSTOP');
  }

  async instances(): Promise<string[]> {
    return (await gapguardPods()).map((p) => `${p.uid}/${p.restarts}`).sort();
  }

  async logs(): Promise<string> {
    const logs: string[] = [];
    for (const p of await gapguardPods()) logs.push((await kubectl(['-n', RELEASE_NAMESPACE, 'logs', p.name])).stdout);
    return logs.join('');
  }

  /**
   * docs/install.md: "With tls.mode=secret, renewal is yours: replace the Secret and, if the CA
   * changed, tls.secret.caBundle". The first call moves the install from the chart's generated pair
   * to a Secret holding that same pair (a rollout: call it before any load that must see no failure).
   */
  async trust(bundlePem: string): Promise<void> {
    const started = Date.now();
    if (this.tls.mode === 'generate') {
      const pair = await getJson(RELEASE_NAMESPACE, 'secret', `${RELEASE}-tls`);
      await servingSecret(pair.data['tls.crt'], pair.data['tls.key']);
    }
    const caBundle = Buffer.from(bundlePem).toString('base64');
    this.tls = { mode: 'secret', secret: { name: SERVING_SECRET, caBundle } };
    await applyRelease('upgrade', this.values(), ['--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '5m']);
    await this.settle('made to trust a new CA bundle', started);
    await expectCaBundle(caBundle);
  }

  /**
   * docs/install.md: with tls.mode=generate the chart renews its pair on a `helm upgrade` within
   * renewBeforeDays of expiry; renewBeforeDays of the whole validity (1095 days) renews now. Nothing
   * rolls: each replica reloads the Secret once the kubelet refreshes the mount. Resolves when every
   * replica presents the new certificate; the CA before it stays trusted (the chart's ca-bundle.crt).
   */
  async renewGeneratedPair(): Promise<void> {
    if (this.tls.mode !== 'generate') throw new Error('renewGeneratedPair() needs the chart-generated pair (tls.mode=generate)');
    const before = this.caPem;
    await applyRelease('upgrade', [...this.values(), { tls: { generate: { renewBeforeDays: 1095 } } }], ['--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '5m']);
    await this.readCaPem();
    if (this.caPem === before) throw new Error('helm upgrade did not renew the generated pair');
    await this.everyReplicaServes(this.caPem, 'the renewed certificate');
  }

  /** Until every replica's certificate chains to caPem (each replica reloads its mounted Secret on its own). */
  private async everyReplicaServes(caPem: string, what: string): Promise<void> {
    await eventually(`every replica to present ${what}`, async () => {
      const replicas = await this.replicas();
      for (const r of replicas) if ((await readyz(r.target, caPem).catch(() => undefined))?.status !== 200) return undefined;
      return replicas.length === REPLICAS ? true : undefined;
    }, 120_000, 500);
  }

  /** The Secret replaced in place; the kubelet updates the mounted files and each replica reloads them. */
  async serve(pair: ServingPair, caPem: string): Promise<void> {
    if (this.tls.mode !== 'secret') throw new Error('serve() needs trust() first (tls.mode=secret)');
    await servingSecret(readFileSync(pair.certFile).toString('base64'), readFileSync(pair.keyFile).toString('base64'));
    await this.everyReplicaServes(caPem, 'the new certificate');
    this.caPem = caPem;
  }

  async shutdown(): Promise<void> {
    // The cluster's teardown stops the node and every Pod on it.
  }

  killNow(): void {}
}
