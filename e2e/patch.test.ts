// Enforce mode patches what the default policy can fix: a Pod without limits, capabilities.drop
// ALL or runAsNonRoot is created with them, as read back from the apiserver; applying the same
// manifest again changes nothing.
import { expect } from 'chai';
import { apply, auditEvents, createNamespace, eventually, getJson } from './support/kube.js';
import { deployment, pod, type PodSpec } from './support/objects.js';

const unhardened = (s: PodSpec): void => {
  delete s.containers[0].securityContext;
  delete s.containers[0].resources;
};

const FIXED_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

interface Applied {
  metadata: { generation?: number; managedFields?: { manager: string }[] };
  spec: unknown;
}

/**
 * The second apply wrote nothing: the same spec and generation, and kubectl's field entries as the
 * first apply left them (a write would restamp them). Not the resourceVersion: the controllers and
 * the kubelet write status beside the test.
 */
function expectNoWriteByApply(first: Applied, now: Applied): void {
  expect(now.spec).to.deep.equal(first.spec);
  expect(now.metadata.generation).to.equal(first.metadata.generation);
  const kubectl = (o: Applied) => (o.metadata.managedFields ?? []).filter((m) => m.manager.startsWith('kubectl'));
  expect(kubectl(first), 'kubectl manages fields').to.not.deep.equal([]);
  expect(kubectl(now)).to.deep.equal(kubectl(first));
}

describe('patch (enforce)', function () {
  let ns: string;
  before(async function () {
    ns = await createNamespace('patch', 'enforce');
  });

  it('creates a Pod with the fixes, and a client-side re-apply changes nothing', async function () {
    const manifest = pod('fixme', unhardened);
    const r = await apply(ns, manifest);
    expect(r.code, r.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'fixme', '--show-managed-fields');
    expect(created.spec.containers[0].securityContext).to.deep.equal(FIXED_SECURITY_CONTEXT);
    expect(created.spec.containers[0].resources.limits).to.deep.equal({ cpu: '500m', memory: '512Mi' });

    const event = await eventually('the create in the audit log', async () => auditEvents(ns, 'pods').find((e) => e.verb === 'create' && e.objectRef?.name === 'fixme'));
    expect(event.annotations?.['enforce.mutate.gapguard.io/decision']).to.equal('patch');
    expect(event.annotations?.['enforce.mutate.gapguard.io/gaps']?.split(',')).to.include.members(['run-as-root', 'resource-limits']);
    expect(event.annotations?.['enforce.validate.gapguard.io/decision']).to.not.equal('deny');

    const again = await apply(ns, manifest);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('pod/fixme unchanged');
    expectNoWriteByApply(created as Applied, await getJson<Applied>(ns, 'pod', 'fixme', '--show-managed-fields'));
  });

  it('server-side apply of a Pod twice: the second apply changes nothing', async function () {
    const manifest = pod('fixme-ssa', unhardened);
    const first = await apply(ns, manifest, '--server-side');
    expect(first.code, first.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'fixme-ssa', '--show-managed-fields');
    expect(created.spec.containers[0].securityContext).to.deep.equal(FIXED_SECURITY_CONTEXT);
    // The second apply is sent to the apiserver and through the webhooks, unlike a client-side
    // apply of an unchanged manifest.
    const second = await apply(ns, manifest, '--server-side');
    expect(second.code, second.stderr).to.equal(0);
    expectNoWriteByApply(created as Applied, await getJson<Applied>(ns, 'pod', 'fixme-ssa', '--show-managed-fields'));
  });

  it("patches a Deployment's template, its Pods carry the fixes, and server-side re-apply changes nothing", async function () {
    const manifest = deployment('fixme', unhardened);
    const first = await apply(ns, manifest, '--server-side');
    expect(first.code, first.stderr).to.equal(0);
    const created = await getJson(ns, 'deployment', 'fixme', '--show-managed-fields');
    expect(created.spec.template.spec.containers[0].securityContext).to.deep.equal(FIXED_SECURITY_CONTEXT);
    expect(created.spec.template.spec.containers[0].resources.limits).to.deep.equal({ cpu: '500m', memory: '512Mi' });

    const second = await apply(ns, manifest, '--server-side');
    expect(second.code, second.stderr).to.equal(0);
    const after = await getJson(ns, 'deployment', 'fixme', '--show-managed-fields');
    expectNoWriteByApply(created as Applied, after as Applied);
    expect(after.metadata.generation).to.equal(1);

    const podSpec = await eventually('a Pod of the Deployment', async () => {
      const pods = await getJson(ns, 'pods', '');
      return (pods.items as { metadata: { labels?: Record<string, string> }; spec: PodSpec }[]).find((p) => p.metadata.labels?.app === 'fixme')?.spec;
    });
    expect(podSpec.containers[0].securityContext).to.deep.equal(FIXED_SECURITY_CONTEXT);
  });
});
