// Bundles the compiled CLI (after tsc) with esbuild.
//   node scripts/bundle.mjs              for any Node the package supports:
//                                        dist/cli/gapguard.cjs, the package's `bin` (of
//                                        dist/src/cli/bin.js); dist/cli/main.js, the CLI as ES
//                                        modules, with what `scan` needs in one chunk and what only
//                                        serve, audit, fix or image lookups need in chunks loaded
//                                        on first use; dist/cli/audit-worker.js, the background
//                                        audit's worker, which `serve` starts from the file beside
//                                        the module that starts it, with the same extension
//                                        (cluster/audit-thread.ts); dist/cli/offline.cjs, the
//                                        offline commands as one script, and the V8 code cache that
//                                        Node before 22.1 starts them from (src/cli/offline-script.ts)
//   node scripts/bundle.mjs OUTDIR META  one minified file for the image's own Node,
//                                        OUTDIR/gapguard.mjs, the worker's OUTDIR/audit-worker.mjs,
//                                        and esbuild's metafile (image/build.sh)
// A few files instead of about 45 modules spare the ES module loader's per-file work at every start.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { build, transform } from 'esbuild';

const [outdir, metafile] = process.argv.slice(2);

/**
 * js-yaml with its object spread lowered to assignments. V8 before 12 (Node 20) gives every object
 * that a warm `{ ...defaults, more }` literal builds a map of its own, so the code reading such
 * objects turns megamorphic; js-yaml builds its parser state that way on every call, and a scan
 * parses one document per call. Lowered, a 5,000-document scan takes about a third less CPU
 * (bench/README.md, "Scan"). Only js-yaml: elsewhere a lowered spread (Object.defineProperties)
 * costs more than it saves. The image's Node shares the maps and keeps js-yaml as it is.
 */
const lowerJsYamlSpread = {
  name: 'lower-js-yaml-spread',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]js-yaml[\\/].*\.m?js$/ }, async (args) => {
      const { code } = await transform(await readFile(args.path, 'utf8'), { loader: 'js', format: 'esm', target: 'node20', supported: { 'object-rest-spread': false } });
      return { contents: code, loader: 'js' };
    });
  },
};
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // whatwg-url (under node-fetch, under @kubernetes/client-node) requires Node's punycode module,
  // deprecated since Node 21 with a warning at every start; the same code from npm instead.
  alias: { punycode: 'punycode/' },
};
// The CommonJS dependencies call require(): give an ES module bundle one.
const esm = { format: 'esm', banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" } };
// paths.ts and bin.ts find files by import.meta.url: a CommonJS bundle is given its URL under this name.
const commonJs = { format: 'cjs', define: { 'import.meta.url': '__importMetaUrl' } };
// Packages that src/yaml/document.ts and src/signatures/policy.ts require only when a line, a fix or
// a trusted root needs them stay in node_modules: bundled, their code would sit in what every start
// loads.
const LOADED_ON_USE = ['yaml', '@sigstore/protobuf-specs', '@sigstore/verify'];

/** Imports of these paths are left to Node at run time. */
const external = (filter) => ({
  name: 'external',
  setup(b) {
    b.onResolve({ filter }, (args) => ({ path: args.path, external: true }));
  },
});

/**
 * dist/cli/offline.cjs and its code cache. The script is CommonJS, so that V8 compiles it as one
 * vm.Script, which takes a code cache on Node 20 (ES modules do not). The cache is made by running
 * one scan of examples/insecure-deployment.yaml (scripts/code-cache.mjs), then checked: a start of
 * this Node must take it.
 */
async function offlineScript() {
  const file = 'dist/cli/offline.cjs';
  const [out] = (
    await build({
      ...common,
      ...commonJs,
      entryPoints: ['dist/src/cli/main.js'],
      write: false,
      outfile: file,
      // Minified, every start reads and V8 hashes half the text (about 3 ms less at a start here).
      minify: true,
      keepNames: true,
      legalComments: 'none',
      external: LOADED_ON_USE,
      // serve and audit stay out: bin.ts starts them from the ES module bundle.
      plugins: [lowerJsYamlSpread, external(/^\.\/(serve|audit)\.js$/)],
    })
  ).outputFiles;
  // The script is compiled inside a function: no #! line.
  await writeFile(file, out.text.replace(/^#!.*\n/, ''));
  for (const args of [['scan', '--output', 'json', 'examples/insecure-deployment.yaml'], ['--check']]) {
    const r = spawnSync(process.execPath, ['scripts/code-cache.mjs', file, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    // The scan exits 1: the example has findings to deny.
    if (r.status !== 0 && r.status !== 1) throw new Error(`scripts/code-cache.mjs ${args.join(' ')} failed (${r.status ?? r.signal})`);
  }
}

const AUDIT_WORKER = 'dist/src/cluster/audit-worker.js';

if (outdir) {
  // No splitting: each entry one whole file, the worker's holding its own copy of what it shares.
  const result = await build({
    ...common,
    ...esm,
    entryPoints: { gapguard: 'dist/src/cli/bin.js', 'audit-worker': AUDIT_WORKER },
    outdir,
    outExtension: { '.js': '.mjs' },
    minify: true,
    keepNames: true,
    legalComments: 'none',
    metafile: true,
  });
  await writeFile(metafile, JSON.stringify(result.metafile));
} else {
  await build({
    ...common,
    ...esm,
    entryPoints: { main: 'dist/src/cli/main.js', 'audit-worker': AUDIT_WORKER },
    outdir: 'dist/cli',
    splitting: true,
    plugins: [lowerJsYamlSpread],
    external: LOADED_ON_USE,
  });
  await build({
    ...common,
    ...commonJs,
    entryPoints: ['dist/src/cli/bin.js'],
    outfile: 'dist/cli/gapguard.cjs',
    banner: { js: "'use strict';\nconst __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [external(/^\.\/main\.js$/)],
  });
  await offlineScript();
}
