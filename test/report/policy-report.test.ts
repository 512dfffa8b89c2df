// Report shaping and bounds: a result per finding and a pass per clean workload, deny before patch
// before warn before pass, an exact summary whatever is cut, both formats, a digest that ignores
// timestamps, and no secret value.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import {
  clusterReport,
  contentHash,
  CONTENT_HASH_ANNOTATION,
  namespaceReport,
  TRUNCATED_ANNOTATION,
  type PolicyReportObject,
} from '../../src/report/policy-report.js';
import { rolloutView, type NamespaceView } from '../../src/report/rollout.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext, readYamlDocs } from '../helpers.js';

function viewOf(objects: KubeObject[]) {
  const ctx = makeContext({ networkPolicies: { shop: [], quiet: [{ metadata: { name: 'all' }, spec: {} }] } });
  const evaluated = objects.map((o, i) => ({ source: `t:${i}`, result: evaluate(o, ctx, { defaultNamespace: 'default' })!, mode: 'audit' }));
  return rolloutView({ evaluated, skipped: [], problems: [] }, 'cluster', new Date('2026-11-29T12:00:00Z'));
}

function privilegedPod(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${String(i).padStart(5, '0')}`, namespace: 'big' },
    spec: { containers: [{ name: 'c', image: 'nginx:1.27', securityContext: { privileged: true } }] },
  };
}

const generatedAt = new Date('2026-11-29T12:00:00Z');

describe('report: policy reports', () => {
  const view = viewOf(readYamlDocs('test/fixtures/report/rollout.yaml'));
  const shop = view.namespaces.find((n) => n.name === 'shop')!;
  const quiet = view.namespaces.find((n) => n.name === 'quiet')!;

  it('wgpolicyk8s: one result per finding and a pass per clean workload, most important first, exact summary', () => {
    const r = namespaceReport(quiet, 'wgpolicyk8s', { generatedAt });
    expect(r).to.include({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport' });
    expect(r.metadata).to.include({ name: 'gapguard', namespace: 'quiet' });
    expect(r.metadata.labels).to.deep.equal({ 'app.kubernetes.io/managed-by': 'gapguard' });
    expect(r.summary).to.deep.equal({ pass: 1, fail: 0, warn: 1, error: 0, skip: 0 });
    expect(r.results.map((x) => [x.result, x.rule])).to.deep.equal([['warn', 'flat-network/host-network'], ['pass', 'all-gaps']]);
    expect(r.results[0]).to.deep.include({ policy: 'flat-network', source: 'gapguard', severity: 'high', resources: [{ apiVersion: 'v1', kind: 'Pod', name: 'edge', namespace: 'quiet' }] });
    expect(r.results[0]!.properties).to.include({ path: 'spec.hostNetwork', action: 'warn', enforce: 'warn', fixable: 'false' });
    expect(r.results[0]!.timestamp).to.deep.equal({ seconds: generatedAt.getTime() / 1000, nanos: 0 });

    const s = namespaceReport(shop, 'wgpolicyk8s', { generatedAt });
    expect(s.summary.fail).to.equal(8);
    // privileged/escalation of the builder, and no NetworkPolicy selects either workload.
    expect(s.summary.warn).to.equal(3);
    expect(s.results.filter((x) => x.result === 'warn').map((x) => x.rule).sort()).to.deep.equal(['flat-network/no-network-policy', 'flat-network/no-network-policy', 'privileged/escalation']);
    const enforce = s.results.map((x) => (x.properties as Record<string, string>).enforce);
    expect(enforce).to.deep.equal([...enforce].sort((a, b) => ['deny', 'patch', 'warn'].indexOf(a!) - ['deny', 'patch', 'warn'].indexOf(b!)));
    expect(enforce[0]).to.equal('deny');
    expect(JSON.stringify(s)).not.to.include('hunter2');
  });

  it('openreports: the same results with subjects and description', () => {
    const r = namespaceReport(quiet, 'openreports', { generatedAt });
    expect(r).to.include({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report' });
    expect(r.results[0]).to.have.property('subjects').that.deep.equals([{ apiVersion: 'v1', kind: 'Pod', name: 'edge', namespace: 'quiet' }]);
    expect(r.results[0]).to.have.property('description').that.matches(/hostNetwork/);
    expect(r.results[0]).not.to.have.property('resources');
    expect(r.results[0]).not.to.have.property('message');
    expect(clusterReport(view, 'openreports', { generatedAt }).kind).to.equal('ClusterReport');
  });

  it('the cluster report answers per Namespace whether it is ready for enforce', () => {
    const r = clusterReport(view, 'wgpolicyk8s', { generatedAt, owner: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'gapguard', uid: 'u-1' } });
    expect(r.kind).to.equal('ClusterPolicyReport');
    expect(r.metadata).not.to.have.property('namespace');
    expect(r.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'gapguard', uid: 'u-1' }]);
    expect(r.summary).to.deep.equal({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(r.results.map((x) => [(x.resources as { name: string }[])[0]!.name, x.result, x.rule])).to.deep.equal([
      ['shop', 'fail', 'ready-for-enforce'],
      ['quiet', 'pass', 'ready-for-enforce'],
    ]);
    expect(r.results[0]!.message).to.equal('not ready for enforce: 1 workload(s) would be denied, 1 patched (mode audit)');
  });

  describe('bounds', () => {
    const big: NamespaceView = viewOf(Array.from({ length: 3000 }, (_, i) => privilegedPod(i))).namespaces[0]!;
    const all = namespaceReport(big, 'wgpolicyk8s', { generatedAt, limits: { maxResults: 1_000_000, maxBytes: 1 << 30 } });

    it('cuts at maxResults, keeps the summary exact and says how many were left out', () => {
      const r = namespaceReport(big, 'wgpolicyk8s', { generatedAt, limits: { maxResults: 100, maxBytes: 1 << 30 } });
      expect(r.results).to.have.length(100);
      expect(r.summary).to.deep.equal(all.summary);
      const total = all.results.length;
      expect(total).to.be.greaterThan(3000 * 3);
      expect(r.metadata.annotations[TRUNCATED_ANNOTATION]).to.match(new RegExp(`^${total - 100} of ${total} results left out`));
      // What survives is what enforce would deny.
      expect(r.results.every((x) => (x.properties as Record<string, string>).enforce === 'deny')).to.equal(true);
      expect(all.metadata.annotations).not.to.have.property(TRUNCATED_ANNOTATION);
    });

    it('stays under maxBytes, far under etcd\'s 1.5 MiB with the defaults', () => {
      const small = namespaceReport(big, 'wgpolicyk8s', { generatedAt, limits: { maxResults: 1_000_000, maxBytes: 64 * 1024 } });
      expect(Buffer.byteLength(JSON.stringify(small))).to.be.at.most(64 * 1024);
      expect(small.results.length).to.be.greaterThan(10);
      expect(small.summary).to.deep.equal(all.summary);
      const byDefault = namespaceReport(big, 'wgpolicyk8s', { generatedAt });
      expect(Buffer.byteLength(JSON.stringify(byDefault))).to.be.at.most(512 * 1024);
      expect(Buffer.byteLength(JSON.stringify(all))).to.be.greaterThan(1.5 * 1024 * 1024);
    });

    it('the content digest ignores timestamps and changes with the content', () => {
      const later = namespaceReport(big, 'wgpolicyk8s', { generatedAt: new Date(generatedAt.getTime() + 60_000) });
      const now = namespaceReport(big, 'wgpolicyk8s', { generatedAt });
      expect(later.results[0]!.timestamp).not.to.deep.equal(now.results[0]!.timestamp);
      expect(later.metadata.annotations[CONTENT_HASH_ANNOTATION]).to.equal(now.metadata.annotations[CONTENT_HASH_ANNOTATION]);
      const fewer = viewOf(Array.from({ length: 2999 }, (_, i) => privilegedPod(i))).namespaces[0]!;
      expect(namespaceReport(fewer, 'wgpolicyk8s', { generatedAt }).metadata.annotations[CONTENT_HASH_ANNOTATION]).not.to.equal(now.metadata.annotations[CONTENT_HASH_ANNOTATION]);
      const edited: PolicyReportObject = { ...now, results: [{ ...now.results[0]!, message: 'other' }, ...now.results.slice(1)] };
      expect(contentHash(edited)).not.to.equal(contentHash(now));
    });
  });
});
