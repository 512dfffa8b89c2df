#!/usr/bin/env node
// The `gapguard` command as shipped (package.json `bin`, bundled by scripts/bundle.mjs into
// dist/cli/gapguard.cjs: CommonJS, so a start that needs no ES module does not set up Node's ES
// module loader). Node 22.1 and later: turns on Node's on-disk compile cache, then loads the CLI, an
// ES module bundle; a cache that cannot be written (a read-only root) is skipped by Node without a
// message. Before 22.1 there is no such cache: scan, fix, help and --version run from
// dist/cli/offline.cjs with the V8 code cache the build made for it (offline-script.ts); serve and
// audit, which that script leaves out, load the ES module bundle.
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { compileOffline } from './offline-script.js';

const { enableCompileCache } = module as { enableCompileCache?: () => unknown };
const command = process.argv[2];
const offline = enableCompileCache || command === 'serve' || command === 'audit' ? undefined : compileOffline(fileURLToPath(new URL('offline.cjs', import.meta.url)));
if (offline) offline.run();
else {
  enableCompileCache?.();
  void import('./main.js');
}
