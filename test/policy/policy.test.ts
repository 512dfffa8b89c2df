// The policy file: merged over the embedded default, validated field by field with the line of
// the offending field, and exemptions that waive gaps until they expire.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { defaultPolicy, loadPolicyFile, parsePolicy, PolicyError } from '../../src/policy/load.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { itMatchesImagePatterns, makeContext, policyErrorOf, policyWith } from '../helpers.js';

const privilegedPod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'agent-7f9', namespace: 'monitoring' },
  spec: {
    serviceAccountName: 'node-agent',
    containers: [{ name: 'agent', image: 'quay.io/acme/agent:2.1', securityContext: { privileged: true } }],
  },
};

function gapsOf(obj: KubeObject, policyYaml: string, now = new Date('2026-11-28T12:00:00Z')) {
  const result = evaluate(obj, makeContext({ policy: policyWith(policyYaml), now }))!;
  return { gaps: result.findings.map((f) => f.gap), notes: result.notes };
}

describe('policy', () => {
  it('embeds the default policy of the gap model', () => {
    const p = defaultPolicy();
    expect(p.mode).to.equal('enforce');
    expect(p.gaps['docker-socket']).to.include({ action: 'deny', fix: false });
    expect(p.gaps['flat-network'].action).to.equal('warn');
    expect(p.gaps['stale-image'].action).to.equal('warn');
    expect(p.gaps.privileged.rules['privileged/escalation']).to.deep.equal({ action: 'warn' });
    expect(p.gaps['env-secrets'].rules['env-secrets/secret-reference']).to.deep.equal({ action: 'warn' });
    expect(p.runAsRoot.allowedCapabilities).to.deep.equal(['NET_BIND_SERVICE']);
    expect(p.staleImage.maxImageAgeDays).to.equal(90);
  });

  it('merges a file over the default: set fields replace, the rest stays', () => {
    const p = parsePolicy('mode: audit\ngaps:\n  run-as-root:\n    allowedCapabilities: [cap_net_raw, CHOWN]\n  flat-network:\n    action: off\n');
    expect(p.mode).to.equal('audit');
    expect(p.runAsRoot.allowedCapabilities).to.deep.equal(['NET_RAW', 'CHOWN']);
    expect(p.gaps['run-as-root']).to.include({ action: 'deny', fix: true });
    expect(p.gaps['flat-network'].action).to.equal('off');
    expect(p.gaps['docker-socket'].action).to.equal('deny');
  });

  it('names the field and the line of every kind of mistake', () => {
    expect(policyErrorOf('mode: enforced\n').message).to.equal('p.yaml:1: mode: must be enforce or audit');
    expect(policyErrorOf('gaps:\n  privileged:\n    action: block\n').message).to.equal('p.yaml:3: gaps.privileged.action: must be deny, warn or off');
    expect(policyErrorOf('gaps:\n  privilegd:\n    action: deny\n').message).to.match(/^p\.yaml:2: gaps\.privilegd: unknown gap id/);
    expect(policyErrorOf('gaps:\n  privileged:\n    acton: deny\n').message).to.match(/^p\.yaml:3: gaps\.privileged\.acton: unknown field/);
    expect(policyErrorOf('gaps:\n  privileged:\n    rules:\n      privileged/nope: {action: warn}\n').message).to.match(/^p\.yaml:4: gaps\.privileged\.rules\.privileged\/nope: unknown rule of privileged/);
    expect(policyErrorOf('gaps:\n  resource-limits:\n    defaultLimits: {cpu: lots}\n').message).to.match(/defaultLimits: cpu must be a positive Kubernetes quantity/);
    expect(policyErrorOf('gaps:\n  docker-socket:\n    socketPaths: [relative/sock]\n').message).to.match(/socketPaths: item 0 must be an absolute path/);
    expect(policyErrorOf('exemptions:\n  - gaps: [privileged]\n').message).to.equal('p.yaml:2: exemptions.0.reason: is required: say why the gap is waived');
    expect(policyErrorOf('exemptions:\n  - gaps: [privileged]\n    reason: x\n    expires: 2026-02-30\n').message).to.equal('p.yaml:4: exemptions.0.expires: must be a date written YYYY-MM-DD');
    expect(policyErrorOf('exemptions:\n  - gaps: [rootness]\n    reason: x\n').message).to.match(/exemptions\.0\.gaps\.0: unknown gap id "rootness"/);
    expect(policyErrorOf('gaps: [1, 2\n').message).to.match(/^p\.yaml:\d+: invalid YAML/);
    expect(policyErrorOf('mode: audit\nmode: enforce\n').message).to.match(/^p\.yaml:2: invalid YAML/);
    expect(policyErrorOf('- just\n- a list\n').message).to.equal('p.yaml:1: a policy must be a YAML mapping');
    expect(policyErrorOf('limits:\n  maxContainers: 0\n').message).to.equal('p.yaml:2: limits.maxContainers: must be a whole number from 1 to 1000');
    expect(policyErrorOf('limits:\n  maxPods: 3\n').message).to.match(/^p\.yaml:2: limits\.maxPods: unknown field/);
    // What a truncated or half-written file looks like: never "the embedded default".
    for (const empty of ['', '# comment only\n', 'null\n', '~\n', '---\n']) {
      expect(policyErrorOf(empty).message, JSON.stringify(empty)).to.equal('p.yaml: the policy is empty (no mapping, or null); write {} to mean the embedded default as it is');
    }
  });

  it('reports an unreadable policy file by name', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).to.throw(PolicyError, '/nonexistent/policy.yaml: cannot read the policy file (ENOENT)');
  });

  it('turns a gap off, or one rule of it', () => {
    expect(gapsOf(privilegedPod, '{}').gaps).to.include('privileged');
    expect(gapsOf(privilegedPod, 'gaps:\n  privileged:\n    action: off\n').gaps).not.to.include('privileged');
    const policy = policyWith('gaps:\n  run-as-root:\n    rules:\n      run-as-root/caps-not-dropped: {action: off}\n');
    const rules = evaluate(privilegedPod, makeContext({ policy }))!.findings.map((f) => f.rule);
    expect(rules).not.to.include('run-as-root/caps-not-dropped');
    expect(rules).to.include('run-as-root/runs-as-root');
  });

  describe('exemptions', () => {
    const exemption = (match: string, expires = '') =>
      `exemptions:\n  - match: ${match}\n    gaps: [privileged]\n    reason: node agent needs the host\n${expires ? `    expires: ${expires}\n` : ''}`;

    it('waive the listed gaps for a match on namespace, service account, name and image, and say so', () => {
      const { gaps, notes } = gapsOf(privilegedPod, exemption('{namespaces: [monitoring], serviceAccounts: [node-agent], names: ["agent-*"], images: ["quay.io/acme/agent:*"]}'));
      expect(gaps).not.to.include('privileged');
      expect(gaps).to.include('run-as-root'); // only the listed gaps are waived
      expect(notes).to.deep.equal(['exemption #0 (node agent needs the host) waives privileged']);
    });

    it('do not apply when any part of the match differs', () => {
      for (const match of ['{namespaces: [default]}', '{serviceAccounts: [default]}', '{names: [other]}', '{images: ["quay.io/acme/agent-evil:*"]}']) {
        expect(gapsOf(privilegedPod, exemption(match)).gaps, match).to.include('privileged');
      }
    });

    describe('image patterns, matched as parsed references', () => {
      const podWithImage = (image: string): KubeObject => {
        const pod = structuredClone(privilegedPod);
        (pod.spec as { containers: { image: string }[] }).containers[0]!.image = image;
        return pod;
      };
      const exempt = (pattern: string, image: string) => !gapsOf(podWithImage(image), exemption(`{images: [${JSON.stringify(pattern)}]}`)).gaps.includes('privileged');
      const cases: [string, string, boolean][] = [
        // A short name is docker.io/library/...: its star never reaches into another registry's host.
        ['nginx*', 'nginx', true],
        ['nginx*', 'nginx:1.27', true],
        ['nginx*', 'docker.io/library/nginx-unprivileged:1.27', true],
        ['nginx*', 'nginx.evil.example/payload', false],
        ['nginx*', 'nginx.evil.example/nginx', false],
        ['nginx*', 'ghcr.io/nginx/nginx', false],
        ['docker.io/nginx', 'index.docker.io/library/nginx:1', true],
        // Tags and digests are matched only when the pattern names them.
        ['nginx:1.*', 'nginx:1.27', true],
        ['nginx:1.*', 'nginx:2.0', false],
        ['nginx:latest', 'nginx', true],
        [`nginx@sha256:${'ab'.repeat(32)}`, `nginx:1.27@sha256:${'ab'.repeat(32)}`, true],
        [`nginx@sha256:${'ab'.repeat(32)}`, `nginx@sha256:${'cd'.repeat(32)}`, false],
        // A registry port is not a tag; a host glob matches within the host.
        ['localhost:5000/*', 'localhost:5000/team/app:1', true],
        ['localhost:5000/*', 'localhost:5001/team/app:1', false],
        ['*.example.com/team/*', 'registry.example.com/team/app', true],
        ['*.example.com/team/*', 'registry.example.com.evil.io/team/app', false],
        ['*', 'anything.example/at/all:1', true],
        // An image that does not parse is exempted by nothing but `*`.
        ['quay.io/acme/*', 'quay.io/acme/Agent', false],
      ];
      itMatchesImagePatterns(cases, exempt, (pattern, image, expected) => `${JSON.stringify(pattern)} ${expected ? 'exempts' : 'does not exempt'} ${JSON.stringify(image)}`);

      it('match without backtracking: patterns of many stars against long values finish at once', () => {
        // The regex these replaced backtracked: seconds for a 200 KB image, and without end here.
        expect(exempt(`quay.io/${'a*'.repeat(200)}b`, `quay.io/${'a'.repeat(250)}`)).to.equal(false);
        expect(exempt('*', 'a'.repeat(200_000))).to.equal(true);
        const longName = structuredClone(privilegedPod);
        longName.metadata!.name = 'a'.repeat(200_000);
        expect(gapsOf(longName, exemption(`{names: ["${'a*'.repeat(30)}b"]}`)).gaps).to.include('privileged');
        expect(gapsOf(longName, exemption(`{names: ["${'a*'.repeat(30)}"]}`)).gaps).not.to.include('privileged');
      });
    });

    it('apply through their expiry day and stop after it, saying so', () => {
      expect(gapsOf(privilegedPod, exemption('{namespaces: [monitoring]}', '2026-11-28')).gaps).not.to.include('privileged');
      const expired = gapsOf(privilegedPod, exemption('{namespaces: [monitoring]}', '2026-11-27'));
      expect(expired.gaps).to.include('privileged');
      expect(expired.notes).to.deep.equal(['exemption #0 (node agent needs the host) expired on 2026-11-27 and no longer applies']);
    });
  });
});
