// `kubectl debug` adds an ephemeral container through the pods/ephemeralcontainers subresource;
// a privileged one must not slip into a running Pod of an enforce namespace.
import { expect } from 'chai';
import { apply, createNamespace, getJson } from './support/kube.js';
import { PINNED_IMAGE, pod } from './support/objects.js';
import { kubectl } from './support/suite.js';

describe('ephemeral (debug) containers', function () {
  it('refuses a privileged debug container and admits a restricted one', async function () {
    const ns = await createNamespace('debug', 'enforce');
    const r = await apply(ns, pod('target'));
    expect(r.code, r.stderr).to.equal(0);

    const sysadmin = await kubectl(['-n', ns, 'debug', 'target', `--image=${PINNED_IMAGE}`, '--profile=sysadmin', '--container=dbg']);
    expect(sysadmin.code).to.not.equal(0);
    expect(sysadmin.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(sysadmin.stderr).to.include('privileged/privileged-container (container "dbg", spec.ephemeralContainers[0].securityContext.privileged)');

    const restricted = await kubectl(['-n', ns, 'debug', 'target', `--image=${PINNED_IMAGE}`, '--profile=restricted', '--container=dbg2']);
    expect(restricted.code, restricted.stderr).to.equal(0);
    const after = await getJson(ns, 'pod', 'target');
    expect((after.spec.ephemeralContainers as { name: string }[]).map((c) => c.name)).to.deep.equal(['dbg2']);
  });
});
