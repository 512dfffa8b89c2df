// resource-limits through the engine: missing memory and CPU limits on init and app containers,
// pod-level limits, ephemeral containers, and a fix that never goes below the request.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { makeContext, policyWith } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, theFinding, valueAt, withFixes } from './gap-fixtures.js';

const MEMORY = 'resource-limits/no-memory-limit';
const CPU = 'resource-limits/no-cpu-limit';
const memory = (container: string) => `${MEMORY} @ ${container}.resources.limits.memory`;
const cpu = (container: string) => `${CPU} @ ${container}.resources.limits.cpu`;
const both = (container: string) => [memory(container), cpu(container)];

describeFixtures('resource-limits', {
  checkout: both('spec.template.spec.containers[0]'),
  search: [cpu('spec.template.spec.containers[0]')],
  'node-tuner': [memory('spec.template.spec.initContainers[0]')],
  reindex: [memory('spec.template.spec.containers[0]')],
  thumbnails: both('spec.jobTemplate.spec.template.spec.containers[0]'),
  'miner-lookalike': both('spec.template.spec.containers[0]'),
  'legacy-web': both('spec.template.spec.containers[0]'),
  'batch-template': [cpu('template.spec.containers[0]')],
  'pod-cpu-limit': [memory('spec.containers[0]')],
  'zero-limits': [...both('spec.containers[0]'), memory('spec.containers[1]')],
  'pod-level-requests': [...both('spec.containers[0]'), cpu('spec.containers[1]')],
  'pod-level-zero': [memory('spec.containers[0]'), memory('spec.containers[1]')],
});

describe('resource-limits', () => {
  it('denies a missing memory limit as high and a missing CPU limit as medium, both fixable', () => {
    const obj = fixture('resource-limits', 'fail', 'checkout');
    const mem = theFinding(obj, MEMORY);
    expect(mem).to.include({ severity: 'high', action: 'deny', fixable: true });
    expect(mem.message).to.include('Container "checkout" has no memory limit');
    expect(mem.remediation).to.include('512Mi');
    expect(theFinding(obj, CPU)).to.include({ severity: 'medium', action: 'deny', fixable: true });
  });

  it('fills missing limits from the policy defaults', () => {
    const fixed = withFixes(fixture('resource-limits', 'fail', 'checkout'));
    expect(valueAt(fixed, 'spec.template.spec.containers[0].resources')).to.deep.equal({ limits: { cpu: '500m', memory: '512Mi' } });
    const legacy = withFixes(fixture('resource-limits', 'fail', 'legacy-web'));
    expect(valueAt(legacy, 'spec.template.spec.containers[0].resources.limits')).to.deep.equal({ cpu: '500m', memory: '512Mi' });
  });

  it('uses the request when it is larger than the default, and never touches a set limit', () => {
    const search = withFixes(fixture('resource-limits', 'fail', 'search'));
    expect(valueAt(search, 'spec.template.spec.containers[0].resources')).to.deep.equal({
      requests: { cpu: '2', memory: '4Gi' },
      limits: { memory: '4Gi', cpu: '2' },
    });
    const thumbs = withFixes(fixture('resource-limits', 'fail', 'thumbnails'));
    expect(valueAt(thumbs, 'spec.jobTemplate.spec.template.spec.containers[0].resources.limits')).to.deep.equal({ cpu: '500m', memory: '1Gi' });
    expect(theFinding(fixture('resource-limits', 'fail', 'thumbnails'), MEMORY).remediation).to.include('1Gi');
  });

  it('takes the defaults from the policy', () => {
    const policy = policyWith('gaps:\n  resource-limits:\n    defaultLimits: {cpu: 2, memory: 2Gi}\n');
    const fixed = withFixes(fixture('resource-limits', 'fail', 'thumbnails'), makeContext({ policy }));
    expect(valueAt(fixed, 'spec.jobTemplate.spec.template.spec.containers[0].resources.limits')).to.deep.equal({ cpu: '2', memory: '2Gi' });
  });

  it('reads a limit of zero as missing, says so, and replaces it', () => {
    const obj = fixture('resource-limits', 'fail', 'zero-limits');
    const findings = findingsOf(obj, 'resource-limits');
    expect(findings[0]!.message).to.include('a limit of 0 sets no bound');
    const fixed = withFixes(obj);
    expect(valueAt(fixed, 'spec.containers[0].resources.limits')).to.deep.equal({ memory: '512Mi', cpu: '500m' });
    expect(valueAt(fixed, 'spec.containers[1].resources.limits')).to.deep.equal({ memory: '512Mi', cpu: '250m' });
    expect(findingsOf(fixed, 'resource-limits')).to.deep.equal([]);
  });

  it('bounds a pod sized at pod level on the pod, above its request and every container limit, never on the containers', () => {
    const obj = fixture('resource-limits', 'fail', 'pod-level-requests');
    expect(theFinding(obj, MEMORY).remediation).to.include('on the pod (spec.resources.limits)');
    const fixed = withFixes(obj);
    // Memory: the worker's 1Gi limit is above the 512Mi default; CPU: the pod requests 2 cores.
    expect(valueAt(fixed, 'spec.resources')).to.deep.equal({ requests: { memory: '256Mi', cpu: '2' }, limits: { memory: '1Gi', cpu: '2' } });
    expect(valueAt(fixed, 'spec.containers[0].resources')).to.equal(undefined);
    expect(valueAt(fixed, 'spec.containers[1].resources')).to.deep.equal({ requests: { memory: '64Mi' }, limits: { memory: '1Gi' } });
    expect(findingsOf(fixed, 'resource-limits')).to.deep.equal([]);
  });

  it('replaces a pod-level limit of zero once, however many containers it leaves open', () => {
    const obj = fixture('resource-limits', 'fail', 'pod-level-zero');
    const ops = evaluate(obj, makeContext())!.patch.filter((op) => op.path.startsWith('/spec/resources'));
    expect(ops).to.deep.equal([{ op: 'replace', path: '/spec/resources/limits/memory', value: '512Mi' }]);
    const fixed = withFixes(obj);
    expect(valueAt(fixed, 'spec.resources.limits')).to.deep.equal({ memory: '512Mi', cpu: '1' });
    expect(findingsOf(fixed, 'resource-limits')).to.deep.equal([]);
  });

  it('adds only what the pod-level limits leave open, and nothing to ephemeral containers', () => {
    const fixed = withFixes(fixture('resource-limits', 'fail', 'pod-cpu-limit'));
    expect(valueAt(fixed, 'spec.containers[0].resources')).to.deep.equal({ limits: { memory: '512Mi' } });
    expect(valueAt(fixed, 'spec.ephemeralContainers[0].resources')).to.equal(undefined);
    expect(findingsOf(fixed, 'resource-limits')).to.deep.equal([]);
  });
});
