// POST /validate over real HTTPS: denials with one message naming container, field and remedy;
// warnings short enough for kubectl; audit mode from the query, the policy and the namespace label;
// what is let through unjudged.
import { expect } from 'chai';
import type { AdmissionMode } from '../../src/admission/admit.js';
import type { ClusterView } from '../../src/cluster/view.js';
import { evaluate } from '../../src/engine/engine.js';
import type { NetworkPolicyLike } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext } from '../helpers.js';
import { admitVia, reviewOf, startTestServer, type TestServer } from '../server/harness.js';
import { fixablePod, hardenedPod, insecureDeployment, insecurePod } from './objects.js';

/** A hardened pod whose only finding is a warn action: it shares the node's network. */
function warnOnlyPod(): KubeObject {
  const pod = hardenedPod();
  (pod.spec as Record<string, unknown>).hostNetwork = true;
  return pod;
}

const defaultDenyPolicy: NetworkPolicyLike = { metadata: { name: 'deny', namespace: 'isolated' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };

/** A cluster with namespaces in every mode and two namespaces whose NetworkPolicies are known. */
const fakeCluster: ClusterView = {
  namespaceMode: (ns) => (({ observed: 'audit', legacy: 'off', strict: 'enforce' }) as Record<string, AdmissionMode>)[ns],
  networkPolicies: (ns) => (ns === 'isolated' ? [defaultDenyPolicy] : ns === 'open' ? [] : undefined),
  inSync: () => true,
  status: () => 'synced',
  firstListsDone: async () => {},
  stop: async () => {},
};

describe('POST /validate', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ cluster: fakeCluster });
  });
  after(() => server.close());

  it('denies with 403 and one message naming each denied gap, its container, its field and the remedy', async () => {
    const pod = insecurePod();
    const response = await admitVia(server, '/validate', reviewOf(pod));
    expect(response.allowed).to.equal(false);
    expect(response.status!.code).to.equal(403);
    const message = response.status!.message;
    expect(message).to.match(/^gapguard denied Pod shop\/web: \d+ gaps to close first\n/);
    const result = evaluate(pod, makeContext())!;
    const denied = result.findings.filter((f) => f.action === 'deny');
    expect(denied.map((f) => f.rule)).to.include('privileged/privileged-container');
    expect(message.split('\n')).to.have.length(denied.length + 1);
    for (const f of denied) {
      expect(message).to.include(`- ${f.rule} (container "app", ${f.path}): ${f.remediation}`);
    }
    // The seed's point: grant one capability instead of privileged.
    expect(message).to.include('capabilities.add');
    expect(response.auditAnnotations).to.deep.equal({ decision: 'deny', gaps: [...new Set(result.findings.map((f) => f.gap))].join(',') });
    // The warn-action findings are warnings, not part of the denial: without registry lookups
    // nothing pins the version tag, so it only warns.
    expect(response.warnings).to.deep.equal([
      'privileged/escalation: container "app" securityContext.allowPrivilegeEscalation',
      'run-as-root/writable-root-fs: container "app" securityContext.readOnlyRootFilesystem',
      'unverified-image/not-pinned: container "app" image',
    ]);
  });

  it('allows with short warnings when every finding only warns', async () => {
    const response = await admitVia(server, '/validate', reviewOf(warnOnlyPod()));
    expect(response.allowed).to.equal(true);
    expect(response.status).to.equal(undefined);
    expect(response.warnings).to.deep.equal(['flat-network/host-network: spec.hostNetwork']);
    expect(response.auditAnnotations).to.deep.equal({ decision: 'warn', gaps: 'flat-network' });
  });

  it('allows a hardened pod with nothing to say but the decision', async () => {
    const response = await admitVia(server, '/validate', reviewOf(hardenedPod()));
    expect(response).to.deep.include({ allowed: true, auditAnnotations: { decision: 'allow' } });
    expect(response.warnings).to.equal(undefined);
  });

  it('judges the pod template of every controller kind', async () => {
    const response = await admitVia(server, '/validate', reviewOf(insecureDeployment()));
    expect(response.allowed).to.equal(false);
    expect(response.status!.message).to.include('(container "runner", spec.template.spec.containers[0].securityContext.privileged)');
    expect(response.status!.message).to.include('docker-socket/host-path (spec.template.spec.volumes[0].hostPath.path)');
  });

  it('keeps every warning under 120 characters, however long the names', async () => {
    const pod = warnOnlyPod();
    const container = (pod.spec as { containers: { name: string; env?: unknown[] }[] }).containers[0]!;
    container.name = 'a-container-name-that-goes-on-and-on-'.repeat(2);
    container.env = [{ name: 'DATABASE_CONNECTION_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    const response = await admitVia(server, '/validate', reviewOf(pod));
    expect(response.warnings).to.have.length(2);
    for (const warning of response.warnings!) expect(warning.length).to.be.below(120);
    expect(response.warnings!.join('\n')).to.include('env-secrets/secret-reference: container "a-container-name');
  });

  for (const path of ['/validate/audit', '/validate?mode=audit']) {
    it(`in audit mode (${path}) allows everything and says what enforce would deny`, async () => {
      const response = await admitVia(server, path, reviewOf(insecurePod()));
      expect(response.allowed).to.equal(true);
      expect(response.status).to.equal(undefined);
      expect(response.warnings).to.include('[audit] enforce would deny: privileged/privileged-container: container "app" securityContext.privileged');
      expect(response.warnings).to.include('privileged/escalation: container "app" securityContext.allowPrivilegeEscalation');
      expect(response.auditAnnotations!.decision).to.equal('audit');
    });
  }

  it('in audit mode says "would patch" for what the enforce mutation fixes, the same lines as /mutate/audit, and never "would deny" for it', async () => {
    const validated = await admitVia(server, '/validate/audit', reviewOf(fixablePod()));
    const mutated = await admitVia(server, '/mutate/audit', reviewOf(fixablePod()));
    expect(validated.allowed).to.equal(true);
    expect(validated.patch).to.equal(undefined);
    const wouldPatch = validated.warnings!.filter((w) => w.startsWith('[audit] enforce would patch: '));
    expect(wouldPatch).to.include('[audit] enforce would patch: resource-limits/no-memory-limit: container "init" resources.limits.memory');
    expect(wouldPatch).to.include('[audit] enforce would patch: run-as-root/runs-as-root: container "app" securityContext.runAsNonRoot');
    expect(wouldPatch.sort()).to.deep.equal([...mutated.warnings!].sort());
    expect(validated.warnings!.filter((w) => w.startsWith('[audit] enforce would deny: '))).to.deep.equal([]);
  });

  it('takes the mode from the namespace label, capped by ?mode=audit; off judges nothing', async () => {
    const inNamespace = (ns: string) => {
      const pod = insecurePod();
      pod.metadata!.namespace = ns;
      return reviewOf(pod);
    };
    const observed = await admitVia(server, '/validate', inNamespace('observed'));
    expect(observed.allowed).to.equal(true);
    expect(observed.warnings!.some((w) => w.startsWith('[audit] enforce would deny: '))).to.equal(true);

    const legacy = await admitVia(server, '/validate', inNamespace('legacy'));
    expect(legacy).to.deep.equal({ uid: legacy.uid, allowed: true });

    expect((await admitVia(server, '/validate', inNamespace('strict'))).allowed).to.equal(false);
    expect((await admitVia(server, '/validate/audit', inNamespace('strict'))).allowed).to.equal(true);
    expect((await admitVia(server, '/validate?mode=audit', inNamespace('legacy'))).warnings).to.equal(undefined);
  });

  it('uses the request namespace for objects that name none', async () => {
    const pod = insecurePod();
    delete pod.metadata!.namespace;
    const response = await admitVia(server, '/validate', reviewOf(pod, { namespace: 'observed' }));
    expect(response.allowed).to.equal(true);
    expect(response.auditAnnotations!.decision).to.equal('audit');
  });

  it('judges flat-network/no-network-policy from the cluster NetworkPolicies, and never when they are unknown', async () => {
    const inNamespace = async (ns: string) => {
      const pod = hardenedPod();
      pod.metadata!.namespace = ns;
      return admitVia(server, '/validate', reviewOf(pod));
    };
    expect((await inNamespace('open')).warnings).to.deep.equal(['flat-network/no-network-policy: metadata.labels']);
    expect((await inNamespace('isolated')).warnings).to.equal(undefined);
    expect((await inNamespace('unknown-to-the-cache')).warnings).to.equal(undefined);
  });

  it('gives a dry run exactly the answer of the real request', async () => {
    const pod = insecurePod();
    const uid = 'same-uid';
    const real = await admitVia(server, '/validate', reviewOf(pod, { uid }));
    const dry = await admitVia(server, '/validate', reviewOf(pod, { uid, dryRun: true }));
    expect(dry).to.deep.equal(real);
  });

  it('lets unjudged requests through: kinds without a pod spec, look-alike kinds, DELETE, CONNECT, other subresources', async () => {
    const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' }, data: { a: 'b' } };
    const lookAlike: KubeObject = { apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j', namespace: 'shop' }, spec: { anything: true } };
    const allowedPlain = async (review: ReturnType<typeof reviewOf>) => {
      const response = await admitVia(server, '/validate', review);
      expect(response, JSON.stringify(review.request.kind)).to.deep.equal({ uid: review.request.uid, allowed: true });
    };
    await allowedPlain(reviewOf(configMap));
    await allowedPlain(reviewOf(lookAlike));
    await allowedPlain(reviewOf(null, { operation: 'DELETE', oldObject: insecurePod() }));
    await allowedPlain(reviewOf(null, { operation: 'CONNECT', oldObject: insecurePod(), subResource: 'exec' }));
    await allowedPlain(reviewOf(insecurePod(), { operation: 'UPDATE', oldObject: hardenedPod(), subResource: 'status' }));
    const skipped = server.logs().filter((l) => l.decision === 'skip');
    expect(skipped.every((l) => l.level === 'debug')).to.equal(true);
    expect(skipped.map((l) => l.reason)).to.include.members([
      'kind v1/ConfigMap carries no pod spec',
      'kind example.com/v1/Job carries no pod spec',
      'DELETE is not judged',
      'CONNECT is not judged',
      'subresource status is not judged',
    ]);
  });

  it('logs each judged request as one JSON line with uid, kind, namespace, name, decision and gaps', async () => {
    const review = reviewOf(insecurePod());
    await admitVia(server, '/validate', review);
    const line = server.logs().find((l) => l.uid === review.request.uid)!;
    expect(line).to.include({ level: 'info', msg: 'admission', endpoint: 'validate', kind: 'Pod', namespace: 'shop', name: 'web', decision: 'deny', operation: 'CREATE' });
    expect(line.gaps).to.include.members(['privileged', 'run-as-root']);
  });
});

describe('POST /validate with a policy in audit mode', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ policy: 'mode: audit\n', cluster: fakeCluster });
  });
  after(() => server.close());

  it('allows and warns, unless the namespace label says enforce', async () => {
    const audited = await admitVia(server, '/validate', reviewOf(insecurePod()));
    expect(audited.allowed).to.equal(true);
    expect(audited.auditAnnotations!.decision).to.equal('audit');
    const pod = insecurePod();
    pod.metadata!.namespace = 'strict';
    expect((await admitVia(server, '/validate', reviewOf(pod))).allowed).to.equal(false);
  });
});
