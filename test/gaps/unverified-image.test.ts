// unverified-image through the engine: digest pinning with malformed digests and registry ports,
// the digest-pin fix applied and re-evaluated, typosquats and their well-known neighbours, and the
// registry allow-list compared at host and path-segment boundaries.
import { expect } from 'chai';
import type { Operation } from 'fast-json-patch';
import { evaluate } from '../../src/engine/engine.js';
import type { EvalContext } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext, policyWith } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, withFixes } from './gap-fixtures.js';

const GAP = 'unverified-image';
const NOT_PINNED = 'unverified-image/not-pinned';
const TYPOSQUAT = 'unverified-image/typosquat';
const DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function podWithImages(...images: string[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  };
}

/** The patch operations of this gap (other gaps patch security contexts and limits). */
function imageOps(patch: Operation[]): Operation[] {
  return patch.filter((op) => op.path.endsWith('/image'));
}

/** Rules found for a one-container Pod with `image`. */
function rulesFor(image: string, ctx?: EvalContext): string[] {
  return findingsOf(podWithImages(image), GAP, ctx).map((f) => f.rule);
}

const template = (list: string, i: number) => `spec.template.spec.${list}[${i}].image`;

describeFixtures(GAP, {
  'floating-tags': [
    `${NOT_PINNED} @ spec.initContainers[0].image`,
    ...[0, 1, 2, 3].map((i) => `${NOT_PINNED} @ spec.containers[${i}].image`),
    `${NOT_PINNED} @ spec.ephemeralContainers[0].image`,
  ],
  'malformed-digests': [0, 1, 2, 3, 4, 5, 6].map((i) => `${NOT_PINNED} @ ${template('containers', i)}`),
  typosquats: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `${TYPOSQUAT} @ ${template('containers', i)}`),
  'squat-in-init': [
    `${TYPOSQUAT} @ spec.jobTemplate.spec.template.spec.initContainers[0].image`,
    `${TYPOSQUAT} @ spec.jobTemplate.spec.template.spec.containers[0].image`,
  ],
  'worker-template': [`${NOT_PINNED} @ template.spec.containers[0].image`],
  cache: [`${NOT_PINNED} @ ${template('containers', 0)}`],
  'log-shipper': [`${TYPOSQUAT} @ ${template('containers', 0)}`],
  'db-migrate': [`${NOT_PINNED} @ ${template('containers', 0)}`],
  'legacy-frontend': [`${TYPOSQUAT} @ ${template('containers', 0)}`],
});

