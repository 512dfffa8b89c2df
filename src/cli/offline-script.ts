// The offline commands (scan, fix, help, --version) as one script that V8 compiles with a code cache,
// for Node before 22.1, which has no compile cache for ES modules. scripts/bundle.mjs bundles
// main.ts into dist/cli/offline.cjs and makes the cache at build time by running one scan, so the
// functions a scan runs are found compiled (about 25 ms of a 1-object scan's CPU, bench/README.md
// "Scan"). V8 checks a cache against its own version, flags and the source's length and refuses one
// that does not fit (`cachedDataRejected`): the script is then compiled as a plain start would.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

export const codeCacheFile = (script: string): string => `${script}.cache`;

export interface OfflineScript {
  script: Script;
  /** Runs the CLI of the script, which reads process.argv as main.ts does. */
  run(): void;
}

/** Compiles the script at `file` with its code cache when there is one; undefined without the script. */
export function compileOffline(file: string): OfflineScript | undefined {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(codeCacheFile(file));
  } catch {
    // No cache: compiled from source.
  }
  // The bundle is CommonJS: it is given the `require` of its place and, for import.meta.url
  // (paths.ts finds the package root by it), its own URL.
  const script = new Script(`(function (require, __importMetaUrl) {${source}\n})`, { filename: file, cachedData });
  return {
    script,
    run: () => (script.runInThisContext() as (require: NodeJS.Require, url: string) => void)(createRequire(file), pathToFileURL(file).href),
  };
}
