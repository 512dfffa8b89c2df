// Faults an operator meets: the server down (enforce fails closed, audit stays open, kube-system is
// never sent to gapguard), the server back, and the serving certificate and CA rotated under load.
// In the cluster "down" is the Deployment scaled to 0 (every replica drains and goes: what a node
// failure or drain with all replicas on it does), and the rotation is the one docs/install.md gives
// for tls.mode=secret: the Secret replaced in place and tls.secret.caBundle changed with helm.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { makeCa, makeServingPair } from './support/certs.js';
import { sleep } from './support/gapguard.js';
import { apply, createNamespace, eventually, exists, uniqueName, warnings } from './support/kube.js';
import { InClusterGapguard } from './support/in-cluster.js';
import { startLoad } from './support/load.js';
import { pod, type PodSpec } from './support/objects.js';
import { env, kubectl, RELEASE_NAMESPACE } from './support/suite.js';

// latest: refused in enforce whether or not registry lookups are on.
const tagged = (s: PodSpec): void => {
  s.containers[0].image = 'nginx:latest';
};

/** Clean Pods are created in ns, 4 at a time, from a second before change until it is done: every one is admitted. */
async function expectNoFailureWhile(ns: string, change: () => Promise<void>): Promise<void> {
  const load = startLoad(ns, 4);
  try {
    await sleep(1000);
    await change();
  } finally {
    await load.stop();
  }
  expect(load.failures, load.failures.slice(0, 3).join('\n')).to.deep.equal([]);
  expect(load.created).to.be.greaterThan(20);
}

describe('faults', function () {
  let enforce: string;
  let audit: string;
  before(async function () {
    enforce = await createNamespace('faults', 'enforce');
    audit = await createNamespace('faults', 'audit');
  });
  after(async function () {
    // Whatever happened above, later scenarios need a running server.
    await env().gapguard.start();
  });

  it('server down: enforce fails closed, audit stays open, kube-system and the release namespace are never blocked; back up: decisions resume', async function () {
    const e = env();
    await e.gapguard.stop();

    const closed = await apply(enforce, pod('clean-while-down'));
    expect(closed.code).to.not.equal(0);
    expect(closed.stderr).to.match(/failed calling webhook "enforce\.(mutate|validate)\.gapguard\.io"/);
    expect(await exists(enforce, 'pod', 'clean-while-down')).to.equal(false);

    const open = await apply(audit, pod('tagged-while-down', tagged));
    expect(open.code, open.stderr).to.equal(0);
    expect(warnings(open).filter((w) => w.startsWith('[audit]'))).to.deep.equal([]);

    for (const ns of ['kube-system', RELEASE_NAMESPACE]) {
      const name = uniqueName('tagged-while-down');
      const r = await apply(ns, pod(name, tagged));
      expect(r.code, `${ns}: ${r.stderr}`).to.equal(0);
      await kubectl(['-n', ns, 'delete', 'pod', name, '--wait=false']);
    }

    // Refusable Pods keep coming while the server starts: none may slip through before it knows
    // the namespace's label (it listens, and in the cluster turns ready, only once its informers
    // have listed).
    const during = startLoad(enforce, 4, { change: tagged, dryRun: true });
    try {
      await sleep(300);
      await e.gapguard.start();
      await eventually('a refusal by the server that started', async () => (during.statuses['403'] ? true : undefined));
    } finally {
      await during.stop();
    }
    expect(during.statuses).to.not.have.property('201');
    expect(during.statuses['403']).to.be.greaterThan(0);

    const refused = await apply(enforce, pod('tagged-after', tagged));
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('gapguard denied Pod');
    expect(refused.stderr).to.include('unverified-image/not-pinned');
    const admitted = await apply(enforce, pod('clean-after'));
    expect(admitted.code, admitted.stderr).to.equal(0);
  });

  it('renews the chart-generated certificate with helm upgrade while Pods are created, and none fails', async function () {
    const g = env().gapguard;
    if (!(g instanceof InClusterGapguard)) this.skip(); // out of the cluster there is no chart-generated pair
    await expectNoFailureWhile(enforce, async () => {
      // The upgrade gives the webhooks the new CA at once; the replicas serve the old certificate
      // until the kubelet refreshes their mounted Secret: both must be trusted meanwhile.
      await g.renewGeneratedPair();
      await sleep(2000);
    });
    expect(await g.logs()).to.include('certificate reloaded');
  });

  it('rotates the serving certificate and the CA bundle while Pods are created, and none fails', async function () {
    const g = env().gapguard;
    const oldCa = g.caPem;
    const ca2 = await makeCa(env().certDir, 'ca-2');
    const ca2Pem = readFileSync(ca2.certFile, 'utf8');
    const next = await makeServingPair(env().certDir, 'serving-2', ca2, g.servingNames);
    // The certificate's owner takes it over before the load: in the cluster the chart's generated
    // pair moves to a Secret of the operator's (a rollout), out of it nothing changes.
    await g.trust(oldCa);

    await expectNoFailureWhile(enforce, async () => {
      // 1. Trust both CAs. 2. Serve the new certificate (every replica). 3. Trust only the new CA.
      await g.trust(oldCa + ca2Pem);
      await g.serve(next, ca2Pem);
      await sleep(2000);
      await g.trust(ca2Pem);
      await sleep(2000);
    });
    expect(await g.logs()).to.include('certificate reloaded');
  });
});
