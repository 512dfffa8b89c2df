#!/usr/bin/env bash
# `npm run image:push -- [--plain-http] REGISTRY/REPOSITORY[:TAG]`: pushes the image npm run image built
# (build/image/) to a registry, by digest and under TAG (default: the package version), then its
# SBOM as an OCI artifact whose subject is the image: through the referrers API where the registry
# has one, else under the tag sha256-<hex of the image digest> (OCI distribution 1.1's fallback,
# which Debian's docker-registry 2.8 needs). Credentials: crane and oras read
# ~/.docker/config.json (crane auth login / oras login). A registry with its own CA: set
# SSL_CERT_FILE to a bundle that includes it; one without TLS (development): --plain-http. Prints REGISTRY/REPOSITORY@sha256:... last.
set -euo pipefail
cd "$(dirname "$0")/.."

crane_flags=() oras_flags=()
if [ "${1:-}" = "--plain-http" ]; then crane_flags+=(--insecure) oras_flags+=(--plain-http); shift; fi
[ $# -eq 1 ] || { echo "usage: npm run image:push -- [--plain-http] REGISTRY/REPOSITORY[:TAG]   (e.g. ghcr.io/you/gapguard)" >&2; exit 2; }
[ -s build/image/digest ] && [ -d build/image/oci ] && [ -s build/image/sbom.spdx.json ] ||
  { echo "image/push: no image in build/image/: run npm run image first" >&2; exit 1; }
digest="$(cat build/image/digest)"

target="$1"
repository="${target%@*}"
[ "$repository" = "$target" ] || { echo "image/push: give a tag or nothing, not a digest: the digest is $digest" >&2; exit 2; }
last="${repository##*/}"
if [ "${last#*:}" != "$last" ]; then tag="${last#*:}" repository="${repository%:*}"; else tag="$(node -p 'require("./package.json").version')"; fi

crane="$(image/tools.sh crane | tail -n 1)"
oras="$(image/tools.sh oras | tail -n 1)"

pushed="$("$crane" push "${crane_flags[@]}" build/image/oci "$repository:$tag")"
[ "$pushed" = "$repository@$digest" ] || { echo "image/push: the registry answered $pushed, not $repository@$digest" >&2; exit 1; }
echo "image/push: pushed $repository:$tag ($digest)" >&2

(cd build/image && "$oras" attach "${oras_flags[@]}" --artifact-type application/spdx+json \
  "$repository@$digest" sbom.spdx.json:application/spdx+json > /dev/null)
echo "image/push: attached the SBOM (application/spdx+json) to $repository@$digest" >&2
echo "$repository@$digest"
