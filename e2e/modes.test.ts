// The gapguard.io/mode namespace label moves a namespace between audit, enforce and off while the
// server runs: the apiserver routes by the label (the chart's namespaceSelectors) and the server
// reads it from its informer, so the switch needs no restart.
import { expect } from 'chai';
import { apply, auditEvents, createNamespace, eventually, setMode, warnings } from './support/kube.js';
import { pod, type PodSpec } from './support/objects.js';
import { env } from './support/suite.js';

// latest: denied in enforce whether or not registry lookups are on.
const onLatest = (s: PodSpec): void => {
  s.containers[0].image = 'nginx:latest';
};

describe('namespace mode label', function () {
  it('switches audit -> enforce -> audit -> off without restarting the server', async function () {
    const running = await env().gapguard.instances();
    const ns = await createNamespace('modes', 'audit');
    const probe = (name: string) => apply(ns, pod(name, onLatest), '--dry-run=server');

    const audited = await probe('probe');
    expect(audited.code, audited.stderr).to.equal(0);
    expect(warnings(audited)).to.include('[audit] enforce would deny: unverified-image/not-pinned: container "app" image');

    await setMode(ns, 'enforce');
    const refused = await eventually('enforce to apply', async () => {
      const r = await probe('probe');
      return r.code !== 0 ? r : undefined;
    });
    expect(refused.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(refused.stderr).to.include('unverified-image/not-pinned');
    // A real create, not only the dry run, is refused.
    const create = await apply(ns, pod('tagged-enforce', onLatest));
    expect(create.code).to.not.equal(0);

    await setMode(ns, 'audit');
    await eventually('audit to apply again', async () => ((await probe('probe')).code === 0 ? true : undefined));
    const back = await apply(ns, pod('tagged-audit', onLatest));
    expect(back.code, back.stderr).to.equal(0);
    expect(warnings(back)).to.include('[audit] enforce would deny: unverified-image/not-pinned: container "app" image');

    await setMode(ns, 'off');
    const off = await eventually('off to apply', async () => {
      const r = await apply(ns, pod(`tagged-off-${Date.now()}`, onLatest));
      return r.code === 0 && warnings(r).length === 0 ? r : undefined;
    });
    expect(off.stdout).to.include('created');
    const name = /pod\/(\S+) created/.exec(off.stdout)![1];
    const event = await eventually('the create in the audit log', async () => auditEvents(ns, 'pods').find((e) => e.verb === 'create' && e.objectRef?.name === name));
    // Off means not sent to gapguard at all: no webhook left an annotation.
    expect(Object.keys(event.annotations ?? {}).filter((k) => k.includes('gapguard.io'))).to.deep.equal([]);

    // The same processes (pids; in the cluster, Pod uids and container restarts) served throughout.
    expect(await env().gapguard.instances()).to.deep.equal(running);
  });
});
