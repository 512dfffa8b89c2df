// Pods that controllers create go through the same webhooks: a Deployment admitted in audit mode
// has its ReplicaSet's Pods judged as they are created, and refused once the namespace enforces.
// A CronJob's pod template is judged when the CronJob is applied.
import { expect } from 'chai';
import { apply, auditEvents, createNamespace, eventually, getJson, setMode, warnings } from './support/kube.js';
import { cronJob, deployment, hostPath, type PodSpec } from './support/objects.js';

/** Another pinned image, for an update that changes the pod template. */
const OTHER_PINNED_IMAGE = 'registry.k8s.io/pause:3.9@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097';
import { kubectl } from './support/suite.js';

const privileged = (s: PodSpec): void => {
  delete s.containers[0].securityContext.allowPrivilegeEscalation;
  s.containers[0].securityContext.privileged = true;
};

describe('controllers', function () {
  it("judges a Deployment's ReplicaSet Pods: audited in audit mode, refused once enforced", async function () {
    const ns = await createNamespace('controllers', 'audit');
    const r = await apply(ns, deployment('web', privileged));
    expect(r.code, r.stderr).to.equal(0);
    expect(warnings(r)).to.include('[audit] enforce would deny: privileged/privileged-container: container "app" securityContext.privileged');

    // The ReplicaSet controller's Pod create, as the apiserver recorded it.
    const podCreate = await eventually('the ReplicaSet controller to create a Pod', async () =>
      auditEvents(ns, 'pods').find((e) => e.verb === 'create' && e.user.username === 'system:serviceaccount:kube-system:replicaset-controller' && e.responseStatus?.code === 201),
    );
    expect(podCreate.annotations?.['audit.validate.gapguard.io/decision']).to.equal('audit');
    expect(podCreate.annotations?.['audit.validate.gapguard.io/gaps']?.split(',')).to.include('privileged');

    await setMode(ns, 'enforce');
    // Scaling is not a template change: the Deployment is not judged again, the new Pod is.
    const scale = await kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=2']);
    expect(scale.code, scale.stderr).to.equal(0);
    const event = await eventually('a FailedCreate event on the ReplicaSet', async () => {
      const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'reason=FailedCreate,involvedObject.kind=ReplicaSet', '-o', 'json']);
      const items = (JSON.parse(events.stdout) as { items: { message: string }[] }).items;
      return items.find((i) => i.message.includes('gapguard denied Pod'))?.message;
    }, 30_000);
    expect(event).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(event).to.include('privileged/privileged-container');
    const deploy = await getJson(ns, 'deployment', 'web');
    expect(deploy.status.replicas).to.equal(1);
  });

  it('in enforce, an existing gap does not block label or image updates, but the rollout it starts is refused', async function () {
    const ns = await createNamespace('controllers', 'audit');
    expect((await apply(ns, deployment('legacy', privileged))).code).to.equal(0);
    await setMode(ns, 'enforce');
    await eventually('enforce to apply', async () => ((await apply(ns, deployment('probe', privileged), '--dry-run=server')).code !== 0 ? true : undefined));

    const annotate = await kubectl(['-n', ns, 'annotate', 'deployment/legacy', 'team=payments']);
    expect(annotate.code, annotate.stderr).to.equal(0);
    const setImage = await kubectl(['-n', ns, 'set', 'image', 'deployment/legacy', `app=${OTHER_PINNED_IMAGE}`]);
    expect(setImage.code, setImage.stderr).to.equal(0);
    expect(warnings(setImage)).to.include('existing gap, not denied on update: privileged/privileged-container: container "app" securityContext.privileged');

    // The new template's ReplicaSet is a CREATE, judged like any new object.
    const message = await eventually('the Deployment controller to report the refused ReplicaSet', async () => {
      const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.kind=Deployment,involvedObject.name=legacy', '-o', 'json']);
      const items = (JSON.parse(events.stdout) as { items: { message: string }[] }).items;
      const fromConditions = ((await getJson(ns, 'deployment', 'legacy')).status?.conditions ?? []) as { message: string }[];
      return [...items, ...fromConditions].map((i) => i.message).find((m) => m.includes('gapguard denied ReplicaSet'));
    }, 30_000);
    expect(message).to.include('privileged/privileged-container');
  });

  it('judges a CronJob pod template when it is applied', async function () {
    const enforce = await createNamespace('cron', 'enforce');
    const refused = await apply(enforce, cronJob('backup', hostPath('/var/run/docker.sock')));
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include(`gapguard denied CronJob ${enforce}/backup`);
    expect(refused.stderr).to.include('docker-socket/host-path (spec.jobTemplate.spec.template.spec.volumes[0].hostPath.path)');

    const audit = await createNamespace('cron', 'audit');
    const created = await apply(audit, cronJob('backup', hostPath('/var/run/docker.sock')));
    expect(created.code, created.stderr).to.equal(0);
    expect(warnings(created)).to.include('[audit] enforce would deny: docker-socket/host-path: spec.jobTemplate.spec.template.spec.volumes[0].hostPath.path');
  });
});
