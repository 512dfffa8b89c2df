// POST /mutate over real HTTPS: the engine's fixes as a JSON Patch that closes every fixable gap,
// never overwrites an author's value, is empty on reinvocation, and is only a warning in audit mode.
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext } from '../helpers.js';
import { admitVia, decodedPatch, reviewOf, startTestServer, type TestServer } from '../server/harness.js';
import { fixablePod, hardenedPod, insecureDeployment } from './objects.js';

function patched(obj: KubeObject, ops: ReturnType<typeof decodedPatch>): KubeObject {
  return jsonpatch.applyPatch(structuredClone(obj), ops as jsonpatch.Operation[], true).newDocument;
}

describe('POST /mutate', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  for (const [name, make] of [
    ['a Pod', fixablePod],
    ['a Deployment', insecureDeployment],
  ] as const) {
    it(`patches ${name} so that every fixable gap is gone when the engine judges it again`, async () => {
      const obj = make();
      const before = evaluate(obj, makeContext())!;
      const fixable = before.findings.filter((f) => f.fixable);
      expect(fixable.length).to.be.above(0);
      const response = await admitVia(server, '/mutate', reviewOf(obj));
      expect(response.allowed).to.equal(true);
      expect(response.auditAnnotations).to.deep.equal({ decision: 'patch', gaps: [...new Set(fixable.map((f) => f.gap))].join(',') });
      const after = evaluate(patched(obj, decodedPatch(response)), makeContext())!;
      expect(after.findings.filter((f) => f.fixable)).to.deep.equal([]);
      const remaining = new Set(after.findings.map((f) => `${f.rule} ${f.path}`));
      for (const f of fixable) expect(remaining.has(`${f.rule} ${f.path}`), `${f.rule} ${f.path}`).to.equal(false);
    });
  }

  it('answers the patched object with no patch at all (idempotent under reinvocation)', async () => {
    const obj = fixablePod();
    const first = await admitVia(server, '/mutate', reviewOf(obj));
    const again = await admitVia(server, '/mutate', reviewOf(patched(obj, decodedPatch(first))));
    expect(again).to.deep.equal({ uid: again.uid, allowed: true, auditAnnotations: { decision: 'allow' } });
  });

  it('passes validation after the patch when every gap was fixable (mutating runs before validating)', async () => {
    const obj = fixablePod();
    expect((await admitVia(server, '/validate', reviewOf(obj))).allowed).to.equal(false);
    const fixed = patched(obj, decodedPatch(await admitVia(server, '/mutate', reviewOf(obj))));
    const response = await admitVia(server, '/validate', reviewOf(fixed));
    expect(response.allowed, response.status?.message).to.equal(true);
  });

  it('never overwrites a value the author set', async () => {
    const obj = fixablePod();
    const app = (obj.spec as { containers: Record<string, unknown>[] }).containers[0]!;
    app.securityContext = { runAsNonRoot: false, capabilities: { add: ['NET_BIND_SERVICE'] } };
    app.resources = { limits: { cpu: '250m' }, requests: { memory: '2Gi' } };
    const ops = decodedPatch(await admitVia(server, '/mutate', reviewOf(obj)));
    expect(ops.map((o) => o.op)).to.not.include('replace');
    const after = patched(obj, ops);
    const appAfter = (after.spec as { containers: { securityContext: Record<string, unknown>; resources: { limits: Record<string, string> } }[] }).containers[0]!;
    expect(appAfter.securityContext.runAsNonRoot).to.equal(false);
    expect(appAfter.securityContext.capabilities).to.deep.equal({ add: ['NET_BIND_SERVICE'], drop: ['ALL'] });
    // The missing memory limit is filled, never below the request; the CPU limit is kept.
    expect(appAfter.resources.limits).to.deep.equal({ cpu: '250m', memory: '2Gi' });
  });

  it('sends no patch for an object with nothing to fix', async () => {
    const response = await admitVia(server, '/mutate', reviewOf(hardenedPod()));
    expect(response).to.deep.equal({ uid: response.uid, allowed: true, auditAnnotations: { decision: 'allow' } });
  });

  it('in audit mode (/mutate/audit, or ?mode=audit) sends no patch and says what enforce would patch', async () => {
    expect((await admitVia(server, '/mutate?mode=audit', reviewOf(fixablePod()))).patch).to.equal(undefined);
    const response = await admitVia(server, '/mutate/audit', reviewOf(fixablePod()));
    expect(response.allowed).to.equal(true);
    expect(response.patch).to.equal(undefined);
    expect(response.patchType).to.equal(undefined);
    expect(response.warnings).to.include('[audit] enforce would patch: run-as-root/runs-as-root: container "app" securityContext.runAsNonRoot');
    expect(response.warnings).to.include('[audit] enforce would patch: resource-limits/no-memory-limit: container "init" resources.limits.memory');
    for (const w of response.warnings!) expect(w.length).to.be.below(120);
    expect(response.auditAnnotations!.decision).to.equal('audit');
  });
});
