// stale-image through the engine with registry facts supplied: build time against the policy's
// maximum age, measured on the context's clock; no facts, no finding.
import { expect } from 'chai';
import type { ImageFacts } from '../../src/engine/types.js';
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
