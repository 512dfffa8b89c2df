// helm uninstall removes both webhook configurations, and the cluster keeps accepting Pods even
// with the server gone. The release is installed again afterwards, so file order does not matter.
import { expect } from 'chai';
import { apply, createNamespace } from './support/kube.js';
import { pod } from './support/objects.js';
import { env, kubectl, RELEASE } from './support/suite.js';

describe('helm uninstall', function () {
  after(async function () {
    const g = env().gapguard;
    if (await g.installed()) await g.start();
    else await g.install();
  });

  it('removes the webhook configurations and Pods are still accepted', async function () {
    const ns = await createNamespace('uninstall', 'enforce');
    // helm uninstall --wait; in the cluster the Deployment goes with the release, so no server answers.
    await env().gapguard.uninstall();

    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const got = await kubectl(['get', kind, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
      expect(got.code, got.stderr).to.equal(0);
      expect(got.stdout.trim(), kind).to.equal('');
    }

    // With the server gone too, a webhook configuration left behind would fail this closed.
    expect(await env().gapguard.replicas()).to.deep.equal([]);
    const created = await apply(ns, pod('tagged-after-uninstall', (s) => (s.containers[0].image = 'nginx:1.27')));
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stderr).to.not.include('gapguard');
  });
});
