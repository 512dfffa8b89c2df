// flat-network through the engine: host networking and host ports in every kind, and the
// NetworkPolicy rule with Kubernetes label-selector semantics, judged only when the namespace's
// policies are known.
import { expect } from 'chai';
import { parse } from 'yaml';
import type { NetworkPolicyLike } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, fixtureDocs, theFinding } from './gap-fixtures.js';

const GAP = 'flat-network';
const HOST_NETWORK = 'flat-network/host-network';
const HOST_PORT = 'flat-network/host-port';
const NO_POLICY = 'flat-network/no-network-policy';

function deployment(labels: Record<string, string>, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  };
}

function policy(spec: unknown): NetworkPolicyLike {
  return { metadata: { name: 'np', namespace: 'shop' }, spec } as NetworkPolicyLike;
}

/** The no-network-policy rule ids for an `app: web, tier: frontend` Deployment in namespace shop. */
function judged(policies: NetworkPolicyLike[] | undefined, labels: Record<string, string> = { app: 'web', tier: 'frontend' }): string[] {
  const ctx = makeContext(policies ? { networkPolicies: { shop: policies } } : {});
  return findingsOf(deployment(labels), GAP, ctx)
    .filter((f) => f.rule === NO_POLICY)
    .map((f) => f.rule);
}

const template = (path: string) => `spec.template.spec.${path}`;

describeFixtures(GAP, {
  'host-network': [`${HOST_NETWORK} @ spec.hostNetwork`],
  'host-ports': [`${HOST_PORT} @ ${template('initContainers[0].ports[0].hostPort')}`, `${HOST_PORT} @ ${template('containers[0].ports[1].hostPort')}`],
  'dns-template': [`${HOST_NETWORK} @ template.spec.hostNetwork`],
  'game-server': [`${HOST_PORT} @ ${template('containers[0].ports[0].hostPort')}`],
  'ingress-legacy': [`${HOST_NETWORK} @ ${template('hostNetwork')}`],
  kafka: [`${HOST_PORT} @ ${template('containers[0].ports[1].hostPort')}`],
  'node-benchmark': [`${HOST_NETWORK} @ ${template('hostNetwork')}`],
  'legacy-web': [`${HOST_PORT} @ ${template('containers[0].ports[0].hostPort')}`],
  'port-scan': [`${HOST_NETWORK} @ spec.jobTemplate.spec.template.spec.hostNetwork`],
});

