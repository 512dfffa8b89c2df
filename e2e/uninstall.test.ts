// helm uninstall removes both webhook configurations, and the cluster keeps accepting Pods even
// with the server gone. The release is installed again afterwards, so file order does not matter.
import { expect } from 'chai';
import { apply, createNamespace } from './support/kube.js';
import { pod } from './support/objects.js';
import { env, helm, installChart, kubectl, RELEASE, RELEASE_NAMESPACE } from './support/suite.js';

describe('helm uninstall', function () {
  after(async function () {
    const e = env();
    if (!e.gapguard.running) await e.gapguard.start(e.servingCaPem);
    const status = await helm(['status', RELEASE, '-n', RELEASE_NAMESPACE]);
    if (status.code !== 0) await installChart(e.servingCaPem);
  });

  it('removes the webhook configurations and Pods are still accepted', async function () {
    const ns = await createNamespace('uninstall', 'enforce');
    const r = await helm(['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    expect(r.code, r.stderr).to.equal(0);

    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const got = await kubectl(['get', kind, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
      expect(got.code, got.stderr).to.equal(0);
      expect(got.stdout.trim(), kind).to.equal('');
    }

    // With the server stopped too, a webhook configuration left behind would fail this closed.
    await env().gapguard.stop();
    const created = await apply(ns, pod('tagged-after-uninstall', (s) => (s.containers[0].image = 'nginx:1.27')));
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stderr).to.not.include('gapguard');
  });
});
