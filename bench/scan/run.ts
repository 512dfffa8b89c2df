// Scan benchmark: `gapguard scan --output json` against the floor (floor.ts: js-yaml loading the
// same files, nothing else), interleaved run by run, on the corpus of corpus.ts. Wall time from
// this process (spawn to exit), CPU time (user + system) and peak resident memory from GNU time.
// CPU time is the steadier figure on a shared machine. The startup case also times `node -e 0`,
// what any Node command pays on the machine. Prints a Markdown table of medians and writes every run
// to bench/results/scan-*.json.
// Environment: RUNS (5), STARTUP_RUNS (15), CASES (comma-separated case names, default all).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gapguardBin } from '../bin.js';
import { DIRECTORY_SIZE, SIZES, writeCorpus } from './corpus.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const corpus = join(root, 'bench/results/scan-corpus');
const RUNS = Number(process.env.RUNS ?? 5);
const STARTUP_RUNS = Number(process.env.STARTUP_RUNS ?? 15);

interface Case {
  name: string;
  objects: number;
  path: string;
  runs: number;
}

const cases: Case[] = [
  ...SIZES.map((n) => ({ name: n === 1 ? '1 (startup)' : `${n} in one file`, objects: n, path: join(corpus, `one-${n}.yaml`), runs: n === 1 ? STARTUP_RUNS : RUNS })),
  { name: `${DIRECTORY_SIZE} files in a directory`, objects: DIRECTORY_SIZE, path: join(corpus, `dir-${DIRECTORY_SIZE}`), runs: RUNS },
].filter((c) => !process.env.CASES || process.env.CASES.split(',').some((x) => c.name.startsWith(x)));

interface Sample {
  seconds: number;
  cpuSeconds: number;
  rssMiB: number;
}

function measure(args: string[]): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', process.execPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const m = /maxrss=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(r.stderr ?? '');
  // gapguard exits 1 on this corpus (it has findings to deny); anything else is a failure.
  if (!m || (r.status !== 0 && r.status !== 1)) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, cpuSeconds: Number(m[2]) + Number(m[3]), rssMiB: Number(m[1]) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

writeCorpus(corpus);
const gapguard = (path: string) => [gapguardBin(root), 'scan', '--output', 'json', path];
const floor = (path: string) => [join(root, 'dist/bench/scan/floor.js'), path];
const bareNode = ['-e', '0'];

interface Row {
  case: string;
  objects: number;
  runs: number;
  gapguard: { seconds: number; cpuSeconds: number; rssMiB: number; samples: Sample[] };
  floor: { seconds: number; cpuSeconds: number; rssMiB: number; samples: Sample[] };
  node?: { seconds: number; cpuSeconds: number; samples: Sample[] };
}

const results: Row[] = [];
for (const c of cases) {
  const g: Sample[] = [];
  const f: Sample[] = [];
  const n: Sample[] = [];
  const runs: (() => void)[] = [() => g.push(measure(gapguard(c.path))), () => f.push(measure(floor(c.path)))];
  if (c.objects === 1) runs.push(() => n.push(measure(bareNode)));
  measure(gapguard(c.path)); // warm the page cache for both
  measure(floor(c.path));
  for (let i = 0; i < c.runs; i++) {
    // Alternate the order, so none always runs right after another.
    for (const run of i % 2 === 0 ? runs : [...runs].reverse()) run();
  }
  const row: Row = {
    case: c.name,
    objects: c.objects,
    runs: c.runs,
    gapguard: { seconds: median(g.map((s) => s.seconds)), cpuSeconds: median(g.map((s) => s.cpuSeconds)), rssMiB: median(g.map((s) => s.rssMiB)), samples: g },
    floor: { seconds: median(f.map((s) => s.seconds)), cpuSeconds: median(f.map((s) => s.cpuSeconds)), rssMiB: median(f.map((s) => s.rssMiB)), samples: f },
    node: n.length ? { seconds: median(n.map((s) => s.seconds)), cpuSeconds: median(n.map((s) => s.cpuSeconds)), samples: n } : undefined,
  };
  results.push(row);
  process.stderr.write(`${c.name}: gapguard ${row.gapguard.seconds.toFixed(3)} s, floor ${row.floor.seconds.toFixed(3)} s\n`);
}

const ms = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
const lines = [
  `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString().slice(0, 10)}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end; medians of ${RUNS} runs (${STARTUP_RUNS} for startup)`,
  '',
  '| objects | gapguard wall | objects/s | CPU | peak RSS | floor (js-yaml only) wall | CPU | RSS | wall / floor | CPU / floor |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.case} | ${ms(r.gapguard.seconds)} | ${Math.round(r.objects / r.gapguard.seconds)} | ${ms(r.gapguard.cpuSeconds)} | ${r.gapguard.rssMiB.toFixed(0)} MiB | ${ms(r.floor.seconds)} | ${ms(r.floor.cpuSeconds)} | ${r.floor.rssMiB.toFixed(0)} MiB | ${(r.gapguard.seconds / r.floor.seconds).toFixed(2)}x | ${(r.gapguard.cpuSeconds / r.floor.cpuSeconds).toFixed(2)}x |`,
  ),
];
for (const r of results.filter((r) => r.node)) {
  const node = r.node!;
  lines.push(
    '',
    `node -e 0, same runs: ${ms(node.seconds)} wall, ${ms(node.cpuSeconds)} CPU; startup against it: gapguard ${(r.gapguard.seconds / node.seconds).toFixed(2)}x wall, floor ${(r.floor.seconds / node.seconds).toFixed(2)}x` +
      (process.env.NODE_EXTRA_CA_CERTS ? ` (NODE_EXTRA_CA_CERTS is set: Node 20 reads those certificates at every start)` : ''),
  );
}
const rss = (n: string) => results.find((r) => r.case.startsWith(n))?.gapguard.rssMiB;
if (rss('5000') && rss('100')) lines.push('', `peak RSS at 5,000 objects / at 100: ${(rss('5000')! / rss('100')!).toFixed(2)}x`);
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/scan-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
