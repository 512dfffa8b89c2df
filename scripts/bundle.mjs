// Bundles the compiled CLI (after tsc) with esbuild; the entries are dist/src/cli/bin.js and the
// background audit's worker, dist/src/cluster/audit-worker.js, which `serve` starts from the file
// beside the module that starts it, with the same extension (cluster/audit-thread.ts).
//   node scripts/bundle.mjs              dist/cli/gapguard.js, the package's `bin`, for any Node
//                                        the package supports: what `scan` needs in one chunk,
//                                        what only serve, audit, fix or image lookups need in
//                                        chunks loaded on first use; dist/cli/audit-worker.js
//   node scripts/bundle.mjs OUTDIR META  one minified file for the image's own Node,
//                                        OUTDIR/gapguard.mjs, the worker's OUTDIR/audit-worker.mjs,
//                                        and esbuild's metafile (image/build.sh)
// A few files instead of about 45 modules spare the ES module loader's per-file work at every start.
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
  entryPoints: { gapguard: 'dist/src/cli/bin.js', 'audit-worker': 'dist/src/cluster/audit-worker.js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The CommonJS dependencies call require(): give the ES module bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
};
if (outdir) {
  // No splitting: each entry one whole file, the worker's holding its own copy of what it shares.
  const result = await build({ ...common, outdir, outExtension: { '.js': '.mjs' }, minify: true, keepNames: true, legalComments: 'none', metafile: true });
  await writeFile(metafile, JSON.stringify(result.metafile));
} else {
  await build({
    ...common,
    outdir: 'dist/cli',
    splitting: true,
    plugins: [lowerJsYamlSpread],
    // Packages that src/yaml/document.ts and src/signatures/policy.ts require only when a line, a
    // fix or a trusted root needs them stay in node_modules: bundled, their code would sit in a
    // chunk that every start loads.
    external: ['yaml', '@sigstore/protobuf-specs', '@sigstore/verify'],
  });
}
