// Kubernetes' own Pod Security Admission fixtures (test/conformance/psa) against gapguard: every
// case of mapping.json is one test, none skipped. `present` means at least one finding of each
// listed gap, `absent` means none. The data is a copy of shared/conformance/psa.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { evaluate } from '../src/engine/engine.js';
import type { GapId } from '../src/engine/types.js';
import { makeContext, readYamlDocs, repoRoot } from './helpers.js';

// A copy of shared/conformance/psa (Apache-2.0, see its LICENSE), kept in the repository so CI's
// fresh clone has it.
const PSA_DIR = join(repoRoot, 'test', 'conformance', 'psa');

interface PsaCase {
  file: string;
  gaps: GapId[];
  expect: 'present' | 'absent';
}

const mapping = JSON.parse(readFileSync(join(PSA_DIR, 'mapping.json'), 'utf8')) as { source: string; cases: PsaCase[] };

describe(`PSA conformance (${mapping.source})`, () => {
  for (const c of mapping.cases) {
    it(`${c.file}: ${c.gaps.join(', ')} ${c.expect}`, () => {
      const docs = readYamlDocs(join(PSA_DIR, c.file));
      expect(docs).to.have.length(1);
      const result = evaluate(docs[0]!, makeContext());
      expect(result, 'a Pod is judged').not.to.equal(null);
      for (const gap of c.gaps) {
        const findings = result!.findings.filter((f) => f.gap === gap);
        if (c.expect === 'present') expect(findings, `${gap} findings`).not.to.be.empty;
        else if (c.expect === 'absent') expect(findings, `${gap} findings`).to.deep.equal([]);
        else expect.fail(`unknown expectation ${JSON.stringify(c.expect)}`);
      }
    });
  }

  it('maps every fixture file', () => {
    const files = ['pass', 'fail'].flatMap((dir) => readdirSync(join(PSA_DIR, dir)).map((f) => `${dir}/${f}`));
    expect(mapping.cases.map((c) => c.file).sort()).to.deep.equal(files.sort());
  });
});
