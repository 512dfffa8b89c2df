// Enforce mode as a user meets it: kubectl apply is refused with the gap named, or the object is
// created with the default policy's fixes patched in.
import { expect } from 'chai';
import { apply, createNamespace, exists, getJson, warnings } from './support/kube.js';
import { deployment, hostPath, pod, type PodSpec } from './support/objects.js';
import { env } from './support/suite.js';

describe('enforce namespace', function () {
  let ns: string;
  before(async function () {
    ns = await createNamespace('enforce', 'enforce');
  });

  /** Applies the object, expects a refusal naming exactly `rules`, and that nothing was created. */
  async function expectRefused(manifest: Record<string, any>, rules: string[]): Promise<string> {
    const r = await apply(ns, manifest);
    expect(r.code, r.stdout).to.not.equal(0);
    expect(r.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(r.stderr).to.include(`gapguard denied ${manifest.kind} ${ns}/${manifest.metadata.name}`);
    const named = [...r.stderr.matchAll(/^- ([a-z-]+\/[a-z-]+) \(/gm)].map((m) => m[1]);
    expect(named).to.have.members(rules);
    const resource = manifest.kind === 'Pod' ? 'pod' : 'deployment';
    expect(await exists(ns, resource, manifest.metadata.name)).to.equal(false);
    return r.stderr;
  }

  for (const path of ['/var/run/docker.sock', '//var/run/docker.sock', '/var/run']) {
    it(`refuses a Pod mounting hostPath ${path}`, async function () {
      await expectRefused(pod('socket', hostPath(path)), ['docker-socket/host-path']);
    });
    it(`refuses a Deployment mounting hostPath ${path}`, async function () {
      await expectRefused(deployment('socket', hostPath(path)), ['docker-socket/host-path']);
    });
  }

  const nodePaths: [string, string[]][] = [
    ['/etc/kubernetes', ['privileged/host-path']],
    ['//var/lib/kubelet/pki/', ['privileged/host-path']],
    ['/proc', ['docker-socket/host-path', 'privileged/host-path']],
    ['/', ['docker-socket/host-path', 'privileged/host-path']],
  ];
  for (const [path, rules] of nodePaths) {
    it(`refuses a Pod mounting hostPath ${path}, naming ${rules.join(' and ')}`, async function () {
      await expectRefused(pod('node-path', hostPath(path)), rules);
    });
  }

  it('creates a Pod reading the node logs read-only, with a warning', async function () {
    const r = await apply(
      ns,
      pod('log-reader', (s) => {
        hostPath('/var/log/pods')(s);
        s.containers[0].volumeMounts[0].readOnly = true;
      }),
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(warnings(r)).to.include('privileged/host-path: spec.volumes[0].hostPath.path');
  });

  it('creates a clean Pod as it was sent', async function () {
    const manifest = pod('clean');
    const r = await apply(ns, manifest);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('pod/clean created');
    const created = await getJson(ns, 'pod', 'clean');
    const sent = (manifest.spec as PodSpec).containers[0];
    expect(created.spec.containers[0].securityContext).to.deep.equal(sent.securityContext);
    expect(created.spec.containers[0].resources.limits).to.deep.equal(sent.resources.limits);
  });

  it('refuses a privileged container', async function () {
    await expectRefused(
      pod('privileged', (s) => {
        // The apiserver itself refuses privileged with allowPrivilegeEscalation: false as invalid.
        delete s.containers[0].securityContext.allowPrivilegeEscalation;
        s.containers[0].securityContext.privileged = true;
      }),
      ['privileged/privileged-container'],
    );
  });

  it('refuses a container that sets runAsUser: 0 (no fix overwrites an explicit value)', async function () {
    await expectRefused(
      pod('root', (s) => {
        delete s.containers[0].securityContext.runAsNonRoot;
        s.containers[0].securityContext.runAsUser = 0;
      }),
      ['run-as-root/runs-as-root'],
    );
  });

  it('refuses a literal password in env, without repeating the value anywhere', async function () {
    const secret = 'Tr0ub4dor-e2e-9f2c';
    const stderr = await expectRefused(
      pod('password', (s) => (s.containers[0].env = [{ name: 'DB_PASSWORD', value: secret }])),
      ['env-secrets/literal-secret'],
    );
    expect(stderr).to.not.include(secret);
    expect(await env().gapguard.logs()).to.not.include(secret);
  });

  it('refuses an image on latest or without a tag', async function () {
    for (const image of ['nginx:latest', 'nginx']) {
      await expectRefused(
        pod('floating', (s) => (s.containers[0].image = image)),
        ['unverified-image/not-pinned'],
      );
    }
  });

  it('creates a version-tagged image with a warning when registry lookups are off (nothing can pin it)', async function () {
    const r = await apply(ns, pod('tagged', (s) => (s.containers[0].image = 'nginx:1.27')));
    expect(r.code, r.stderr).to.equal(0);
    expect(warnings(r)).to.include('unverified-image/not-pinned: container "app" image');
    expect((await getJson(ns, 'pod', 'tagged')).spec.containers[0].image).to.equal('nginx:1.27');
  });

  it('patches in the default limits for a container without them', async function () {
    const r = await apply(ns, pod('nolimits', (s) => delete s.containers[0].resources));
    expect(r.code, r.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'nolimits');
    expect(created.spec.containers[0].resources.limits).to.deep.equal({ cpu: '500m', memory: '512Mi' });
  });

  it('patches a missing limit to the request when the request is larger than the default', async function () {
    const r = await apply(ns, pod('bigrequest', (s) => (s.containers[0].resources = { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '4' } })));
    expect(r.code, r.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'bigrequest');
    expect(created.spec.containers[0].resources.limits).to.deep.equal({ cpu: '4', memory: '1Gi' });
  });
});
