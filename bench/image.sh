#!/usr/bin/env bash
# Image figures for bench/README.md: build time cold (empty caches: the Debian packages, Node.js,
# crane built from the Go module proxy, every layer compressed) and warm (median of 3 builds with
# everything cached), then the image's size compressed (the blobs a registry stores and a node
# pulls) and uncompressed (the layers unpacked), and its layer count.
#   bash bench/image.sh [--no-cold]
set -euo pipefail
cd "$(dirname "$0")/.."

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
seconds() { local start; start=$(date +%s%N); "$@" > /dev/null 2>&1; awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f\n", ns / 1e9 }'; }

if [ "${1:-}" != "--no-cold" ]; then
  cold="$(mktemp -d)"
  trap 'rm -rf "$cold"' EXIT
  echo "cold build (empty image cache and tool cache): $(GAPGUARD_IMAGE_CACHE="$cold/image" GAPGUARD_TOOLS="$cold/tools" seconds npm run image) s"
fi
npm run image > /dev/null 2>&1 # fills the caches
echo "warm build, median of 3: $(for _ in 1 2 3; do seconds npm run image; done | median) s"

node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { execFileSync } from "node:child_process";
  const dir = "build/image/oci";
  const blob = (d) => `${dir}/blobs/${d.replace(":", "/")}`;
  const index = JSON.parse(readFileSync(`${dir}/index.json`, "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  const mb = (n) => (n / 1e6).toFixed(1) + " MB";
  let compressed = manifest.config.size, uncompressed = 0;
  for (const layer of manifest.layers) {
    const size = Number(execFileSync("sh", ["-c", `gzip -dc ${blob(layer.digest)} | wc -c`]).toString());
    compressed += layer.size; uncompressed += size;
    console.log(`layer ${layer.digest.slice(7, 19)}: ${mb(layer.size)} compressed, ${mb(size)} uncompressed`);
  }
  console.log(`image ${index.manifests[0].digest}: ${manifest.layers.length} layers, ${mb(compressed)} compressed, ${mb(uncompressed)} uncompressed`);
'
