// "The API server accepts what `gapguard fix` writes", checked by the API server: every example
// manifest and a fixed sample of generated workloads (test/generators/pods.ts, the same generator
// as the unit property test, plain and with anchors, aliases and merge keys, which kubectl resolves)
// go through `gapguard fix`, and both the input and the fixed output
// through `kubectl apply --dry-run=server`, in a namespace in audit mode so that gapguard's own
// webhooks let them through and only the apiserver's validation (and defaulting) judges.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments, stringify } from 'yaml';
import { sampleWorkloads, yamlWithSharedSettings } from '../test/generators/pods.js';
import { createNamespace } from './support/kube.js';
import { repoRoot } from './support/paths.js';
import { run } from './support/run.js';
import { kubectl } from './support/suite.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');

async function gapguardFix(yaml: string): Promise<string> {
  const r = await run(process.execPath, [BIN, 'fix', '-'], { input: yaml });
  expect(r.code, r.stderr).to.equal(0);
  return r.stdout;
}

/** Server-side dry-run of every object; the failures, one line each. */
async function dryRunFailures(namespace: string, yaml: string): Promise<string[]> {
  const r = await kubectl(['-n', namespace, 'apply', '--dry-run=server', '-f', '-'], yaml);
  return r.code === 0 ? [] : r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));
}

/** Objects the fixed YAML holds, for a count: a dry-run that skipped some would prove nothing. */
const objectCount = (yaml: string) => parseAllDocuments(yaml).filter((d) => d.toJS() !== null).length;

describe('fix output through the apiserver (server-side dry-run)', function () {
  this.timeout(300_000);
  let ns: string;
  before(async function () {
    ns = await createNamespace('fix-dry-run', 'audit');
  });

  for (const file of readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.yaml'))) {
    it(`examples/${file}: as written and as fixed`, async function () {
      // Into the test's namespace: the examples name their own.
      const yaml = parseAllDocuments(readFileSync(join(repoRoot, 'examples', file), 'utf8'))
        .map((d) => {
          d.setIn(['metadata', 'namespace'], ns);
          return d.toString();
        })
        .join('---\n');
      expect(await dryRunFailures(ns, yaml), 'the example as written').to.deep.equal([]);
      const fixed = await gapguardFix(yaml);
      expect(objectCount(fixed)).to.equal(objectCount(yaml));
      expect(await dryRunFailures(ns, fixed), 'the example as fixed').to.deep.equal([]);
    });
  }

  it('80 generated workloads: every one accepted as generated and as fixed', async function () {
    const workloads = sampleWorkloads(80, 9);
    const yaml = workloads.map((w) => stringify(w)).join('---\n');
    expect(await dryRunFailures(ns, yaml), 'the generated input (a generator bug otherwise)').to.deep.equal([]);
    const fixed = await gapguardFix(yaml);
    expect(fixed).not.to.equal(yaml);
    expect(objectCount(fixed)).to.equal(80);
    expect(await dryRunFailures(ns, fixed), 'the fixed output').to.deep.equal([]);
  });

  it('60 generated workloads written with anchors, aliases and merge keys: accepted as generated and as fixed', async function () {
    const yaml = sampleWorkloads(60, 10).map(yamlWithSharedSettings).join('---\n');
    expect(yaml).to.include('<<: *first');
    expect(await dryRunFailures(ns, yaml), 'the generated input (a generator bug otherwise)').to.deep.equal([]);
    const fixed = await gapguardFix(yaml);
    expect(objectCount(fixed)).to.equal(60);
    expect(await dryRunFailures(ns, fixed), 'the fixed output').to.deep.equal([]);
  });
});
