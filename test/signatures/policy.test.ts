// The signatures section of the policy: image patterns matched as parsed references, public keys
// of cosign's three types, keyless identities with a trusted root, and an error with the field and
// line for every wrong input. The rules themselves run against real signatures in
// verification.test.ts.
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { requirementsFor } from '../../src/signatures/policy.js';
import type { SignatureRequirement } from '../../src/signatures/types.js';
import { evaluate } from '../../src/engine/engine.js';
import { parsePolicy } from '../../src/policy/load.js';
import { itMatchesImagePatterns, makeContext, policyErrorOf } from '../helpers.js';
import { testCa, Workdir } from './sigstore-fixtures.js';

function matches(pattern: string, image: string): boolean {
  return requirementsFor([{ images: [pattern] } as SignatureRequirement], image).length === 1;
}

const pem = (type: 'ec' | 'ed25519' | 'rsa', option: Record<string, unknown> = {}) =>
  (generateKeyPairSync(type as 'ec', option as { namedCurve: string }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
const indent = (text: string, spaces: number) => text.trim().split('\n').map((l) => ' '.repeat(spaces) + l).join('\n');

function signaturesPolicy(entry: string): string {
  return `gaps:\n  unverified-image:\n    signatures:\n${indent(entry, 6)}\n`;
}

describe('signature requirements in the policy', () => {
  describe('image patterns (matched as exemptions match images: on the parsed reference)', () => {
    const cases: [string, string, boolean][] = [
      ['registry.example.com/shop/*', 'registry.example.com/shop/api:1.0', true],
      ['registry.example.com/shop/*', 'registry.example.com/shop/team/api@sha256:' + 'a'.repeat(64), true],
      // Whole host, never a string prefix.
      ['registry.example.com/shop/*', 'registry.example.com.evil.io/shop/api:1', false],
      ['registry.example.com/shop/*', 'registry.example.com:5000/shop/api:1', false],
      // Docker Hub's normalisation: nginx is docker.io/library/nginx, whatever the spelling.
      ['nginx', 'docker.io/library/nginx:1.27', true],
      ['docker.io/library/nginx', 'index.docker.io/library/nginx', true],
      ['nginx', 'docker.io/acme/nginx', false],
      ['localhost:5000/app', 'localhost:5000/app:1', true],
      ['*.example.com/*', 'eu.example.com/a/b:1', true],
      ['*.example.com/*', 'example.com/a:1', false],
    ];
    itMatchesImagePatterns(cases, matches, (p, image, expected) => `${p} ${expected ? 'matches' : 'does not match'} ${image}`);
  });

  describe('signers', () => {
    let work: Workdir;
    before(() => (work = new Workdir()));
    after(() => work.remove());

    it('accepts ECDSA P-256, Ed25519 and RSA keys, inline or from a file', () => {
      const file = work.file('rsa.pub', pem('rsa', { modulusLength: 2048 }));
      const policy = parsePolicy(
        signaturesPolicy(`
- name: shop
  images: [registry.example.com/shop/*]
  transparencyLog: false
  keys:
    - pem: |
${indent(pem('ec', { namedCurve: 'P-256' }), 8)}
    - pem: |
${indent(pem('ed25519'), 8)}
    - file: ${file}`),
        'p.yaml',
      );
      const [req] = policy.unverifiedImage.signatures;
      expect(req!.name).to.equal('shop');
      expect(req!.keys.map((k) => k.key.asymmetricKeyType)).to.deep.equal(['ec', 'ed25519', 'rsa']);
      expect(req!.keys[2]!.source).to.equal(file);
    });

    it('refuses other curves, short RSA keys, text that is no key and unreadable files, naming the field and line', () => {
      const err = policyErrorOf(signaturesPolicy(`
- images: [registry.example.com/*]
  transparencyLog: false
  keys:
    - pem: |
${indent(pem('ec', { namedCurve: 'P-384' }), 8)}`));
      expect(err.field).to.equal('gaps.unverified-image.signatures.0.keys.0.pem');
      expect(err.line).to.equal(7);
      expect(err.problem).to.match(/ECDSA key on secp384r1; accepted: ECDSA P-256, Ed25519, RSA/);
      expect(policyErrorOf(signaturesPolicy(`
- images: [registry.example.com/*]
  transparencyLog: false
  keys: [{ pem: "${pem('rsa', { modulusLength: 1024 }).replace(/\n/g, '\\n')}" }]`)).problem).to.match(/1024-bit RSA key/);
      const missing = policyErrorOf(signaturesPolicy(`
- images: [registry.example.com/*]
  transparencyLog: false
  keys: [{ file: ${work.dir}/nope.pub }]`));
      expect(missing.problem).to.match(/cannot read .*nope\.pub: ENOENT/);
      expect(policyErrorOf(signaturesPolicy(`
- images: [registry.example.com/*]
  transparencyLog: false
  keys: [{ file: relative.pub }]`)).problem).to.match(/absolute path/);
      expect(policyErrorOf(signaturesPolicy(`
- images: [registry.example.com/*]
  transparencyLog: false
  keys: [{ pem: "not a key" }]`)).problem).to.match(/not a PEM public key/);
    });

    it('needs a signer, images, a trusted root for keyless signers and for the transparency log', () => {
      expect(policyErrorOf(signaturesPolicy('- images: [a.io/b]\n  transparencyLog: false')).problem).to.match(/at least one signer/);
      expect(policyErrorOf(signaturesPolicy(`- keys: [{ file: ${work.file('k.pub', pem('ed25519'))} }]\n  transparencyLog: false`)).problem).to.match(/at least one image pattern/);
      const keyless = policyErrorOf(signaturesPolicy('- images: [a.io/b]\n  transparencyLog: false\n  keyless: [{ issuer: https://accounts.example.com, subject: ci@example.com }]'));
      expect(keyless.field).to.equal('gaps.unverified-image.signatures.0.trustedRoot');
      const tlog = policyErrorOf(signaturesPolicy(`- images: [a.io/b]\n  keys: [{ file: ${work.dir}/k.pub }]`));
      expect(tlog.field).to.equal('gaps.unverified-image.signatures.0.transparencyLog');
      expect(tlog.problem).to.match(/needs trustedRoot/);
      expect(policyErrorOf(signaturesPolicy('- images: [a.io/b]\n  keyless: [{ issuer: https://i, subject: a, subjectPattern: b }]')).problem).to.match(/exactly one of subject/);
      expect(policyErrorOf(signaturesPolicy('- images: [a.io/b]\n  keyless: [{ issuer: https://i, subjectPattern: "(" }]')).problem).to.match(/not a regular expression/);
      expect(policyErrorOf(signaturesPolicy('- images: [a.io/b]\n  colour: blue')).field).to.equal('gaps.unverified-image.signatures.0.colour');
    });

    it('reads a trusted_root.json and refuses one that is not', async () => {
      const ca = await testCa(work);
      const policy = parsePolicy(
        signaturesPolicy(`
- images: [a.io/b]
  trustedRoot: ${ca.trustedRootFile}
  transparencyLog: false
  keyless: [{ issuer: https://accounts.example.com, subjectPattern: ".*@example\\\\.com" }]`),
        'p.yaml',
      );
      const [req] = policy.unverifiedImage.signatures;
      expect(req!.trustedRoot!.material.certificateAuthorities).to.have.length(1);
      // Anchored: the pattern must match the whole identity.
      expect(req!.keyless[0]!.subjectPattern!.test('ci@example.com')).to.equal(true);
      expect(req!.keyless[0]!.subjectPattern!.test('ci@example.com.evil.io')).to.equal(false);
      const bad = policyErrorOf(signaturesPolicy(`- images: [a.io/b]\n  trustedRoot: ${work.file('bad.json', '{"certificateAuthorities": "x"}')}\n  keyless: [{ issuer: https://i, subject: s }]`));
      expect(bad.field).to.equal('gaps.unverified-image.signatures.0.trustedRoot');
      expect(bad.problem).to.match(/not a Sigstore trusted root|lists no certificate authority/);
    });

    it('without registry lookups, an image under a requirement is denied as unverifiable, never allowed silently', () => {
      const policy = parsePolicy(signaturesPolicy(`- name: shop\n  images: [registry.example.com/shop/*]\n  transparencyLog: false\n  keys: [{ file: ${work.file('k2.pub', pem('ed25519'))} }]`), 'p.yaml');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'api', image: 'registry.example.com/shop/api@sha256:' + 'b'.repeat(64) }, { name: 'other', image: 'registry.example.com/blog/web@sha256:' + 'b'.repeat(64) }] } };
      const result = evaluate(pod, makeContext({ policy }))!;
      const finding = result.findings.find((f) => f.rule === 'unverified-image/verification-unavailable')!;
      expect(finding).to.include({ action: 'deny', path: 'spec.containers[0].image' });
      expect(finding.message).to.match(/signature requirement "shop".*registry lookups are off/);
      expect(result.findings.filter((f) => f.gap === 'unverified-image')).to.have.length(1);
    });
  });
});
