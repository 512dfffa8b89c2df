// gapguard judges its own chart with its own engine and default policy: the rendered workload has no
// gap with the default values, which pin the image by the digest this repository builds.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import type { NetworkPolicyLike, ObjectResult } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext } from '../helpers.js';
import { render, type RenderedObject } from './helm.js';

/** Every workload of the render through the engine, with the render's NetworkPolicies as the cluster's. */
function scan(objects: RenderedObject[]): ObjectResult[] {
  const networkPolicies: Record<string, NetworkPolicyLike[]> = { gapguard: [] };
  for (const policy of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    networkPolicies[policy.metadata.namespace!]!.push(policy as NetworkPolicyLike);
  }
  const ctx = makeContext({ networkPolicies });
  return objects.map((o) => evaluate(o as KubeObject, ctx)).filter((r): r is ObjectResult => r !== null);
}

function rules(results: ObjectResult[]): string[] {
  return results.flatMap((r) => r.findings.map((f) => f.rule));
}

describe('chart: dogfood scan with gapguard', () => {
  it('finds no gap in the workload with the default values', async () => {
    const results = scan(await render());
    expect(results.map((r) => r.kind)).to.deep.equal(['Deployment']);
    expect(results[0]!.findings, JSON.stringify(results[0]!.findings, null, 2)).to.deep.equal([]);
    expect(results[0]!.patch).to.deep.equal([]);
  });

  it('finds only the unpinned image when a release empties the digest: a version tag, so a warning', async () => {
    const results = scan(await render({ values: { image: { digest: '' } } }));
    expect(rules(results)).to.deep.equal(['unverified-image/not-pinned']);
    expect(results[0]!.findings[0]!.action).to.equal('warn');
  });

  it('finds the flat network when the chart NetworkPolicy is turned off', async () => {
    const results = scan(await render({ values: { networkPolicy: { enabled: false } } }));
    expect(results[0]!.findings.map((f) => f.gap)).to.deep.equal(['flat-network']);
  });
});
