// Signature verification end to end below the webhook: images pushed to a real docker-registry,
// signed by the real cosign (key-based in the legacy .sig format and as Sigstore bundles attached
// through the sha256-<hex> tag schema, keyless with certificates from a test CA), then looked up
// and judged through the same doors the webhook and scanner use (ImageLookupService, evaluate).
// The corners are the known ways around a verifier: another image's signature, a tampered
// payload, a foreign identity, an expired certificate, a subject that only contains the expected
// one, a stale attestation, and a registry that stops answering mid-request.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/types.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import { factsFrom, ImageLookupService } from '../../src/registry/lookups.js';
import { makeContext } from '../helpers.js';
import { startRegistry, type RunningRegistry } from '../registry/registry-server.js';
import { hardenedPod } from '../admission/objects.js';
import { admitVia, decodedPatch, reviewOf, startTestServer } from '../server/harness.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';
import { cosign, cosignKey, testCa, Workdir, type CosignKey, type TestCa } from './sigstore-fixtures.js';

const ISSUER = 'https://accounts.example.com';
const SUBJECT = 'release@example.com';
const DAY = 86_400_000;

function policyOf(yamlText: string): Policy {
  return parsePolicy(yamlText, 'signatures-test.yaml');
}

async function judge(service: ImageLookupService, policy: Policy, image: string, now = new Date()): Promise<Finding[]> {
  const lookups = await service.lookUp([image], policy);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image }] } };
  const result = evaluate(pod, { ...makeContext({ policy, now }), imageFacts: factsFrom(lookups) })!;
  return result.findings.filter((f) => f.gap === 'unverified-image' && f.rule !== 'unverified-image/not-pinned');
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => f.rule);
}

