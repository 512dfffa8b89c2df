// The V8 code cache of the offline script (scripts/bundle.mjs runs this; src/cli/offline-script.ts
// reads the cache).
//   node scripts/code-cache.mjs SCRIPT ARGS...   compiles SCRIPT as `bin` does, runs the CLI with
//                                                ARGS, and at exit writes what V8 has compiled by
//                                                then (the functions that run) to the cache
//   node scripts/code-cache.mjs SCRIPT --check   fails when V8 refuses that cache here
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { codeCacheFile, compileOffline } from '../dist/src/cli/offline-script.js';

const [file, ...args] = process.argv.slice(2);
const offline = compileOffline(resolve(file));
if (!offline) throw new Error(`${file}: no such script`);
if (args[0] === '--check') {
  if (offline.script.cachedDataRejected !== false) {
    console.error(`${codeCacheFile(file)}: V8 refused the code cache just made for it`);
    process.exitCode = 2;
  }
} else {
  process.on('exit', () => {
    // V8 stamps a cache with its flags of the moment and refuses it under others. `scan` sets this
    // one after the script is compiled, so a cache made now must carry the default (V8's is 2;
    // --check shows it fits).
    setFlagsFromString('--semi-space-growth-factor=2');
    writeFileSync(codeCacheFile(file), offline.script.createCachedData());
  });
  process.argv = [process.argv[0], file, ...args];
  offline.run();
}