describe('unverified-image', () => {
  describe('not-pinned', () => {
    it('denies no tag and latest (high), warns on a version tag (medium) where nothing pins it; a registry port is not a tag', () => {
      const findings = findingsOf(fixture(GAP, 'fail', 'floating-tags'), GAP);
      expect(findings.map((f) => [f.severity, f.action])).to.deep.equal([
        ['high', 'deny'],
        ['high', 'deny'],
        ['medium', 'warn'],
        ['high', 'deny'],
        ['medium', 'warn'],
        ['medium', 'warn'],
      ]);
      expect(findings[3]!.message).to.contain('Container "registry-port-is-not-a-tag"').and.contain('no tag');
      expect(findings[1]!.remediation).to.contain('Name the version');
      expect(findings[2]!.remediation).to.contain('gapguard fix --resolve-images');
      expect(findings.every((f) => !f.fixable)).to.equal(true);
    });

    it('denies every unpinned image with unpinnedVersionTags: deny', () => {
      const ctx = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    unpinnedVersionTags: deny\n') });
      const findings = findingsOf(fixture(GAP, 'fail', 'floating-tags'), GAP, ctx);
      expect(findings.map((f) => f.action)).to.deep.equal(Array(6).fill('deny'));
    });

    it('keeps a rule-level warn or off: the version-tag warning never hardens a softer rule', () => {
      const warn = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    rules:\n      unverified-image/not-pinned: { action: warn }\n') });
      expect(findingsOf(podWithImages('nginx', 'nginx:1.27'), GAP, warn).map((f) => f.action)).to.deep.equal(['warn', 'warn']);
      const off = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    rules:\n      unverified-image/not-pinned: { action: off }\n') });
      expect(findingsOf(podWithImages('nginx', 'nginx:1.27'), GAP, off)).to.deep.equal([]);
    });

    it('refuses a policy value other than warn or deny', () => {
      expect(() => policyWith('gaps:\n  unverified-image:\n    unpinnedVersionTags: allow\n')).to.throw(/unpinnedVersionTags: must be warn or deny/);
    });

    it('treats malformed digests and unparseable references as unpinned, high, naming the problem', () => {
      const findings = findingsOf(fixture(GAP, 'fail', 'malformed-digests'), GAP);
      expect(findings.map((f) => [f.severity, f.action])).to.deep.equal(Array(7).fill(['high', 'deny']));
      expect(findings[0]!.message).to.contain('not a valid image reference').and.contain('digest');
      expect(findings[5]!.message).to.contain('must be lowercase');
    });

    it('ignores a container without an image (a controller may fill it in)', () => {
      const pod = podWithImages('nginx@' + DIGEST);
      delete (pod.spec as { containers: Record<string, unknown>[] }).containers[0]!.image;
      expect(findingsOf(pod, GAP)).to.deep.equal([]);
    });
  });

  describe('at admission with registry lookups (admissionPinning)', () => {
    const pod = fixture(GAP, 'fail', 'floating-tags');
    const admission = (images: Record<string, { digest?: string }>, policy?: string): EvalContext => ({
      ...makeContext({ images, ...(policy ? { policy: policyWith(policy) } : {}) }),
      admissionPinning: true,
    });

    it('pins a resolved version tag (deny + fix, so /mutate pins it before /validate sees it) and denies latest, no tag and an unresolved tag', () => {
      const ctx = admission({ 'nginx:1.27': { digest: DIGEST }, 'nginx:latest': { digest: DIGEST }, nginx: { digest: DIGEST } });
      const result = evaluate(pod, ctx)!;
      const findings = result.findings.filter((f) => f.gap === GAP);
      expect(findings.map((f) => [f.path, f.action, f.fixable])).to.deep.equal([
        ['spec.initContainers[0].image', 'deny', false],
        ['spec.containers[0].image', 'deny', false],
        ['spec.containers[1].image', 'deny', true],
        ['spec.containers[2].image', 'deny', false],
        ['spec.containers[3].image', 'deny', false],
        ['spec.ephemeralContainers[0].image', 'deny', false],
      ]);
      expect(findings[3]!.message).to.contain('no tag');
      expect(findings[4]!.message).to.contain('did not give the tag\'s digest');
      expect(findings[4]!.remediation).to.contain('reach and log in to its registry');
      expect(imageOps(result.patch)).to.deep.equal([{ op: 'replace', path: '/spec/containers/1/image', value: `nginx:1.27@${DIGEST}` }]);

      // What /validate then sees: the pinned container has no finding left.
      const after = findingsOf(withFixes(pod, ctx), GAP, ctx).map((f) => f.path);
      expect(after).not.to.include('spec.containers[1].image');
      expect(after).to.have.length(5);
    });

    it('offers no fix when the facts carry no digest or a malformed one, and denies', () => {
      for (const digest of [undefined, 'sha256:1234', `${DIGEST}@evil`]) {
        const ctx = admission({ 'nginx:1.27': digest === undefined ? {} : { digest } });
        const findings = findingsOf(podWithImages('nginx:1.27'), GAP, ctx);
        expect(findings.map((f) => [f.rule, f.action, f.fixable])).to.deep.equal([[NOT_PINNED, 'deny', false]]);
        expect(imageOps(evaluate(podWithImages('nginx:1.27'), ctx)!.patch)).to.deep.equal([]);
      }
    });

    it('never pins latest or a missing tag, even with their digest at hand', () => {
      const ctx = admission({ 'nginx:latest': { digest: DIGEST }, nginx: { digest: DIGEST } });
      expect(imageOps(evaluate(podWithImages('nginx:latest', 'nginx'), ctx)!.patch)).to.deep.equal([]);
    });
  });

  describe('digest pin fix without admission pinning (scan and fix with --resolve-images)', () => {
    const pod = fixture(GAP, 'fail', 'floating-tags');

    it('replaces a version tag with name:tag@digest from registry facts, keeping the tag; the finding stays a warning and goes away once applied', () => {
      const ctx = makeContext({ images: { 'nginx:1.27': { digest: DIGEST }, 'registry.example.com:5000/team/app:2.0': { digest: DIGEST }, 'localhost:5000/app': { digest: DIGEST } } });
      const result = evaluate(pod, ctx)!;
      const fixable = result.findings.filter((f) => f.gap === GAP && f.fixable).map((f) => [f.path, f.action]);
      expect(fixable).to.deep.equal([
        ['spec.containers[1].image', 'warn'],
        ['spec.containers[3].image', 'warn'],
      ]);
      expect(imageOps(result.patch)).to.deep.equal([
        { op: 'replace', path: '/spec/containers/1/image', value: `nginx:1.27@${DIGEST}` },
        { op: 'replace', path: '/spec/containers/3/image', value: `registry.example.com:5000/team/app:2.0@${DIGEST}` },
      ]);

      const after = findingsOf(withFixes(pod, ctx), GAP, ctx).map((f) => f.path);
      expect(after).not.to.include.members(fixable.map(([path]) => path));
      expect(after).to.have.length(4);
    });

    it('does not patch when the policy switches the fix off', () => {
      const ctx = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    fix: false\n'), images: { 'nginx:1.27': { digest: DIGEST } } });
      expect(imageOps(evaluate(podWithImages('nginx:1.27'), ctx)!.patch)).to.deep.equal([]);
    });
  });

  describe('typosquat', () => {
    it('flags transpositions, substitutions and insertions anywhere in the whole name, registry host and namespace included', () => {
      const findings = findingsOf(fixture(GAP, 'fail', 'typosquats'), GAP);
      for (const f of findings) expect(f).to.include({ severity: 'high', action: 'deny', fixable: false });
      const targets = findings.map((f) => /well-known image (\S+):/.exec(f.message)?.[1]);
      expect(targets).to.deep.equal([
        'docker.io/library/nginx',
        'docker.io/library/postgres',
        'docker.io/library/alpine',
        'docker.io/library/redis',
        'docker.io/library/nginx',
        'docker.io/bitnami/redis',
        'quay.io/prometheus/prometheus',
        'docker.io/library/nginx',
        'docker.io/library/nginx',
        'docker.io/alpine/git',
        'docker.io/bitnami/git',
        'docker.io/library/nginx',
        'docker.io/library/gcc',
      ]);
      expect(findings[5]!.message).to.contain('2 edits');
    });

    it('never flags a well-known image, however close to another well-known one', () => {
      const neighbours = fixture(GAP, 'pass', 'well-known-neighbours');
      expect((neighbours.spec as { containers: unknown[] }).containers).to.have.length(13);
      expect(findingsOf(neighbours, GAP)).to.deep.equal([]);
    });

    it('compares a name with its registry: the same path elsewhere is not a Docker Hub look-alike', () => {
      expect(rulesFor(`registry.example.com/library/ngnix@${DIGEST}`)).to.deep.equal([]);
      expect(rulesFor(`ghcr.io/ngnix@${DIGEST}`)).to.deep.equal([]);
      expect(rulesFor(`quay.io/prometheus/prometheus@${DIGEST}`)).to.deep.equal([]);
      expect(rulesFor(`registry.k8s.io/pasue:3.10@${DIGEST}`)).to.deep.equal([]); // registry.k8s.io's own namespace
      expect(rulesFor(`registry.k8s.io.evil.com/pause:3.10@${DIGEST}`)).to.deep.equal([]); // far: caught by the allow-list, not here
      expect(rulesFor(`registry.k8z.io/pause:3.10@${DIGEST}`)).to.deep.equal([TYPOSQUAT]);
      expect(rulesFor(`gcr.io/distroles/static-debian12@${DIGEST}`)).to.deep.equal([TYPOSQUAT]);
    });

    it('merges the policy\'s well-known images with the shipped list: mssql is one edit from mysql until listed', () => {
      expect(rulesFor(`mssql:2022@${DIGEST}`)).to.deep.equal([TYPOSQUAT]);
      const policy = policyWith('gaps:\n  unverified-image:\n    wellKnownImages: [mssql, registry.example.com/team/payments]\n');
      expect(rulesFor(`mssql:2022@${DIGEST}`, makeContext({ policy }))).to.deep.equal([]);
      expect(rulesFor(`registry.example.com/teem/payments:1@${DIGEST}`, makeContext({ policy }))).to.deep.equal([TYPOSQUAT]);
      expect(rulesFor(`registry.example.com/teem/payments:1@${DIGEST}`)).to.deep.equal([]);
      // The team's own other images are not look-alikes of its listed one.
      expect(rulesFor(`registry.example.com/team/paymnets:1@${DIGEST}`, makeContext({ policy }))).to.deep.equal([]);
    });

    it('follows typosquatMaxDistance: 1 drops two-edit names, 0 switches the rule off', () => {
      const one = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    typosquatMaxDistance: 1\n') });
      expect(rulesFor(`bitnarni/redis@${DIGEST}`, one)).to.deep.equal([]);
      expect(rulesFor(`ngnix@${DIGEST}`, one)).to.deep.equal([TYPOSQUAT]);
      const zero = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    typosquatMaxDistance: 0\n') });
      expect(rulesFor(`ngnix@${DIGEST}`, zero)).to.deep.equal([]);
    });

    it('gives the same answer on repeated evaluations (memoized per repository)', () => {
      const ctx = makeContext();
      for (let i = 0; i < 3; i++) expect(rulesFor(`alpnie@${DIGEST}`, ctx)).to.deep.equal([TYPOSQUAT]);
    });
  });

  describe('registry-not-allowed', () => {
    const ctx = makeContext({
      policy: policyWith('gaps:\n  unverified-image:\n    allowedRegistries: [myregistry.io, registry.example.com/team, docker.io/library]\n'),
    });

    const allowed = [
      'myregistry.io/app:1',
      'MyRegistry.io/app:1',
      'myregistry.io/deep/path/app:1',
      'registry.example.com/team/app:1',
      'registry.example.com/team/sub/app:1',
      'nginx:1.27',
      'docker.io/library/nginx:1.27',
      'index.docker.io/library/nginx:1.27',
      'registry-1.docker.io/library/nginx:1.27',
      'registry-1.docker.io/nginx:1.27',
    ];
    for (const image of allowed) {
      it(`allows ${image}`, () => {
        expect(rulesFor(`${image}@${DIGEST}`, ctx)).to.deep.equal([]);
      });
    }

    const refused = [
      'myregistry.io.evil.com/app:1',
      'myregistry.io:5000/app:1',
      'myregistry.iox/app:1',
      'evil.myregistry.io/app:1',
      'registry.example.com/team-evil/app:1',
      'registry.example.com/teamx:1',
      'registry.example.com/other/team/app:1',
      'registry.example.com:443/team/app:1',
      'bitnami/redis:7',
    ];
    for (const image of refused) {
      it(`refuses ${image}`, () => {
        const findings = findingsOf(podWithImages(`${image}@${DIGEST}`), GAP, ctx);
        expect(findings.map((f) => [f.rule, f.severity])).to.deep.equal([['unverified-image/registry-not-allowed', 'high']]);
        expect(findings[0]!.message).to.contain('allowed registries');
      });
    }

    it('refuses an unparseable reference, whose registry cannot be known', () => {
      expect(rulesFor('myregistry.io/App:1', ctx)).to.deep.equal([NOT_PINNED, 'unverified-image/registry-not-allowed']);
    });

    it('reads an entry naming Docker Hub by another name as Docker Hub', () => {
      const hub = makeContext({ policy: policyWith('gaps:\n  unverified-image:\n    allowedRegistries: [Registry-1.Docker.io/bitnami]\n') });
      expect(rulesFor(`bitnami/redis:7.2@${DIGEST}`, hub)).to.deep.equal([]);
      expect(rulesFor(`index.docker.io/bitnami/redis:7.2@${DIGEST}`, hub)).to.deep.equal([]);
      expect(rulesFor(`docker.io/acme/redis:7.2@${DIGEST}`, hub)).to.deep.equal(['unverified-image/registry-not-allowed']);
    });

    it('allows every registry when the list is empty (the default)', () => {
      expect(rulesFor(`myregistry.io.evil.com/app:1@${DIGEST}`)).to.deep.equal([]);
    });
  });
});
