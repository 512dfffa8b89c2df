// The `gapguard` command the package ships (package.json `bin`: the bundle `npm run build` makes),
// which is what users run and what the benchmarks time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function gapguardBin(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { gapguard: string } };
  return join(root, pkg.bin.gapguard);
}
