// scan writes its report as it judges, one document at a time. The JSON must stay byte for byte
// what JSON.stringify of the whole report gave before streaming; SARIF changed in one documented
// way: a run's `results` now come before its `tool` (whose rules are known only at the end).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../helpers.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');

function scan(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'scan', ...args], { encoding: 'utf8', cwd: repoRoot, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scan streams its report', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-stream-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON exactly as JSON.stringify(report, null, 2) would, with results, skipped objects and errors', () => {
    const r = scan(['--output', 'json', 'test/fixtures/cli', 'examples']);
    const report = JSON.parse(r.stdout) as { results: unknown[]; skipped: unknown[]; errors: unknown[] };
    expect(report.results.length).to.be.greaterThan(5);
    expect(report.skipped.length).to.be.greaterThan(0);
    expect(report.errors.length).to.be.greaterThan(0);
    expect(r.stdout).to.equal(JSON.stringify(report, null, 2) + '\n');
  });

  it('writes empty JSON lists as JSON.stringify does', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '# nothing\n');
    const r = scan(['--output', 'json', file]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(JSON.stringify({ results: [], skipped: [], errors: [] }, null, 2) + '\n');
  });

  it('writes SARIF results before the tool, the only change streaming made to it', () => {
    const r = scan(['--output', 'sarif', 'test/fixtures/cli/mixed.yaml']);
    const sarif = JSON.parse(r.stdout) as { runs: Record<string, unknown>[] };
    expect(Object.keys(sarif)).to.deep.equal(['$schema', 'version', 'runs']);
    expect(Object.keys(sarif.runs[0]!)).to.deep.equal(['results', 'tool']);
    expect(r.stdout).to.equal(JSON.stringify(sarif, null, 2) + '\n');
    const empty = join(dir, 'clean.yaml');
    writeFileSync(empty, '# nothing\n');
    const none = JSON.parse(scan(['--output', 'sarif', empty]).stdout) as { runs: { results: unknown[]; tool: { driver: { rules: unknown[] } } }[] };
    expect(none.runs[0]!.results).to.deep.equal([]);
    expect(none.runs[0]!.tool.driver.rules).to.deep.equal([]);
  });

  it('reads a file in pieces: documents split across read blocks, CRLF line ends and a final marker', () => {
    // More than one 256 KiB read block, with documents of varied length so markers fall anywhere.
    const docs: string[] = [];
    for (let i = 0; i < 400; i++) {
      docs.push(`apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p${i}\r\n  annotations: {pad: "${'x'.repeat((i * 37) % 1500)}"}\r\nspec:\r\n  containers: [{name: a, image: "nginx:1.27"}]\r\n`);
    }
    const file = join(dir, 'many.yaml');
    writeFileSync(file, docs.join('---\r\n') + '---\r\n');
    const r = scan(['--output', 'json', file]);
    const report = JSON.parse(r.stdout) as { results: { name: string; source: string }[]; errors: unknown[] };
    expect(report.errors).to.deep.equal([]);
    expect(report.results.map((x) => x.name)).to.deep.equal(docs.map((_, i) => `p${i}`));
    expect(report.results[399]!.source).to.equal(`${file}:${399 * 8 + 1}`);
  });
});
