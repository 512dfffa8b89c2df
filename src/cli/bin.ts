#!/usr/bin/env node
// The `gapguard` command as shipped (package.json `bin`, bundled by scripts/bundle.mjs into
// dist/cli/gapguard.js): turns on Node's on-disk compile cache before the CLI's code is loaded, so a
// second start skips compiling it. Node before 22.1 has no such cache and starts as before; a cache
// that cannot be written (a read-only root) is skipped by Node without a message.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./main.js');
