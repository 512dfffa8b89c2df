// Signature verification at admission in a real cluster: the suite's server is restarted with
// registry lookups on and a signature requirement for images of a real docker-registry on
// 127.0.0.1, where the real cosign signed one image and not another. kubectl apply of the signed
// image's tag creates a Pod pinned to exactly the verified digest (the mutating webhook); the
// unsigned one is refused with the requirement and how to sign (the validating webhook). The
// original server is back for the other scenarios whatever happens.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseDocument } from 'yaml';
import { startRegistry, type RunningRegistry } from '../test/registry/registry-server.js';
import { cosign, cosignKey, Workdir } from '../test/signatures/sigstore-fixtures.js';
import { GapguardServer } from './support/gapguard.js';
import { apply, createNamespace, exists, getJson } from './support/kube.js';
import { pod } from './support/objects.js';
import { env } from './support/suite.js';

describe('signature verification at admission (real cosign signatures, real docker-registry)', function () {
  this.timeout(300_000);
  let reg: RunningRegistry;
  let work: Workdir;
  let server: GapguardServer | undefined;
  let ns: string;
  let digest: string;
  const stopOnExit = () => server?.killNow();

  before(async function () {
    work = new Workdir();
    reg = await startRegistry();
    const caFile = work.file('registry-ca.crt', reg.ca);
    const key = await cosignKey(work, 'e2e', 'ecdsa');
    digest = await reg.push('e2e/signed', '1.0', { created: new Date().toISOString() });
    await reg.push('e2e/unsigned', '1.0', { created: new Date().toISOString() });
    await cosign(['sign', '--yes', '--use-signing-config=false', '--tlog-upload=false', '--key', key.privateKey, `${reg.host}/e2e/signed@${digest}`], caFile);

    // The chart's policy with one signature requirement added.
    const original = env().gapguard.options;
    const policy = parseDocument(readFileSync(original.policyFile, 'utf8'));
    policy.setIn(['gaps', 'unverified-image', 'signatures'], [{ name: 'e2e', images: [`${reg.host}/e2e/*`], transparencyLog: false, keys: [{ file: key.publicKeyFile }] }]);
    const policyFile = join(work.dir, 'policy.yaml');
    writeFileSync(policyFile, policy.toString());

    await env().gapguard.stop();
    server = new GapguardServer({ ...original, policyFile, extraArgs: ['--resolve-images', '--registry-ca', caFile, '--image-lookup-budget', '3500'] });
    process.once('exit', stopOnExit);
    await server.start(env().servingCaPem);
    ns = await createNamespace('signatures', 'enforce');
  });

  after(async function () {
    await server?.stop();
    process.removeListener('exit', stopOnExit);
    await env().gapguard.start(env().servingCaPem);
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
