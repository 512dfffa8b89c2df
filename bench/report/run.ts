// HTML report benchmark: how long `gapguard scan --output html` takes to write the report of the
// scan corpus (bench/scan/corpus.ts: realistic Deployments with about 19 findings each, in 50
// namespaces), how large it is, and how long Chromium takes to load it (navigation start to the
// load event, from the page's own Navigation Timing), as a person opening a CI artifact would.
// Environment: RUNS (3), CASES (comma-separated object counts, default 1000,5000).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openBrowser } from '../../test/browser.js';
import { gapguardBin } from '../bin.js';
import { writeCorpus } from '../scan/corpus.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const corpus = join(root, 'bench/results/scan-corpus');
const RUNS = Number(process.env.RUNS ?? 3);
const CASES = (process.env.CASES ?? '1000,5000').split(',').map(Number);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

writeCorpus(corpus);
const out = mkdtempSync(join(tmpdir(), 'gapguard-bench-report-'));
const load = loadavg()[0]!.toFixed(1);
const rows: string[] = [];
const raw: unknown[] = [];
const browser = await openBrowser();
try {
  for (const objects of CASES) {
    const file = join(out, `report-${objects}.html`);
    const write: number[] = [];
    const open: number[] = [];
    let folded = 0;
    for (let run = 0; run < RUNS; run++) {
      const started = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [gapguardBin(root), 'scan', '--output', 'html', join(corpus, `one-${objects}.yaml`)], { encoding: 'utf8', maxBuffer: 1 << 30 });
      write.push(Number(process.hrtime.bigint() - started) / 1e9);
      // The corpus has findings to deny: exit 1; anything else is a failure.
      if (r.status !== 1) throw new Error(`scan --output html exited ${r.status}: ${r.stderr}`);
      writeFileSync(file, r.stdout);
      await browser.page.goto('about:blank');
      await browser.page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 600_000 });
      open.push(await browser.page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd) / 1000);
      folded = await browser.page.locator('details.workload').count();
    }
    const mib = statSync(file).size / 2 ** 20;
    raw.push({ objects, write, open, mib, folded });
    rows.push(`| ${objects} | ${mib.toFixed(1)} | ${median(write).toFixed(2)} | ${median(open).toFixed(1)} | ${folded ? `folded (${folded} workloads)` : 'open'} | ${open.map((s) => s.toFixed(1)).join(', ')} |`);
  }
} finally {
  await browser.close();
  rmSync(out, { recursive: true, force: true });
}
const report = [
  `HTML report, ${new Date().toISOString()}, ${cpus().length} cores, Node ${process.version}, load average ${load} at the start and ${loadavg()[0]!.toFixed(1)} at the end, ${RUNS} runs (medians)`,
  '',
  '| objects | MiB | write s | Chromium load s | findings | load s of each run |',
  '|---:|---:|---:|---:|---|---|',
  ...rows,
].join('\n');
console.log(report);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(root, `bench/results/report-${stamp}.json`), JSON.stringify(raw, null, 2));
