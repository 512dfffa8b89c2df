// Faults an operator meets: the server down (enforce fails closed, audit stays open, kube-system is
// never sent to gapguard), the server back, and the serving certificate and CA rotated under load.
import { expect } from 'chai';
import { readFileSync, renameSync, copyFileSync } from 'node:fs';
import { makeCa, makeServingPair } from './support/certs.js';
import { readyz, sleep } from './support/gapguard.js';
import { apply, createNamespace, eventually, exists, uniqueName, warnings } from './support/kube.js';
import { startLoad } from './support/load.js';
import { pod, type PodSpec } from './support/objects.js';
import { chartDir } from './support/paths.js';
import { env, helm, kubectl, RELEASE, RELEASE_NAMESPACE } from './support/suite.js';

// latest: refused in enforce whether or not registry lookups are on.
const tagged = (s: PodSpec): void => {
  s.containers[0].image = 'nginx:latest';
};

describe('faults', function () {
  let enforce: string;
  let audit: string;
  before(async function () {
    enforce = await createNamespace('faults', 'enforce');
    audit = await createNamespace('faults', 'audit');
  });
  after(async function () {
    // Whatever happened above, later scenarios need a running server.
    if (!env().gapguard.running) await env().gapguard.start(env().servingCaPem);
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
    // the namespace's label (it listens only once its informers have listed).
    const during = startLoad(enforce, 4, { change: tagged, dryRun: true });
    try {
      await sleep(300);
      await e.gapguard.start(e.servingCaPem);
      await sleep(500);
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

  it('rotates the serving certificate and the CA bundle while Pods are created, and none fails', async function () {
    const e = env();
    const caBundle = (pem: string): Promise<void> => setCaBundle(Buffer.from(pem).toString('base64'));
    const oldCa = e.servingCaPem;
    const ca2 = await makeCa(e.certDir, 'ca-2');
    const ca2Pem = readFileSync(ca2.certFile, 'utf8');
    const next = await makeServingPair(e.certDir, 'serving-2', ca2);

    const load = startLoad(enforce, 4);
    try {
      await sleep(1000);
      // 1. Trust both CAs. 2. Serve the new certificate. 3. Trust only the new CA.
      await caBundle(oldCa + ca2Pem);
      swapFiles(next, e.gapguard.options);
      await eventually('the server to present the new certificate', async () => {
        try {
          return (await readyz(e.gapguard.options.port, ca2Pem)).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      });
      e.servingCaPem = ca2Pem;
      await sleep(2000);
      await caBundle(ca2Pem);
      await sleep(2000);
    } finally {
      await load.stop();
    }
    expect(load.failures, load.failures.slice(0, 3).join('\n')).to.deep.equal([]);
    expect(load.created).to.be.greaterThan(20);
    expect(e.gapguard.log()).to.include('certificate reloaded');
  });
});

/** helm upgrade with a new caBundle, then waits until both webhook configurations carry it. */
async function setCaBundle(base64: string): Promise<void> {
  const r = await helm(['upgrade', RELEASE, chartDir, '-n', RELEASE_NAMESPACE, '--reuse-values', '--set', `webhook.caBundle=${base64}`]);
  expect(r.code, r.stderr).to.equal(0);
  for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
    const got = await kubectl(['get', kind, RELEASE, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']);
    const bundles = got.stdout.split(' ');
    expect(bundles).to.have.length(kind === 'validatingwebhookconfiguration' ? 2 : 1);
    for (const bundle of bundles) expect(bundle).to.equal(base64);
  }
  // The apiserver reads webhook configurations through its own informer, which no API reports on;
  // its watch delivers within milliseconds, so a short pause is enough.
  await sleep(1500);
}

/** Replaces the server's certificate files by rename, key first, as a mounted Secret update would. */
function swapFiles(from: { certFile: string; keyFile: string }, to: { certFile: string; keyFile: string }): void {
  for (const [src, dst] of [[from.keyFile, to.keyFile], [from.certFile, to.certFile]] as const) {
    copyFileSync(src, `${dst}.new`);
    renameSync(`${dst}.new`, dst);
  }
}
