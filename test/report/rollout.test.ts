// The rollout view and its HTML, through the engine's public evaluate: which workloads enforce
// would deny or patch, when a namespace is ready, per-gap counts, and that every value is escaped.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { escapeHtml, namespaceAnchor, renderReportFile } from '../../src/report/html.js';
import { readyForEnforce, rolloutView, rolloutViewInSlices, verdictOf } from '../../src/report/rollout.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext, readYamlDocs } from '../helpers.js';

function judged(objects: KubeObject[], mode?: string) {
  const ctx = makeContext({ networkPolicies: { shop: [], quiet: [{ metadata: { name: 'all' }, spec: {} }] } });
  return objects.map((o, i) => ({ source: `test:${i}`, result: evaluate(o, ctx, { defaultNamespace: 'default' })!, ...(mode ? { mode } : {}) }));
}

describe('report: rollout view', () => {
  const objects = readYamlDocs('test/fixtures/report/rollout.yaml');

  it('names what enforce would deny and patch per namespace, and which namespace is ready', () => {
    const view = rolloutView({ evaluated: judged(objects, 'audit'), skipped: [], problems: [] }, 't', new Date(0));
    expect(view.namespaces.map((n) => n.name)).to.deep.equal(['quiet', 'shop']);
    const [quiet, shop] = view.namespaces as [NonNullable<(typeof view.namespaces)[0]>, NonNullable<(typeof view.namespaces)[0]>];
    expect(shop.wouldDeny.map((w) => w.name)).to.deep.equal(['builder']);
    expect(shop.wouldPatch.map((w) => w.name)).to.deep.equal(['web']);
    expect(readyForEnforce(shop)).to.equal(false);
    expect(readyForEnforce(quiet)).to.equal(true);
    expect(quiet.gaps['flat-network']).to.equal(1);
    expect(shop.gaps['resource-limits']).to.equal(4);
    expect(shop.gaps.privileged).to.equal(2);
    expect(shop.mode).to.equal('audit');
    // Denied workloads first.
    expect(shop.workloads.map((w) => w.verdict)).to.deep.equal(['deny', 'patch']);
  });

  it('built in slices (the background audit), the view is the same and the pause is called between workloads', async () => {
    const report = { evaluated: judged(objects, 'audit'), skipped: [], problems: [] };
    let pauses = 0;
    const sliced = await rolloutViewInSlices(report, 't', new Date(0), async () => {
      pauses++;
    });
    expect(sliced).to.deep.equal(rolloutView(report, 't', new Date(0)));
    // One pause per workload and one per namespace's sort.
    expect(pauses).to.equal(report.evaluated.length + sliced.namespaces.length);
  });

  it('a fixable deny finding is a patch, a warn-only object is not a blocker', () => {
    const base = { gap: 'run-as-root', rule: 'r', severity: 'high', path: 'p', segments: ['p'], message: 'm', remediation: 'x' } as const;
    expect(verdictOf([{ ...base, action: 'deny', fixable: true }])).to.equal('patch');
    expect(verdictOf([{ ...base, action: 'deny', fixable: true }, { ...base, action: 'deny', fixable: false }])).to.equal('deny');
    expect(verdictOf([{ ...base, action: 'warn', fixable: false }])).to.equal('warn');
    expect(verdictOf([])).to.equal('clean');
  });
});

describe('report: HTML file', () => {
  it('escapes every value that comes from the input and shows no secret value', () => {
    const hostile: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: '<img src=x onerror=alert(1)>', namespace: 'ns"><script>alert(2)</script>' },
      spec: { containers: [{ name: '<b>c</b>', image: 'nginx<x>', env: [{ name: 'API_TOKEN', value: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' }] }] },
    };
    const html = renderReportFile(rolloutView({ evaluated: judged([hostile]), skipped: [], problems: [{ source: 'a<b', message: '<i>x</i>' }] }, '<t>', new Date(0)));
    expect(html).not.to.match(/<img|<script>|<b>c|<i>x|<t>/);
    expect(html).to.include('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.to.include('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(html).to.include(`id="${namespaceAnchor('ns"><script>alert(2)</script>')}"`);
    expect(namespaceAnchor('ns"><script>')).to.match(/^ns-[A-Za-z0-9_-]+$/);
    expect(html).to.match(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
    expect(escapeHtml(`&<>"'`)).to.equal('&amp;&lt;&gt;&quot;&#39;');
  });
});