describe('flat-network', () => {
  describe('host-network and host-port', () => {
    it('warns about hostNetwork once, high, without repeating its ports, and says what to do', () => {
      const f = theFinding(fixture(GAP, 'fail', 'host-network'), HOST_NETWORK);
      expect(f).to.include({ severity: 'high', action: 'warn', fixable: false });
      expect(f.message).to.contain('hostNetwork: true');
      expect(f.remediation).to.contain('Service');
    });

    it('warns about every hostPort, medium, naming the container and port', () => {
      const findings = findingsOf(fixture(GAP, 'fail', 'host-ports'), GAP);
      for (const f of findings) expect(f).to.include({ rule: HOST_PORT, severity: 'medium', action: 'warn', fixable: false });
      expect(findings[1]!.message).to.contain('Container "proxy"').and.contain('443');
    });

    it('passes pods on the pod network when a default-deny policy selects them', () => {
      const ctx = makeContext({ networkPolicies: { shop: [policy({ podSelector: {}, policyTypes: ['Ingress'] })] } });
      const docs = fixtureDocs(GAP, 'pass');
      expect(docs).to.have.length(2);
      for (const { obj, name } of docs) expect(findingsOf(obj, GAP, ctx), name).to.deep.equal([]);
    });
  });

  describe('no-network-policy', () => {
    it('is not judged when the namespace policies are unknown', () => {
      expect(judged(undefined)).to.deep.equal([]);
    });

    it('is a finding when the namespace has no policy, with a default-deny policy to add', () => {
      const findings = findingsOf(deployment({ app: 'web' }), GAP, makeContext({ networkPolicies: { shop: [] } }));
      expect(findings.map((f) => [f.rule, f.severity, f.action, f.path])).to.deep.equal([
        [NO_POLICY, 'medium', 'warn', 'spec.template.metadata.labels'],
      ]);
      expect(findings[0]!.message).to.contain('namespace "shop"');
      const snippet = parse(findings[0]!.remediation.slice(findings[0]!.remediation.indexOf('apiVersion:')));
      expect(snippet).to.deep.equal({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'default-deny-ingress', namespace: 'shop' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      });
    });

    it('uses the pod template labels of a CronJob', () => {
      const cronJob = fixture(GAP, 'pass', 'report');
      const findings = findingsOf(cronJob, GAP, makeContext({ networkPolicies: { shop: [policy({ podSelector: { matchLabels: { app: 'web' } } })] } }));
      expect(findings.map((f) => f.path)).to.deep.equal(['spec.jobTemplate.spec.template.metadata.labels']);
    });

    it('only looks at the pod\'s own namespace', () => {
      const ctx = makeContext({ networkPolicies: { other: [policy({ podSelector: {} })], shop: [] } });
      expect(findingsOf(deployment({ app: 'web' }), GAP, ctx).map((f) => f.rule)).to.deep.equal([NO_POLICY]);
    });

    const selecting: [string, unknown][] = [
      ['an empty podSelector', { podSelector: {} }],
      ['an omitted podSelector (the API default is empty)', { policyTypes: ['Ingress'] }],
      ['no policyTypes (Ingress is implied)', { podSelector: { matchLabels: { app: 'web' } } }],
      ['Ingress and Egress', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }],
      ['empty policyTypes (read as omitted)', { podSelector: {}, policyTypes: [] }],
      ['empty policyTypes and egress rules (Ingress still implied)', { podSelector: {}, policyTypes: [], egress: [{}] }],
      ['no spec at all (every pod, Ingress)', undefined],
      ['a null spec', null],
      ['an empty spec', {}],
      ['matchLabels subset', { podSelector: { matchLabels: { app: 'web', tier: 'frontend' } } }],
      ['In', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] } }],
      ['NotIn', { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] } }],
      ['NotIn on a missing label', { podSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] } }],
      ['Exists', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }],
      ['DoesNotExist', { podSelector: { matchExpressions: [{ key: 'debug', operator: 'DoesNotExist' }] } }],
      ['DoesNotExist on an Object.prototype name', { podSelector: { matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] } }],
      [
        'matchLabels and matchExpressions together',
        { podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] } },
      ],
    ];
    for (const [what, spec] of selecting) {
      it(`counts a policy selecting the pod by ${what}`, () => {
        expect(judged([policy(spec)])).to.deep.equal([]);
      });
    }

    const notSelecting: [string, unknown][] = [
      ['Egress only', { podSelector: {}, policyTypes: ['Egress'] }],
      ['another label value', { podSelector: { matchLabels: { app: 'db' } } }],
      ['a label the pod lacks', { podSelector: { matchLabels: { app: 'web', team: 'x' } } }],
      ['In without the value', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] } }],
      ['In on a missing label', { podSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] } }],
      ['NotIn with the value', { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] } }],
      ['Exists on a missing label', { podSelector: { matchExpressions: [{ key: 'debug', operator: 'Exists' }] } }],
      ['Exists on an Object.prototype name', { podSelector: { matchExpressions: [{ key: 'toString', operator: 'Exists' }] } }],
      ['matchLabels on an Object.prototype name', { podSelector: { matchLabels: { constructor: 'x' } } }],
      ['DoesNotExist on a present label', { podSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } }],
      ['an unknown operator (the API would refuse it)', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] } }],
      ['In with no values (the API would refuse it)', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }],
      ['a matchLabels value of the wrong type', { podSelector: { matchLabels: { app: 1 } } }],
      ['matchExpressions that is not a list', { podSelector: { matchExpressions: { key: 'app', operator: 'Exists' } } }],
      ['a spec that is not an object', 'deny-all'],
      ['policyTypes that is not a list', { podSelector: {}, policyTypes: 'Egress' }],
    ];
    for (const [what, spec] of notSelecting) {
      it(`is a finding when the only policy has ${what}`, () => {
        expect(judged([policy(spec)])).to.deep.equal([NO_POLICY]);
      });
    }

    it('is satisfied by any one selecting policy among others', () => {
      const policies = [policy({ podSelector: { matchLabels: { app: 'db' } } }), policy({ podSelector: { matchLabels: { tier: 'frontend' } } })];
      expect(judged(policies)).to.deep.equal([]);
    });
  });
});
