// gapguard as a cluster operator runs it: its own image (`npm run image`), pushed by digest to the
// node's registry, installed with helm as docs/install.md says, 2 replicas on the real node, called
// by the kube-apiserver through its Service, reading the API through its ServiceAccount. While this
// file runs, the suite's out-of-cluster release is uninstalled; after() puts it back, so file order
// does not matter.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apply, createNamespace, eventually, getJson, warnings } from './support/kube.js';
import { startLoad, type Load } from './support/load.js';
import { node, onNode, waitRunning } from './support/node.js';
import { deployment, type PodSpec } from './support/objects.js';
import { chartDir, repoRoot } from './support/paths.js';
import { runOk } from './support/run.js';
import { env, helm, installChart, kubectl, RELEASE, RELEASE_NAMESPACE } from './support/suite.js';

/** As docs/install.md installs it. */
const NAMESPACE = 'gapguard';

const tagged = (s: PodSpec): void => {
  s.containers[0].image = 'nginx:1.27';
};

interface GapguardPod {
  name: string;
  ip: string;
  ready: boolean;
}

async function gapguardPods(): Promise<GapguardPod[]> {
  const list = await getJson<{ items: any[] }>(NAMESPACE, 'pods', '');
  return list.items
    .filter((p) => p.metadata.labels?.['app.kubernetes.io/instance'] === RELEASE && !p.metadata.deletionTimestamp)
    .map((p) => ({ name: p.metadata.name, ip: p.status.podIP, ready: (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') }));
}

/** Pod IPs the Service sends traffic to: its EndpointSlices' ready endpoints. */
async function readyEndpoints(): Promise<string[]> {
  const r = await kubectl(['-n', NAMESPACE, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${RELEASE}`, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const slices = JSON.parse(r.stdout) as { items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] };
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses).sort();
}

/** /readyz of one replica, through the apiserver's proxy to the Pod (the way an operator could look). */
async function replicaReadyz(pod: string): Promise<{ status?: string; cluster?: string }> {
  const r = await kubectl(['get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/https:${pod}:8443/proxy/readyz`]);
  return JSON.parse(r.stdout || '{}') as { status?: string; cluster?: string };
}

async function waitReplicas(count: number): Promise<GapguardPod[]> {
  const r = await kubectl(['-n', NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}`, '--timeout=180s']);
  if (r.code !== 0) throw new Error(`gapguard did not roll out: ${r.stderr}`);
  return eventually(`${count} ready gapguard replicas in the Service`, async () => {
    const pods = await gapguardPods();
    const endpoints = await readyEndpoints();
    const ready = pods.filter((p) => p.ready).map((p) => p.ip).sort();
    return pods.length === count && ready.length === count && JSON.stringify(ready) === JSON.stringify(endpoints) ? pods : undefined;
  }, 120_000, 500);
}

/** Clean Pods and refusable Pods, created (dry run) at a steady rate in an enforce namespace. */
function steadyLoad(ns: string): { clean: Load; refusable: Load } {
  return {
    clean: startLoad(ns, 2, { dryRun: true, intervalMs: 50 }),
    refusable: startLoad(ns, 1, { dryRun: true, intervalMs: 50, change: tagged }),
  };
}

/** No admission lost: every clean Pod admitted, every refusable one refused by gapguard with its reason. */
function expectNoLoss(load: { clean: Load; refusable: Load }): void {
  expect(load.clean.failures, load.clean.failures.slice(0, 3).join('\n')).to.deep.equal([]);
  expect(load.clean.created).to.be.greaterThan(20);
  expect(load.refusable.created, 'refusable Pods admitted').to.equal(0);
  expect(Object.keys(load.refusable.statuses)).to.deep.equal(['403']);
  const unexplained = load.refusable.failures.filter((f) => !f.includes('gapguard denied Pod'));
  expect(unexplained, unexplained.slice(0, 3).join('\n')).to.deep.equal([]);
}

describe('gapguard in the cluster (its image, its chart, the real node)', function () {
  this.timeout(15 * 60_000);
  let digest: string;
  let image: string;
  let enforce: string;

  before(async function () {
    const e = env();
    const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    if (!e.node || !scripts.image) this.skip();
    const registry = node().registry;
    // The image as `npm run image` builds it (reproducible: the same inputs give the same digest).
    await runOk('npm', ['run', '--silent', 'image'], { cwd: repoRoot, timeoutMs: 20 * 60_000 });
    digest = readFileSync(join(repoRoot, 'build/image/digest'), 'utf8').trim();
    expect(existsSync(join(repoRoot, 'build/image/oci/index.json'))).to.equal(true);
    const pushed = await runOk(join(e.bin, 'crane'), ['--insecure', 'push', join(repoRoot, 'build/image/oci'), `${registry}/gapguard:e2e`], { timeoutMs: 5 * 60_000 });
    expect(pushed.stdout.trim()).to.equal(`${registry}/gapguard@${digest}`);
    image = `${registry}/gapguard`;

    const down = await helm(['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    expect(down.code, down.stderr).to.equal(0);
    // docs/install.md, step 1, with the image digest it asks for; the node's taint is tolerated.
    const up = await helm([
      'install', RELEASE, chartDir, '--namespace', NAMESPACE, '--create-namespace', '--wait', '--timeout', '5m',
      '--set', `image.repository=${image}`, '--set', `image.digest=${digest}`,
      '--set-json', `tolerations=[{"key":"${node().taintKey}","operator":"Exists","effect":"NoSchedule"}]`,
    ]);
    expect(up.code, up.stderr + up.stdout).to.equal(0);
    enforce = await createNamespace('in-cluster', 'enforce');
  });

  after(async function () {
    if (!env().node) return;
    await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait']);
    await kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
    const status = await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE]);
    if (status.code !== 0) await installChart(env().servingCaPem);
  });

  it('runs 2 replicas of its image by digest, with its ServiceAccount, called through its Service', async function () {
    const d = await getJson(NAMESPACE, 'deployment', RELEASE);
    expect(d.spec.template.spec.containers[0].image).to.match(new RegExp(`^${image.replace(/[.:]/g, '\\$&')}(:[^@]+)?@${digest}$`));
    expect(d.status.readyReplicas).to.equal(2);
    const pods = await waitReplicas(2);
    for (const p of pods) {
      const full = await getJson(NAMESPACE, 'pod', p.name);
      expect(full.spec.serviceAccountName).to.equal(RELEASE);
      expect(full.spec.nodeName).to.equal(node().name);
      expect(full.status.containerStatuses[0].imageID).to.equal(`${image}@${digest}`);
      // Listening means its informers listed Namespaces and NetworkPolicies with the ServiceAccount's token.
      expect(await replicaReadyz(p.name)).to.include({ status: 'ready', cluster: 'synced' });
    }
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const c = await getJson('', kind, RELEASE);
      for (const w of c.webhooks) expect(w.clientConfig.service).to.include({ name: RELEASE, namespace: NAMESPACE });
    }
    const refused = await apply(enforce, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tagged' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(refused.stderr).to.include('unverified-image/not-pinned');
  });

  it('a Deployment rolled out in audit mode runs, and kubectl shows its warnings', async function () {
    const ns = await createNamespace('in-cluster-audit', 'audit');
    const bare = deployment('web', (s) => {
      s.containers[0].image = node().pauseImage;
      delete s.containers[0].securityContext;
      delete s.containers[0].resources;
      onNode(s);
    });
    const r = await apply(ns, bare);
    expect(r.code, r.stderr).to.equal(0);
    expect(warnings(r)).to.include('[audit] enforce would patch: run-as-root/runs-as-root: container "app" securityContext.runAsNonRoot');
    expect(warnings(r)).to.include('[audit] enforce would patch: resource-limits/no-memory-limit: container "app" resources.limits.memory');
    const rollout = await kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    expect(rollout.code, rollout.stderr).to.equal(0);
    const pods = await getJson<{ items: any[] }>(ns, 'pods', '');
    expect(pods.items).to.have.length(1);
    // Audit changed nothing: the Pod runs as the template said, without the limits enforce would add.
    const running = await waitRunning(ns, pods.items[0].metadata.name);
    expect(running.hostIP).to.equal(node().ip);
    expect(pods.items[0].spec.containers[0].resources).to.deep.equal({});
  });

  it('a rolling update of gapguard under a steady create load loses no admission', async function () {
    const before = (await waitReplicas(2)).map((p) => p.name);
    const load = steadyLoad(enforce);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const restart = await kubectl(['-n', NAMESPACE, 'rollout', 'restart', `deployment/${RELEASE}`]);
      expect(restart.code, restart.stderr).to.equal(0);
      const after = await waitReplicas(2);
      expect(after.map((p) => p.name)).to.not.include.members(before);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await Promise.all([load.clean.stop(), load.refusable.stop()]);
    }
    expectNoLoss(load);
  });

  it('deleting one gapguard Pod under a steady create load loses no admission', async function () {
    const [victim] = await waitReplicas(2);
    const load = steadyLoad(enforce);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const del = await kubectl(['-n', NAMESPACE, 'delete', 'pod', victim!.name, '--wait=false']);
      expect(del.code, del.stderr).to.equal(0);
      const after = await eventually('a replacement replica', async () => {
        const pods = await gapguardPods();
        return pods.some((p) => p.name === victim!.name) ? undefined : pods;
      }, 120_000, 500);
      expect(after.map((p) => p.name)).to.not.include(victim!.name);
      await waitReplicas(2);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await Promise.all([load.clean.stop(), load.refusable.stop()]);
    }
    expectNoLoss(load);
  });

  it('readiness keeps a new replica out of the Service until its informers have synced', async function () {
    const old = new Set((await waitReplicas(2)).map((p) => p.name));
    const scale = await kubectl(['-n', NAMESPACE, 'scale', `deployment/${RELEASE}`, '--replicas=3']);
    expect(scale.code, scale.stderr).to.equal(0);
    try {
      // Watch the new replica from its creation: whenever the Service lists it as ready, its own
      // /readyz must already say the cluster is synced; before that it is not in the Service.
      let sawNotReady = false;
      const verdict = await eventually('the new replica in the Service', async () => {
        const pod = (await gapguardPods()).find((p) => !old.has(p.name));
        if (!pod?.ip) return undefined;
        const inService = (await readyEndpoints()).includes(pod.ip);
        if (!inService) {
          sawNotReady = true;
          return undefined;
        }
        return replicaReadyz(pod.name);
      }, 120_000, 200);
      expect(sawNotReady, 'the new replica was never seen outside the Service').to.equal(true);
      expect(verdict).to.include({ status: 'ready', cluster: 'synced' });
    } finally {
      await kubectl(['-n', NAMESPACE, 'scale', `deployment/${RELEASE}`, '--replicas=2']);
    }
    await waitReplicas(2);
  });
});
