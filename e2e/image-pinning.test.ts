// Registry lookups on, as a cluster should run gapguard: `gapguard serve --resolve-images` against a
// real OCI registry (Debian's docker-registry over HTTPS). In an enforce namespace a version-tagged
// Deployment is pinned to the digest the registry serves and admitted, and the Pods its controllers
// create carry the pin; latest and a tag the registry does not have are refused. gapguard is
// reconfigured with the chart's imageLookups (on, trusting the registry's CA) for this file and put
// back afterwards.
import { expect } from 'chai';
import { startRegistry, type RunningRegistry } from '../test/registry/registry-server.js';
import { apply, auditEvents, createNamespace, eventually, exists, getJson } from './support/kube.js';
import { deployment, type PodSpec } from './support/objects.js';
import { env } from './support/suite.js';

describe('image pinning at admission (enforce, registry lookups on, real docker-registry)', function () {
  this.timeout(300_000);
  let reg: RunningRegistry;
  let ns: string;

  before(async function () {
    reg = await startRegistry({ kind: 'none' }, env().gapguard.registryAddress);
    await env().gapguard.configure({ imageLookups: { caPem: reg.ca } });
    ns = await createNamespace('pinning', 'enforce');
  });

  after(async function () {
    await env().gapguard.configure();
    await reg?.stop();
  });

  const withImage = (image: string) => (s: PodSpec) => {
    s.containers[0].image = image;
  };

  it('pins a version-tagged Deployment to the digest its registry serves and admits it; its Pods carry the pin', async function () {
    const digest = await reg.push('shop/web', '1.4.2', { created: new Date().toISOString() });
    const image = `${reg.host}/shop/web:1.4.2`;
    const r = await apply(ns, deployment('web', withImage(image)));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('deployment.apps/web created');

    const created = await getJson(ns, 'deployment', 'web');
    expect(created.spec.template.spec.containers[0].image).to.equal(`${image}@${digest}`);
    const event = await eventually('the create in the audit log', async () => auditEvents(ns, 'deployments').find((e) => e.verb === 'create' && e.objectRef?.name === 'web'));
    expect(event.annotations?.['enforce.mutate.gapguard.io/decision']).to.equal('patch');
    expect(event.annotations?.['enforce.mutate.gapguard.io/gaps']).to.equal('unverified-image');
    expect(event.annotations?.['enforce.validate.gapguard.io/decision']).to.be.oneOf(['allow', 'warn']);

    // The controller manager's ReplicaSet and Pod go through the webhooks too, already pinned.
    const podImage = await eventually('a Pod of the Deployment', async () => {
      const pods = await getJson<{ items: { metadata: { labels?: Record<string, string> }; spec: PodSpec }[] }>(ns, 'pods', '');
      return pods.items.find((p) => p.metadata.labels?.app === 'web')?.spec.containers[0].image;
    });
    expect(podImage).to.equal(`${image}@${digest}`);
  });

  it('refuses latest although the registry serves it, and a tag the registry does not have', async function () {
    await reg.push('shop/web', 'latest', { created: new Date().toISOString() });
    const latest = await apply(ns, deployment('floating', withImage(`${reg.host}/shop/web:latest`)));
    expect(latest.code, latest.stdout).to.not.equal(0);
    expect(latest.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(latest.stderr).to.include('unverified-image/not-pinned').and.include('Name the version you tested');
    expect(await exists(ns, 'deployment', 'floating')).to.equal(false);

    const missing = await apply(ns, deployment('missing', withImage(`${reg.host}/shop/web:9.9.9`)));
    expect(missing.code, missing.stdout).to.not.equal(0);
    expect(missing.stderr).to.include('unverified-image/not-pinned').and.include('reach and log in to its registry');
    expect(await exists(ns, 'deployment', 'missing')).to.equal(false);
    expect(await env().gapguard.logs()).to.include('image lookup failed');
  });
});