describe('signature verification (real cosign signatures in a real docker-registry)', function () {
  this.timeout(300_000);
  let reg: RunningRegistry;
  let work: Workdir;
  let ecdsa: CosignKey;
  let other: CosignKey;
  let ca: TestCa;
  let caFile: string;
  const service = () => new ImageLookupService({ budgetMs: 20_000, plainHttp: [], ca: reg.ca, credentials: {} });
  const sign = (args: string[]) => cosign(['sign', '--yes', '--use-signing-config=false', '--tlog-upload=false', ...args], caFile);

  before(async () => {
    work = new Workdir();
    reg = await startRegistry();
    caFile = work.file('registry-ca.crt', reg.ca);
    [ecdsa, other, ca] = await Promise.all([cosignKey(work, 'ecdsa', 'ecdsa'), cosignKey(work, 'other', 'ecdsa'), testCa(work)]);
  });
  after(async () => {
    await reg?.stop();
    work?.remove();
  });

  const keyPolicy = (key: CosignKey, extra = '') =>
    policyOf(`gaps:\n  unverified-image:\n    signatures:\n      - name: shop\n        images: ["${reg.host}/shop/*"]\n        transparencyLog: false\n        keys: [{ file: ${key.publicKeyFile} }]\n${extra}`);

  describe('key-based', () => {
    it('verifies a legacy .sig signature of the tag\'s digest, and denies the unsigned image with how to sign it', async () => {
      const digest = await reg.push('shop/legacy', '1.0', { created: '2026-11-01T00:00:00Z' });
      await reg.push('shop/unsigned', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', `${reg.host}/shop/legacy@${digest}`]);
      const policy = keyPolicy(ecdsa);
      expect(await judge(service(), policy, `${reg.host}/shop/legacy:1.0`)).to.deep.equal([]);
      const [unsigned] = await judge(service(), policy, `${reg.host}/shop/unsigned:1.0`);
      expect(unsigned).to.include({ rule: 'unverified-image/not-signed', action: 'deny', severity: 'high' });
      expect(unsigned!.message).to.match(/signature requirement "shop": no cosign signature is attached/);
      expect(unsigned!.remediation).to.contain(`cosign sign --key <cosign.key> --use-signing-config=false --tlog-upload=false ${reg.host}/shop/unsigned@sha256:`);
    });

    it('verifies a Sigstore bundle attached through the sha256-<hex> tag schema (the registry has no referrers API)', async () => {
      const digest = await reg.push('shop/bundle', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=true', `${reg.host}/shop/bundle@${digest}`]);
      expect(await judge(service(), keyPolicy(ecdsa), `${reg.host}/shop/bundle@${digest}`)).to.deep.equal([]);
    });

    it('verifies Ed25519 and RSA keys in both formats', async () => {
      for (const type of ['ed25519', 'rsa'] as const) {
        const key = await cosignKey(work, type, type);
        for (const bundle of [false, true]) {
          const digest = await reg.push(`shop/${type}-${bundle}`, '1.0', { created: '2026-11-01T00:00:00Z' });
          await sign(['--key', key.privateKey, `--new-bundle-format=${bundle}`, `${reg.host}/shop/${type}-${bundle}@${digest}`]);
          expect(await judge(service(), keyPolicy(key), `${reg.host}/shop/${type}-${bundle}@${digest}`), `${type} bundle=${bundle}`).to.deep.equal([]);
          expect(rules(await judge(service(), keyPolicy(ecdsa), `${reg.host}/shop/${type}-${bundle}@${digest}`))).to.deep.equal(['unverified-image/not-signed']);
        }
      }
    });

    it('refuses a signature without a transparency-log entry when the requirement needs one', async () => {
      const digest = await reg.push('shop/no-log', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', `${reg.host}/shop/no-log@${digest}`]);
      const policy = policyOf(`gaps:\n  unverified-image:\n    signatures:\n      - name: logged\n        images: ["${reg.host}/shop/*"]\n        trustedRoot: ${ca.trustedRootFile}\n        keys: [{ file: ${ecdsa.publicKeyFile} }]\n`);
      const [finding] = await judge(service(), policy, `${reg.host}/shop/no-log@${digest}`);
      expect(finding!.rule).to.equal('unverified-image/not-signed');
      expect(finding!.message).to.match(/legacy \.sig: expected 1 timestamps, got 0 \(the requirement needs a transparency-log entry\)/);
    });

    it('refuses a signature by a key the requirement does not list, in both formats', async () => {
      const digest = await reg.push('shop/foreign', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', other.privateKey, '--new-bundle-format=false', `${reg.host}/shop/foreign@${digest}`]);
      await sign(['--key', other.privateKey, '--new-bundle-format=true', `${reg.host}/shop/foreign@${digest}`]);
      const [finding] = await judge(service(), keyPolicy(ecdsa), `${reg.host}/shop/foreign@${digest}`);
      expect(finding!.rule).to.equal('unverified-image/not-signed');
      expect(finding!.message).to.match(/legacy \.sig: signed with a key that is not/);
      expect(finding!.message).to.match(/Sigstore bundle: signed with a key that is not/);
    });
  });
  describe('keyless (certificates from a test CA, trusted through a generated trusted_root.json)', () => {
    const keylessPolicy = (identity: string) =>
      policyOf(`gaps:\n  unverified-image:\n    signatures:\n      - name: releases\n        images: ["${reg.host}/rel/*"]\n        trustedRoot: ${ca.trustedRootFile}\n        transparencyLog: false\n        keyless: [${identity}]\n`);
    const exact = `{ issuer: "${ISSUER}", subject: "${SUBJECT}" }`;

    async function signedBy(repo: string, cert: { subject: string; issuer: string; notBefore?: Date; notAfter?: Date }, format: 'legacy' | 'bundle' = 'legacy'): Promise<string> {
      const digest = await reg.push(`rel/${repo}`, '1.0', { created: '2026-11-01T00:00:00Z' });
      const leaf = await ca.issue(repo, cert);
      await sign(['--key', leaf.key, '--certificate', leaf.certificate, '--certificate-chain', leaf.chain, `--new-bundle-format=${format === 'bundle'}`, `${reg.host}/rel/${repo}@${digest}`]);
      return `${reg.host}/rel/${repo}@${digest}`;
    }

    it('verifies the expected issuer and subject, in both formats, exactly or by an anchored pattern', async () => {
      const legacy = await signedBy('good', { subject: SUBJECT, issuer: ISSUER });
      const bundle = await signedBy('good-bundle', { subject: SUBJECT, issuer: ISSUER }, 'bundle');
      for (const image of [legacy, bundle]) {
        expect(await judge(service(), keylessPolicy(exact), image), image).to.deep.equal([]);
        expect(await judge(service(), keylessPolicy(`{ issuer: "${ISSUER}", subjectPattern: "release@example\\\\.(com|org)" }`), image)).to.deep.equal([]);
      }
    });

    it('refuses another issuer, another subject, and a subject that merely contains the expected one', async () => {
      const cases: [string, { subject: string; issuer: string }, RegExp][] = [
        ['wrong-issuer', { subject: SUBJECT, issuer: 'https://evil.example' }, /signed by https:\/\/evil\.example release@example\.com, not by an accepted identity/],
        ['wrong-subject', { subject: 'mallory@example.com', issuer: ISSUER }, /signed by https:\/\/accounts\.example\.com mallory@example\.com, not/],
        ['longer-subject', { subject: 'release@example.com.evil.io', issuer: ISSUER }, /release@example\.com\.evil\.io, not by an accepted identity/],
      ];
      for (const [repo, cert, reason] of cases) {
        const image = await signedBy(repo, cert);
        for (const identity of [exact, `{ issuer: "${ISSUER}", subjectPattern: "release@example\\\\.com" }`]) {
          const findings = await judge(service(), keylessPolicy(identity), image);
          expect(rules(findings), repo).to.deep.equal(['unverified-image/not-signed']);
          expect(findings[0]!.message).to.match(reason);
        }
      }
    });

    it('refuses an expired certificate and one from a CA the trusted root does not list', async () => {
      // cosign will not sign with an expired certificate: a short-lived one (as Fulcio's are) expires after signing.
      const notAfter = new Date(Date.now() + 15_000);
      const expired = await signedBy('expired', { subject: SUBJECT, issuer: ISSUER, notBefore: new Date(Date.now() - DAY), notAfter });
      await new Promise((r) => setTimeout(r, Math.max(0, notAfter.getTime() - Date.now() + 1000)));
      const [finding] = await judge(service(), keylessPolicy(exact), expired);
      expect(finding!.rule).to.equal('unverified-image/not-signed');
      expect(finding!.message).to.match(/certificate/i);
      const stranger = await testCa(work);
      const digest = await reg.push('rel/stranger', '1.0', { created: '2026-11-01T00:00:00Z' });
      const leaf = await stranger.issue('stranger', { subject: SUBJECT, issuer: ISSUER });
      await sign(['--key', leaf.key, '--certificate', leaf.certificate, '--certificate-chain', leaf.chain, '--new-bundle-format=false', `${reg.host}/rel/stranger@${digest}`]);
      const [foreign] = await judge(service(), keylessPolicy(exact), `${reg.host}/rel/stranger@${digest}`);
      expect(foreign!.rule).to.equal('unverified-image/not-signed');
      expect(foreign!.message).to.match(/certificate/i);
    });
  });

  describe('bypasses', () => {
    it('refuses a valid signature copied from another image, and a tampered payload', async () => {
      const signedDigest = await reg.push('shop/original', '1.0', { created: '2026-11-01T00:00:00Z' });
      const otherDigest = await reg.push('shop/original', '2.0', { created: '2026-11-02T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', `${reg.host}/shop/original@${signedDigest}`]);
      const sigTag = `${signedDigest.replace(':', '-')}.sig`;
      const sigManifest = await reg.manifest('shop/original', sigTag);
      const mediaType = 'application/vnd.oci.image.manifest.v1+json';
      // The signature of 1.0 placed where cosign looks for 2.0's.
      await reg.pushManifestBytes('shop/original', `${otherDigest.replace(':', '-')}.sig`, sigManifest, mediaType);
      const [copied] = await judge(service(), keyPolicy(ecdsa), `${reg.host}/shop/original:2.0`);
      expect(copied!.rule).to.equal('unverified-image/not-signed');
      expect(copied!.message).to.contain(`a valid signature over another image (${signedDigest}), not ${otherDigest}`);

      // The payload of 1.0's signature rewritten to name 2.0, keeping the signature.
      const manifest = JSON.parse(sigManifest.toString('utf8')) as { layers: { digest: string; size: number }[] };
      const payload = JSON.parse((await reg.blob('shop/original', manifest.layers[0]!.digest)).toString('utf8')) as { critical: { image: Record<string, string> } };
      payload.critical.image['docker-manifest-digest'] = otherDigest;
      const forged = Buffer.from(JSON.stringify(payload));
      manifest.layers[0]!.digest = await reg.pushBlob('shop/original', forged);
      manifest.layers[0]!.size = forged.length;
      await reg.pushManifestBytes('shop/original', `${otherDigest.replace(':', '-')}.sig`, Buffer.from(JSON.stringify(manifest)), mediaType);
      const [tampered] = await judge(service(), keyPolicy(ecdsa), `${reg.host}/shop/original:2.0`);
      expect(tampered!.rule).to.equal('unverified-image/not-signed');
      expect(tampered!.message).to.match(/legacy \.sig: signed with a key that is not .*or the signature does not match what it signs/);
    });
  });

  describe('attestations', () => {
    const vulnType = 'https://cosign.sigstore.dev/attestation/vuln/v1';
    const scan = (finished: Date) =>
      JSON.stringify({ invocation: { uri: 'https://ci.example/1' }, scanner: { uri: 'pkg:github/aquasecurity/trivy', version: '0.60.0', result: {} }, metadata: { scanStartedOn: finished.toISOString(), scanFinishedOn: finished.toISOString() } });
    const attestPolicy = () => keyPolicy(ecdsa, `        attestations: [{ predicateType: "${vulnType}", maxAgeDays: 7 }]\n`);

    it('accepts a fresh scan attestation, reports a stale one with its age, and a missing one', async () => {
      const images: Record<string, string> = {};
      for (const [name, age, format] of [['fresh', 1, 'true'], ['stale', 40, 'false'], ['none', 0, '']] as const) {
        const digest = await reg.push(`shop/att-${name}`, '1.0', { created: '2026-11-01T00:00:00Z' });
        images[name] = `${reg.host}/shop/att-${name}@${digest}`;
        await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', images[name]!]);
        if (!format) continue;
        const predicate = work.file(`${name}-scan.json`, scan(new Date(Date.now() - age * DAY)));
        await cosign(['attest', '--yes', '--use-signing-config=false', '--tlog-upload=false', `--new-bundle-format=${format}`, '--key', ecdsa.privateKey, '--type', 'vuln', '--predicate', predicate, images[name]!], caFile);
      }
      expect(await judge(service(), attestPolicy(), images.fresh!)).to.deep.equal([]);
      const [stale] = await judge(service(), attestPolicy(), images.stale!);
      expect(stale).to.include({ rule: 'unverified-image/attestation-stale', action: 'deny' });
      expect(stale!.message).to.contain(`its newest ${vulnType} attestation is 40 days old; signature requirement "shop" accepts at most 7 days`);
      const [missing] = await judge(service(), attestPolicy(), images.none!);
      expect(missing!.rule).to.equal('unverified-image/attestation-missing');
      expect(missing!.remediation).to.contain(`cosign attest --key <cosign.key> --use-signing-config=false --tlog-upload=false --type ${vulnType} --predicate <file>`);
    });
  });

  describe('doors', () => {
    it('the webhook: /mutate pins exactly the verified digest, /validate admits it and denies an unsigned image with the reason', async () => {
      const digest = await reg.push('shop/web', '3.1', { created: '2026-11-01T00:00:00Z' });
      await reg.push('shop/web-unsigned', '3.1', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=true', `${reg.host}/shop/web@${digest}`]);
      const policy = `gaps:\n  unverified-image:\n    signatures:\n      - name: shop\n        images: ["${reg.host}/shop/*"]\n        transparencyLog: false\n        keys: [{ file: ${ecdsa.publicKeyFile} }]\n`;
      const server = await startTestServer({ policy, imageLookups: { budgetMs: 4000, plainHttp: [], ca: reg.ca, credentials: {} } });
      try {
        const pod = (image: string) => {
          const p = hardenedPod();
          (p.spec as { containers: { image: string }[] }).containers[0]!.image = image;
          return p;
        };
        const mutated = await admitVia(server, '/mutate', reviewOf(pod(`${reg.host}/shop/web:3.1`)));
        expect(decodedPatch(mutated)).to.deep.equal([{ op: 'replace', path: '/spec/containers/0/image', value: `${reg.host}/shop/web:3.1@${digest}` }]);
        const admitted = await admitVia(server, '/validate', reviewOf(pod(`${reg.host}/shop/web:3.1@${digest}`)));
        expect(admitted.allowed).to.equal(true);
        const denied = await admitVia(server, '/validate', reviewOf(pod(`${reg.host}/shop/web-unsigned:3.1`)));
        expect(denied.allowed).to.equal(false);
        expect(denied.status!.message).to.contain('- unverified-image/not-signed (container "web", spec.containers[0].image, requirement "shop": not signed): No cosign signature is attached to it');
        expect(denied.status!.message).to.contain(`cosign sign --key <cosign.key> --use-signing-config=false --tlog-upload=false ${reg.host}/shop/web-unsigned@sha256:`);
      } finally {
        await server.close();
      }
    });

    it('gapguard scan --resolve-images: the same verdicts, exit code 1 for the unsigned image', async () => {
      const digest = await reg.push('shop/cli', '1.0', { created: '2026-11-01T00:00:00Z' });
      await reg.push('shop/cli-unsigned', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', `${reg.host}/shop/cli@${digest}`]);
      const policyFile = work.file('cli-policy.yaml', `gaps:\n  unverified-image:\n    signatures:\n      - name: shop\n        images: ["${reg.host}/shop/*"]\n        transparencyLog: false\n        keys: [{ file: ${ecdsa.publicKeyFile} }]\n`);
      const manifest = (image: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: shop }\nspec:\n  containers: [{ name: app, image: "${image}" }]\n`;
      const scan = (image: string) =>
        new Promise<{ code: number | null; report: { results: { findings: { rule: string; message: string }[] }[] } }>((resolve) => {
          const child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'scan', '--output', 'json', '--policy', policyFile, '--resolve-images', '--registry-ca', caFile, work.file(`m-${Math.random()}.yaml`, manifest(image))]);
          let out = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.on('close', (code) => resolve({ code, report: JSON.parse(out) as { results: { findings: { rule: string; message: string }[] }[] } }));
        });
      const signed = await scan(`${reg.host}/shop/cli@${digest}`);
      expect(signed.report.results[0]!.findings.map((f) => f.rule).filter((r) => r.startsWith('unverified-image'))).to.deep.equal([]);
      const unsigned = await scan(`${reg.host}/shop/cli-unsigned:1.0`);
      expect(unsigned.code).to.equal(1);
      expect(unsigned.report.results[0]!.findings.map((f) => f.rule)).to.include('unverified-image/not-signed');
    });
  });

  describe('a registry that stops answering', () => {
    it('denies as verification-unavailable within the budget, never allows', async () => {
      const digest = await reg.push('shop/hang', '1.0', { created: '2026-11-01T00:00:00Z' });
      await sign(['--key', ecdsa.privateKey, '--new-bundle-format=false', `${reg.host}/shop/hang@${digest}`]);
      const proxy = await freezingProxy(reg.host);
      try {
        const lookups = new ImageLookupService({ budgetMs: 1500, plainHttp: [], ca: reg.ca, credentials: {} });
        const image = `${proxy.host}/shop/hang:1.0`;
        const policy = policyOf(`gaps:\n  unverified-image:\n    signatures:\n      - images: ["${proxy.host}/shop/*"]\n        transparencyLog: false\n        keys: [{ file: ${ecdsa.publicKeyFile} }]\n`);
        // The tag resolves (and is cached) while the registry answers; then it stops, mid-exchange.
        expect(await judge(lookups, policy, image)).to.deep.equal([]);
        const cold = new ImageLookupService({ budgetMs: 1500, plainHttp: [], ca: reg.ca, credentials: {} });
        await cold.lookUp([image], policyOf('{}'));
        proxy.freeze();
        const started = Date.now();
        const [finding] = await judge(cold, policy, image);
        expect(Date.now() - started).to.be.below(3000);
        expect(finding).to.include({ rule: 'unverified-image/verification-unavailable', action: 'deny' });
        expect(finding!.message).to.match(/could not be checked: the registry did not answer within the lookup budget/);
      } finally {
        await proxy.close();
      }
    });
  });
});

/** A TCP proxy to the registry that, once frozen, forwards nothing more and never closes: a registry that stopped mid-request. */
async function freezingProxy(target: string): Promise<{ host: string; freeze(): void; close(): Promise<void> }> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(targetPort), targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (d) => !frozen && upstream.write(d));
    upstream.on('data', (d) => !frozen && client.write(d));
    client.on('end', () => !frozen && upstream.end());
    upstream.on('end', () => !frozen && client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    freeze: () => (frozen = true),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
