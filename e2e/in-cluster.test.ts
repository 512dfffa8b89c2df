// gapguard as a cluster operator runs it: the suite's in-cluster install (support/in-cluster.ts):
// its own image (`npm run image`), pushed by digest to the node's registry, installed with helm as
// docs/install.md says, 2 replicas on the real node, called by the kube-apiserver through its
// Service, reading the API through its ServiceAccount. Skipped when gapguard runs out of the cluster.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { apply, createNamespace, eventually, getJson, warnings } from './support/kube.js';
import { gapguardPods, InClusterGapguard, readyEndpoints, waitReplicas } from './support/in-cluster.js';
import { startLoad, type Load } from './support/load.js';
import { node, onNode, waitRunning } from './support/node.js';
import { deployment, type PodSpec } from './support/objects.js';
import { repoRoot } from './support/paths.js';
import { env, kubectl, RELEASE, RELEASE_NAMESPACE } from './support/suite.js';

const NAMESPACE = RELEASE_NAMESPACE;

// latest: refused in enforce whether or not registry lookups are on (the suite runs with them off).
const tagged = (s: PodSpec): void => {
  s.containers[0].image = 'nginx:latest';
};

/** /readyz of one replica, through the apiserver's proxy to the Pod (the way an operator could look). */
async function replicaReadyz(pod: string): Promise<{ status?: string; cluster?: string }> {
  const r = await kubectl(['get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/https:${pod}:8443/proxy/readyz`]);
  return JSON.parse(r.stdout || '{}') as { status?: string; cluster?: string };
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
    const g = env().gapguard;
    if (!(g instanceof InClusterGapguard)) this.skip();
    // The image as `npm run image` built it for the suite (reproducible: the same inputs give the same digest).
    ({ repository: image, digest } = g.image);
    expect(existsSync(join(repoRoot, 'build/image/oci/index.json'))).to.equal(true);
    enforce = await createNamespace('in-cluster', 'enforce');
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
      // Node's own warnings ("(node:PID) [DEP…] DeprecationWarning") about what a dependency calls
      // are lines an operator cannot act on: the image starts without any.
      const logs = await kubectl(['-n', NAMESPACE, 'logs', p.name]);
      expect(logs.code).to.equal(0);
      expect(logs.stdout).to.not.match(/\(node:\d+\) /);
    }
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const c = await getJson('', kind, RELEASE);
      for (const w of c.webhooks) expect(w.clientConfig.service).to.include({ name: RELEASE, namespace: NAMESPACE });
    }
    const refused = await apply(enforce, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tagged' }, spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } });
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
