import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseImageReference } from '../../src/images/reference.js';
import { editDistance, findTyposquatTarget, WELL_KNOWN_IMAGES_FILE } from '../../src/images/typosquat.js';
import { policyWith, repoRoot } from '../helpers.js';

describe('typosquat helpers', () => {
  describe('editDistance (optimal string alignment, capped)', () => {
    const cases: [string, string, number][] = [
      ['nginx', 'nginx', 0],
      ['ngnix', 'nginx', 1], // adjacent transposition
      ['ngin', 'nginx', 1], // deletion
      ['nginxx', 'nginx', 1], // insertion
      ['nginy', 'nginx', 1], // substitution
      ['postgers', 'postgres', 1],
      ['bitnarni', 'bitnami', 2],
      ['ca', 'abc', 3], // OSA, not unrestricted Damerau: no edit of a transposed pair
      ['', 'abc', 3],
    ];
    for (const [a, b, d] of cases) {
      it(`${a} -> ${b} is ${d}`, () => {
        expect(editDistance(a, b, 5)).to.equal(d);
        expect(editDistance(b, a, 5)).to.equal(d);
      });
    }

    it('stops at the cap', () => {
      expect(editDistance('kubernetes', 'nginx', 2)).to.equal(3);
      expect(editDistance('abcdefgh', 'hgfedcba', 2)).to.equal(3);
    });
  });

  describe('the shipped well-known list', () => {
    const lines = readFileSync(WELL_KNOWN_IMAGES_FILE, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l !== '');

    it('holds a few hundred repository names, each parsable, without tags, listed once', () => {
      expect(lines.length).to.be.within(150, 450);
      const names = lines.map((l) => {
        const parsed = parseImageReference(l);
        expect(parsed.ok, l).to.equal(true);
        return parsed.ok ? `${parsed.ref.registry}/${parsed.ref.repository}` : '';
      });
      expect(new Set(names).size).to.equal(names.length);
    });

    it('says where its official images come from and when they were checked', () => {
      const text = readFileSync(WELL_KNOWN_IMAGES_FILE, 'utf8');
      expect(text).to.match(/docker-library\/official-images/).and.match(/checked\s+#?\s*against it on \d{4}-\d{2}-\d{2}/);
    });

    it('holds every current Docker official image (the library/ folder that scripts/official-images.sh fetched)', () => {
      const official = readFileSync(join(repoRoot, 'test/fixtures/official-images.txt'), 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
      expect(official.length).to.be.above(100);
      const policy = policyWith('{}');
      const missing = official.filter((name) => !lines.includes(`library/${name}`));
      expect(missing, 'run scripts/official-images.sh').to.deep.equal([]);
      for (const name of official) {
        const parsed = parseImageReference(`${name}:1.0`);
        expect(parsed.ok && findTyposquatTarget(parsed.ref, policy), name).to.equal(undefined);
      }
    });

    it('is never a typosquat of itself', () => {
      const policy = policyWith('{}');
      for (const line of lines) {
        const parsed = parseImageReference(line);
        if (parsed.ok) expect(findTyposquatTarget(parsed.ref, policy), line).to.equal(undefined);
      }
    });
  });
});
