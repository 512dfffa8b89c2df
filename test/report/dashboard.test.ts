// The dashboard's HTTP face: read-only, a 503 until the first audit run, the overview and one page
// per namespace, security headers, and names that need encoding.
import { expect } from 'chai';
import { startDashboard, namespacePath, type Dashboard } from '../../src/report/dashboard.js';
import { rolloutView, type RolloutView } from '../../src/report/rollout.js';
import { evaluate } from '../../src/engine/engine.js';
import { makeContext, readYamlDocs } from '../helpers.js';

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('report: dashboard server', () => {
  let dashboard: Dashboard;
  let view: RolloutView | undefined;

  before(async () => {
    dashboard = await startDashboard('127.0.0.1', 0, () => view);
  });
  after(() => dashboard.close());

  it('says it is starting until the first audit run', async () => {
    const r = await get(dashboard.port, '/');
    expect(r.status).to.equal(503);
    expect(r.headers.get('retry-after')).to.equal('5');
    expect(r.text).to.include('has not finished yet');
  });

  it('serves the overview and each namespace, read-only, with a strict CSP', async () => {
    const ctx = makeContext({ networkPolicies: { shop: [], quiet: [] } });
    const evaluated = readYamlDocs('test/fixtures/report/rollout.yaml').map((o, i) => ({ source: `cluster:${i}`, result: evaluate(o, ctx, { defaultNamespace: 'x' })!, mode: 'audit' }));
    view = rolloutView({ evaluated, skipped: [], problems: [] }, 'cluster', new Date());
    const overview = await get(dashboard.port, '/');
    expect(overview.status).to.equal(200);
    expect(overview.headers.get('content-security-policy')).to.match(/^default-src 'none'/);
    expect(overview.headers.get('x-frame-options')).to.equal('DENY');
    expect(overview.text).to.include(`href="${namespacePath('shop')}"`);
    const shop = await get(dashboard.port, '/namespaces/shop');
    expect(shop.status).to.equal(200);
    expect(shop.text).to.include('Not ready for enforce');
    const head = await get(dashboard.port, '/namespaces/shop', 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.text).to.equal('');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get(dashboard.port, '/', method);
      expect(r.status, method).to.equal(405);
      expect(r.headers.get('allow')).to.equal('GET, HEAD');
    }
    expect((await get(dashboard.port, '/namespaces/nope')).status).to.equal(404);
    expect((await get(dashboard.port, '/namespaces/%E0%A4%A')).status).to.equal(404);
    expect((await get(dashboard.port, '/etc/passwd')).status).to.equal(404);
  });
});
