// The cluster view's informers (client-node list and watch) against a small fake API server over
// HTTP: namespace mode labels and NetworkPolicies from the cache, changes through the watch, the
// last known state kept while the API server is away, and the webhook serving without a cluster.
import { expect } from 'chai';
import { connectCluster } from '../../src/cluster/informers.js';
import type { ClusterView } from '../../src/cluster/view.js';
import { createLogger } from '../../src/server/log.js';
import { insecurePod } from '../admission/objects.js';
import { defaultDeny, FakeApiServer, namespace, NAMESPACES, NETWORK_POLICIES } from './fake-apiserver.js';
import { admitVia, eventually, reviewOf, startTestServer } from './harness.js';

describe('cluster view (client-node informers against a fake API server)', function () {
  this.timeout(30_000);
  let api: FakeApiServer;
  let cluster: ClusterView;
  const logs: string[] = [];

  before(async () => {
    api = await new FakeApiServer().start();
    api.put(NAMESPACES, namespace('observed', 'audit'));
    api.put(NAMESPACES, namespace('legacy', 'off'));
    api.put(NAMESPACES, namespace('typo', 'audti'));
    api.put(NAMESPACES, namespace('plain'));
    api.put(NAMESPACES, namespace('open'));
    api.put(NETWORK_POLICIES, defaultDeny('isolated'));
    cluster = connectCluster(api.kubeConfig(), createLogger('debug', (line) => logs.push(line)));
    await eventually(() => cluster.status() === 'synced', 'the caches to sync');
  });
  after(async () => {
    await cluster.stop();
    await api.stop();
  });

  it('reads each namespace mode label from the cache, ignoring (and logging) a value it does not know', () => {
    expect(cluster.namespaceMode('observed')).to.equal('audit');
    expect(cluster.namespaceMode('legacy')).to.equal('off');
    expect(cluster.namespaceMode('plain')).to.equal(undefined);
    expect(cluster.namespaceMode('typo')).to.equal(undefined);
    expect(cluster.namespaceMode('never-created')).to.equal(undefined);
    expect(logs.some((l) => l.includes('"msg":"namespace mode label ignored","namespace":"typo"'))).to.equal(true);
  });

  it('knows each namespace NetworkPolicies once synced, an empty list included', () => {
    expect(cluster.networkPolicies('isolated')!.map((p) => p.metadata?.name)).to.deep.equal(['default-deny']);
    expect(cluster.networkPolicies('open')).to.deep.equal([]);
  });

  it('follows changes through the watch', async () => {
    api.put(NAMESPACES, namespace('plain', 'enforce'));
    api.put(NETWORK_POLICIES, defaultDeny('open'));
    await eventually(() => cluster.namespaceMode('plain') === 'enforce', 'the label change to arrive');
    await eventually(() => cluster.networkPolicies('open')!.length === 1, 'the new NetworkPolicy to arrive');
  });

  it('keeps serving the last known state while the API server is away, and resumes when it is back', async () => {
    api.goDown();
    await eventually(() => cluster.status().startsWith('unavailable: '), 'the outage to show');
    expect(cluster.status()).to.include('(serving the last known state)');
    expect(cluster.namespaceMode('observed')).to.equal('audit');
    expect(cluster.networkPolicies('isolated')).to.have.length(1);
    api.comeBack();
    await eventually(() => cluster.status() === 'synced', 'the watch to resume', 20_000);
    api.put(NAMESPACES, namespace('legacy', 'enforce'));
    await eventually(() => cluster.namespaceMode('legacy') === 'enforce', 'changes after the outage to arrive');
  });
});

describe('webhook with an unreachable cluster', () => {
  it('is not ready, says why in /readyz, and never lets an unknown namespace mode turn enforce into an allow', async () => {
    const api = await new FakeApiServer().start();
    api.goDown();
    const cluster = connectCluster(api.kubeConfig(), createLogger('error', () => {}));
    // The chart's policy: audit unless a namespace says otherwise.
    const server = await startTestServer({ cluster, policy: 'mode: audit\n' });
    try {
      await eventually(() => /networkpolicies: /.test(cluster.status()) && /namespaces: /.test(cluster.status()), 'the failed lists to show');
      const ready = await server.get('/readyz');
      expect(ready.status).to.equal(503);
      expect((JSON.parse(ready.text) as { cluster: string }).cluster).to.match(/^unavailable: namespaces: the API server answered HTTP 503; networkpolicies: the API server answered HTTP 503$/);
      expect(cluster.networkPolicies('default')).to.equal(undefined);
      // The enforce route needs no cache: the kube-apiserver chose it from the live labels.
      expect((await admitVia(server, '/validate/enforce', reviewOf(insecurePod()))).allowed).to.equal(false);
      // The plain route would need the label: no answer, so the webhook's failurePolicy decides.
      const plain = await server.post('/validate', reviewOf(insecurePod()));
      expect(plain.status).to.equal(503);
      expect(plain.text).to.include('the mode of namespace shop is unknown until the cluster view is in sync');
      expect((await admitVia(server, '/validate/audit', reviewOf(insecurePod()))).allowed).to.equal(true);
    } finally {
      await server.close();
      await api.stop();
    }
  });

  it('stops being ready and keeps enforcing when the watch fails after the first list (stale labels)', async () => {
    const api = await new FakeApiServer().start();
    api.put(NAMESPACES, namespace('shop', 'enforce'));
    const cluster = connectCluster(api.kubeConfig(), createLogger('error', () => {}));
    const server = await startTestServer({ cluster, policy: 'mode: audit\n' });
    try {
      await eventually(() => cluster.status() === 'synced', 'the caches to sync');
      expect((await server.get('/readyz')).status).to.equal(200);
      api.goDown();
      await eventually(() => cluster.status().startsWith('unavailable: '), 'the outage to show');
      expect((await server.get('/readyz')).status).to.equal(503);
      expect((await admitVia(server, '/validate/enforce', reviewOf(insecurePod(), { namespace: 'shop' }))).allowed).to.equal(false);
      expect((await server.post('/validate', reviewOf(insecurePod(), { namespace: 'shop' }))).status).to.equal(503);
      api.comeBack();
      await eventually(() => cluster.status() === 'synced', 'the watch to resume', 20_000);
      expect((await server.get('/readyz')).status).to.equal(200);
      expect((await admitVia(server, '/validate', reviewOf(insecurePod(), { namespace: 'shop' }))).allowed).to.equal(false);
    } finally {
      await server.close();
      await api.stop();
    }
  });
});

describe('webhook starting with a cluster', () => {
  it('answers its first request with the namespace modes of the cluster, not the policy default', async () => {
    const api = await new FakeApiServer().start();
    api.put(NAMESPACES, namespace('shop', 'enforce'));
    api.listDelayMs = 500;
    const cluster = connectCluster(api.kubeConfig(), createLogger('error', () => {}));
    // The chart's policy: audit unless a namespace says otherwise. The kube-apiserver sends
    // requests for 'shop' as soon as the port accepts them; judged before the first list, they
    // would fall back to audit and be allowed.
    const server = await startTestServer({ cluster, policy: 'mode: audit\n' });
    try {
      expect((await admitVia(server, '/validate', reviewOf(insecurePod(), { namespace: 'shop' }))).allowed).to.equal(false);
    } finally {
      await server.close();
      await api.stop();
    }
  });
});
