// Signature verification at admission in a real cluster: gapguard is reconfigured through the
// chart with registry lookups on and a signature requirement (policy.gaps.unverified-image.signatures,
// its public key mounted with signatures.mounts) for images of a real docker-registry, where the
// real cosign signed one image and not another. kubectl apply of the signed image's tag creates a
// Pod pinned to exactly the verified digest (the mutating webhook); the unsigned one is refused with
// the requirement and how to sign (the validating webhook). The suite's settings are back for the
// other scenarios whatever happens.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { startRegistry, type RunningRegistry } from '../test/registry/registry-server.js';
import { cosign, cosignKey, Workdir } from '../test/signatures/sigstore-fixtures.js';
import { apply, createNamespace, exists, getJson } from './support/kube.js';
import { pod } from './support/objects.js';
import { env } from './support/suite.js';

describe('signature verification at admission (real cosign signatures, real docker-registry)', function () {
  this.timeout(300_000);
  let reg: RunningRegistry;
  let work: Workdir;
  let ns: string;
  let digest: string;

  before(async function () {
    const g = env().gapguard;
    work = new Workdir();
    reg = await startRegistry({ kind: 'none' }, g.registryAddress);
    const caFile = work.file('registry-ca.crt', reg.ca);
    const key = await cosignKey(work, 'e2e', 'ecdsa');
    digest = await reg.push('e2e/signed', '1.0', { created: new Date().toISOString() });
    await reg.push('e2e/unsigned', '1.0', { created: new Date().toISOString() });
    await cosign(['sign', '--yes', '--use-signing-config=false', '--tlog-upload=false', '--key', key.privateKey, `${reg.host}/e2e/signed@${digest}`], caFile);

    // The chart's policy with one signature requirement added; a longer lookup budget (signatures
    // are fetched too), so longer webhook timeouts, as the chart requires.
    await g.configure({
      policy: { gaps: { 'unverified-image': { signatures: [{ name: 'e2e', images: [`${reg.host}/e2e/*`], transparencyLog: false, keys: [{ file: g.keyPath('e2e-keys', 'cosign.pub') }] }] } } },
      imageLookups: { caPem: reg.ca, budgetMs: 3500 },
      timeoutSeconds: { enforce: 5, audit: 5 },
      keys: { name: 'e2e-keys', files: { 'cosign.pub': readFileSync(key.publicKeyFile, 'utf8') } },
    });
    ns = await createNamespace('signatures', 'enforce');
  });

  after(async function () {
    await env().gapguard.configure();
    await reg?.stop();
    work?.remove();
  });

  it('admits a signed image by tag and pins the Pod to the digest that was verified', async function () {
    const manifest = pod('signed', (s) => (s.containers[0].image = `${reg.host}/e2e/signed:1.0`));
    const r = await apply(ns, manifest);
    expect(r.code, r.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'signed');
    expect(created.spec.containers[0].image).to.equal(`${reg.host}/e2e/signed:1.0@${digest}`);
  });

  it('refuses an unsigned image, naming the requirement and how to sign it', async function () {
    const r = await apply(ns, pod('unsigned', (s) => (s.containers[0].image = `${reg.host}/e2e/unsigned:1.0`)));
    expect(r.code, r.stdout).to.not.equal(0);
    expect(r.stderr).to.include('admission webhook "enforce.validate.gapguard.io" denied the request');
    expect(r.stderr).to.match(/- unverified-image\/not-signed \(container "app", spec\.containers\[0\]\.image, requirement "e2e": not signed\): No cosign signature is attached/);
    expect(r.stderr).to.include(`cosign sign --key <cosign.key> --use-signing-config=false --tlog-upload=false ${reg.host}/e2e/unsigned@sha256:`);
    expect(await exists(ns, 'pod', 'unsigned')).to.equal(false);
  });
});
