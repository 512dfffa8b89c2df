// stale-image through the engine with registry facts supplied: build time against the policy's
// maximum age, measured on the context's clock; no facts, no finding. And a Pod's running containers
// against the maximum running age.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import type { ImageFacts } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { ShapeError } from '../../src/workloads/shape.js';
import { makeContext, policyWith } from '../helpers.js';
import { findingsOf, fixture, fixtureDocs, summary, theFinding } from './gap-fixtures.js';

const GAP = 'stale-image';
const NOW = new Date('2026-11-15T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

function daysAgo(days: number): Date {
  return new Date(NOW.getTime() - days * DAY);
}

/** Build times 400, 30 and 1000 days ago; the proxy and never-looked-up images have no facts. */
const IMAGES: Record<string, ImageFacts> = {
  'registry.example.com/shop/migrate:2023.1': { created: daysAgo(400) },
  'registry.example.com/shop/api:4.2': { created: daysAgo(30) },
  'registry.example.com/tools/debug:2022': { created: daysAgo(1000) },
};
const OLD = 'stale-image/old-image';

describe('stale-image', () => {
  const ctx = makeContext({ now: NOW, images: IMAGES });
  const api = fixture(GAP, 'fail', 'api');
  const cleanup = fixture(GAP, 'fail', 'cleanup');

  it('finds exactly the old images of each fail fixture, init, CronJob and ephemeral containers included', () => {
    const expected: Record<string, string[]> = {
      api: [`${OLD} @ spec.template.spec.initContainers[0].image`],
      cleanup: [`${OLD} @ spec.jobTemplate.spec.template.spec.containers[0].image`],
      'debug-target': [`${OLD} @ spec.ephemeralContainers[0].image`],
    };
    const docs = fixtureDocs(GAP, 'fail');
    expect(docs.map((d) => d.name)).to.deep.equal(Object.keys(expected));
    for (const { obj, name } of docs) expect(summary(findingsOf(obj, GAP, ctx)), name).to.deep.equal(expected[name]);
  });

  it('passes fresh images and images without facts', () => {
    for (const { obj, name } of fixtureDocs(GAP, 'pass')) expect(findingsOf(obj, GAP, ctx), name).to.deep.equal([]);
  });

  it('warns, medium, with the age, the build date and the limit in the message', () => {
    const f = theFinding(api, OLD, ctx);
    expect(f).to.include({ severity: 'medium', action: 'warn', fixable: false });
    expect(f.message)
      .to.contain('Container "migrate"')
      .and.contain('400 days')
      .and.contain(daysAgo(400).toISOString().slice(0, 10))
      .and.contain('90-day');
    expect(f.remediation).to.contain('Rebuild');
  });

  it('says nothing without registry facts, or without a valid build time in them', () => {
    for (const { obj, name } of fixtureDocs(GAP, 'fail')) expect(findingsOf(obj, GAP, makeContext({ now: NOW })), name).to.deep.equal([]);
    const image = 'registry.example.com/shop/migrate:2023.1';
    const noCreated = makeContext({ now: NOW, images: { [image]: { digest: 'sha256:' + 'a'.repeat(64) } } });
    expect(findingsOf(cleanup, GAP, noCreated)).to.deep.equal([]);
    const invalid = makeContext({ now: NOW, images: { [image]: { created: new Date('not a date') } } });
    expect(findingsOf(cleanup, GAP, invalid)).to.deep.equal([]);
  });

  it('measures against policy.staleImage.maxImageAgeDays, strictly older than the limit', () => {
    const tight = makeContext({ now: NOW, images: IMAGES, policy: policyWith('gaps:\n  stale-image:\n    maxImageAgeDays: 29\n') });
    expect(summary(findingsOf(api, GAP, tight))).to.deep.equal([
      `${OLD} @ spec.template.spec.containers[0].image`,
      `${OLD} @ spec.template.spec.initContainers[0].image`,
    ]);
    const exact = makeContext({ now: NOW, images: IMAGES, policy: policyWith('gaps:\n  stale-image:\n    maxImageAgeDays: 30\n') });
    expect(summary(findingsOf(api, GAP, exact))).to.deep.equal([`${OLD} @ spec.template.spec.initContainers[0].image`]);
  });

  it('uses the context clock, not the wall clock', () => {
    expect(findingsOf(cleanup, GAP, makeContext({ now: daysAgo(390), images: IMAGES }))).to.deep.equal([]);
  });
});

describe('stale-image/long-running (a Pod status through the engine)', () => {
  const LONG = 'stale-image/long-running';
  const DIGEST = 'sha256:' + '0123456789ab'.repeat(5) + '0123';
  const ctx = makeContext({ now: NOW });

  /** A Pod as the API server returns it once the kubelet has reported on its containers. */
  function runningPod(): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-7d9f', namespace: 'shop' },
      spec: {
        initContainers: [{ name: 'proxy', image: 'registry.example.com/proxy:2', restartPolicy: 'Always' }],
        containers: [
          { name: 'api', image: 'registry.example.com/shop/api:4.2' },
          { name: 'worker', image: 'registry.example.com/shop/worker:1' },
        ],
        ephemeralContainers: [{ name: 'debugger', image: 'busybox:1.36' }],
      },
      status: {
        phase: 'Running',
        initContainerStatuses: [{ name: 'proxy', image: 'registry.example.com/proxy:2', imageID: `registry.example.com/proxy@${DIGEST}`, state: { running: { startedAt: daysAgo(10).toISOString() } } }],
        containerStatuses: [
          { name: 'api', image: 'registry.example.com/shop/api:4.2', imageID: `registry.example.com/shop/api@${DIGEST}`, state: { running: { startedAt: daysAgo(45).toISOString() } } },
          { name: 'worker', image: 'registry.example.com/shop/worker:1', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
        ephemeralContainerStatuses: [{ name: 'debugger', image: 'busybox:1.36', imageID: `docker.io/library/busybox@${DIGEST}`, state: { running: { startedAt: daysAgo(31).toISOString() } } }],
      },
    };
  }

  it('finds every container running longer than maxRunningAgeDays (30), at its status entry', () => {
    expect(summary(findingsOf(runningPod(), GAP, ctx))).to.deep.equal([
      `${LONG} @ status.containerStatuses[0].state.running.startedAt`,
      `${LONG} @ status.ephemeralContainerStatuses[0].state.running.startedAt`,
    ]);
  });

  it('warns, medium, naming the container, the days, the start date, the digest and the limit', () => {
    const f = theFinding(runningPod(), LONG, makeContext({ now: NOW, policy: policyWith('gaps:\n  stale-image:\n    maxRunningAgeDays: 40\n') }));
    expect(f).to.include({ severity: 'medium', action: 'warn', fixable: false, detail: 'running for 45 days' });
    expect(f.message)
      .to.contain('Container "api"')
      .and.contain('45 days')
      .and.contain(daysAgo(45).toISOString().slice(0, 10))
      .and.contain('sha256:0123456789ab')
      .and.contain('40-day');
    expect(f.remediation).to.contain('rollout restart');
  });

  it('measures strictly longer than the limit, on the context clock', () => {
    const exact = makeContext({ now: NOW, policy: policyWith('gaps:\n  stale-image:\n    maxRunningAgeDays: 45\n') });
    expect(findingsOf(runningPod(), GAP, exact)).to.deep.equal([]);
    const tight = makeContext({ now: NOW, policy: policyWith('gaps:\n  stale-image:\n    maxRunningAgeDays: 9\n') });
    expect(summary(findingsOf(runningPod(), GAP, tight))).to.have.length(3);
    expect(findingsOf(runningPod(), GAP, makeContext({ now: daysAgo(20) }))).to.deep.equal([]);
  });

  it('says nothing for templates, Pods without status, waiting containers or an unparsable start time', () => {
    const pod = runningPod();
    const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' }, spec: { template: { metadata: {}, spec: pod.spec } }, status: pod.status };
    expect(findingsOf(deployment, GAP, ctx)).to.deep.equal([]);
    expect(findingsOf({ ...pod, status: undefined }, GAP, ctx)).to.deep.equal([]);
    const garbled = runningPod();
    for (const s of (garbled.status as { containerStatuses: { state: { running: { startedAt: string } } }[] }).containerStatuses) s.state = { running: { startedAt: 'last Tuesday' } };
    expect(summary(findingsOf(garbled, GAP, ctx))).to.deep.equal([`${LONG} @ status.ephemeralContainerStatuses[0].state.running.startedAt`]);
  });

  it('follows its own rule setting, and image exemptions through the spec container of the same name', () => {
    const off = makeContext({ now: NOW, policy: policyWith('gaps:\n  stale-image:\n    rules:\n      stale-image/long-running: {action: off}\n') });
    expect(findingsOf(runningPod(), GAP, off)).to.deep.equal([]);
    const exempt = makeContext({
      now: NOW,
      policy: policyWith('exemptions:\n  - match: {images: ["busybox:*"]}\n    gaps: [stale-image]\n    reason: debug sessions\n'),
    });
    expect(summary(findingsOf(runningPod(), GAP, exempt))).to.deep.equal([`${LONG} @ status.containerStatuses[0].state.running.startedAt`]);
  });

  it('rejects a status field of the wrong type with its path', () => {
    const pod = runningPod();
    (pod.status as Record<string, unknown>).containerStatuses = [{ name: 'api', state: { running: { startedAt: 1700000000 } } }];
    expect(() => evaluate(pod, ctx)).to.throw(ShapeError, 'status.containerStatuses[0].state.running.startedAt: expected a string, got a number');
  });
});
