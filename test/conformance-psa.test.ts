// Kubernetes' own Pod Security Admission fixtures (test/conformance/psa) against gapguard: every
// case of mapping.json is one test, none skipped. `present` means at least one finding of each
// listed gap, `absent` means none (but for the rules no Pod Security level covers, which may only
// warn: BEYOND_PSA). The data is a copy of shared/conformance/psa.
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

/**
 * Rules that judge what no Pod Security level asks for: a fixture that passes PSA may still carry
 * them. `absent` of their gap means no other finding of it, and such a finding may only warn.
 */
const BEYOND_PSA: ReadonlySet<string> = new Set([
  // No Pod Security level requires readOnlyRootFilesystem; gapguard warns by default.
  'run-as-root/writable-root-fs',
]);

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
        else if (c.expect === 'absent') {
          expect(findings.filter((f) => !BEYOND_PSA.has(f.rule)), `${gap} findings`).to.deep.equal([]);
          for (const f of findings) expect(f.action, `${f.rule}, beyond Pod Security`).to.equal('warn');
        } else expect.fail(`unknown expectation ${JSON.stringify(c.expect)}`);
      }
    });
  }

  it('maps every fixture file', () => {
    const files = ['pass', 'fail'].flatMap((dir) => readdirSync(join(PSA_DIR, dir)).map((f) => `${dir}/${f}`));
    expect(mapping.cases.map((c) => c.file).sort()).to.deep.equal(files.sort());
  });
});
