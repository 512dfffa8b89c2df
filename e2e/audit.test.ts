// Audit mode, the chart's default: the objects enforce refuses are created unchanged, kubectl prints
// what enforce would have done, and the apiserver's audit log carries gapguard's annotations.
import { expect } from 'chai';
import { apply, auditEvents, createNamespace, eventually, getJson, warnings } from './support/kube.js';
import { deployment, hostPath, pod, type PodSpec } from './support/objects.js';

describe('audit namespace (the chart default, no label)', function () {
  let ns: string;
  before(async function () {
    ns = await createNamespace('audit');
  });

  const cases: { name: string; manifest: () => Record<string, any>; gap: string; warning: string }[] = [
    { name: 'a Pod mounting //var/run/docker.sock', manifest: () => pod('socket', hostPath('//var/run/docker.sock')), gap: 'docker-socket', warning: '[audit] enforce would deny: docker-socket/host-path: spec.volumes[0].hostPath.path' },
    { name: 'a Deployment mounting /var/run', manifest: () => deployment('socket', hostPath('/var/run')), gap: 'docker-socket', warning: '[audit] enforce would deny: docker-socket/host-path: spec.template.spec.volumes[0].hostPath.path' },
    {
      name: 'a privileged container',
      manifest: () =>
        pod('privileged', (s: PodSpec) => {
          delete s.containers[0].securityContext.allowPrivilegeEscalation;
          s.containers[0].securityContext.privileged = true;
        }),
      gap: 'privileged',
      warning: '[audit] enforce would deny: privileged/privileged-container: container "app" securityContext.privileged',
    },
    { name: 'a container running as root', manifest: () => pod('root', (s: PodSpec) => delete s.containers[0].securityContext), gap: 'run-as-root', warning: '[audit] enforce would patch: run-as-root/runs-as-root: container "app" securityContext.runAsNonRoot' },
    { name: 'a literal password in env', manifest: () => pod('password', (s: PodSpec) => (s.containers[0].env = [{ name: 'API_TOKEN', value: 'ghp_e2eNotARealTokenButShapedLikeOne0123' }])), gap: 'env-secrets', warning: '[audit] enforce would deny: env-secrets/literal-secret: container "app" env[0].value' },
    { name: 'an image on latest', manifest: () => pod('latest', (s: PodSpec) => (s.containers[0].image = 'nginx:latest')), gap: 'unverified-image', warning: '[audit] enforce would deny: unverified-image/not-pinned: container "app" image' },
    { name: 'a container without limits', manifest: () => pod('nolimits', (s: PodSpec) => delete s.containers[0].resources), gap: 'resource-limits', warning: '[audit] enforce would patch: resource-limits/no-memory-limit: container "app" resources.limits.memory' },
  ];

  for (const c of cases) {
    it(`creates ${c.name} unchanged, with warnings and audit annotations`, async function () {
      const manifest = c.manifest();
      const r = await apply(ns, manifest);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include('created');
      expect(warnings(r)).to.include(c.warning);
      expect(r.stderr).to.not.include('ghp_e2e');

      const resource = manifest.kind === 'Pod' ? 'pods' : 'deployments';
      const created = await getJson(ns, resource, manifest.metadata.name);
      const spec = manifest.kind === 'Pod' ? created.spec : created.spec.template.spec;
      // Audit never patches: what was sent is what is stored.
      const sent = manifest.kind === 'Pod' ? manifest.spec : manifest.spec.template.spec;
      expect(spec.containers[0].securityContext).to.deep.equal(sent.containers[0].securityContext);
      expect(spec.containers[0].resources?.limits).to.deep.equal(sent.containers[0].resources?.limits);

      const event = await eventually('the create in the audit log', async () =>
        auditEvents(ns, resource).find((e) => e.verb === 'create' && e.objectRef?.name === manifest.metadata.name),
      );
      expect(event.annotations?.['audit.validate.gapguard.io/decision']).to.equal('audit');
      expect(event.annotations?.['audit.validate.gapguard.io/gaps']?.split(',')).to.include(c.gap);
      expect(event.annotations).to.not.have.any.keys('enforce.validate.gapguard.io/decision');
    });
  }

  it('allows a clean Pod without an audit warning', async function () {
    const r = await apply(ns, pod('clean'));
    expect(r.code, r.stderr).to.equal(0);
    expect(warnings(r).filter((w) => w.startsWith('[audit]'))).to.deep.equal([]);
  });
});
