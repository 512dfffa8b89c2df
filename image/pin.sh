#!/usr/bin/env bash
# `npm run image:pin`: builds the image of the committed sources (npm run image) and writes its
# digest into the chart's default values (charts/gapguard/values.yaml, image.digest), then renders
# manifests/ again. The image does not contain the chart, so the commit that records the digest
# leaves the digest as it is; `npm run test:image` checks the chart's digest against a fresh build.
set -euo pipefail
cd "$(dirname "$0")/.."

digest="$(image/build.sh | tail -n 1)"
revision="$(node -e '
  const index = JSON.parse(require("fs").readFileSync("build/image/oci/index.json"));
  const manifest = JSON.parse(require("fs").readFileSync("build/image/oci/blobs/" + index.manifests[0].digest.replace(":", "/")));
  const config = JSON.parse(require("fs").readFileSync("build/image/oci/blobs/" + manifest.config.digest.replace(":", "/")));
  console.log(config.config.Labels["org.opencontainers.image.revision"]);')"
case "$revision" in
  *-dirty) echo "image/pin: the image's inputs have uncommitted changes: commit them first, so the chart pins what a commit builds" >&2; exit 1 ;;
esac

values=charts/gapguard/values.yaml
# The digest line of the top-level image: block.
sed -i "/^image:/,/^[^ #]/ s/^  digest: .*/  digest: \"$digest\"/" "$values"
grep -q "^  digest: \"$digest\"" "$values" || { echo "image/pin: found no image.digest line to write in $values" >&2; exit 1; }
scripts/render-manifests.sh
echo "image/pin: $values pins $digest (revision $revision)" >&2
echo "$digest"
