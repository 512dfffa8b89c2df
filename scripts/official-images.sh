#!/usr/bin/env bash
# Refreshes test/fixtures/official-images.txt, the names in docker-library/official-images' library/
# folder (one file per current Docker official image), and prints those data/well-known-images.txt
# lacks. The repository comes through the Go module proxy, which serves any public GitHub
# repository as a module zip: the one source of it reachable from machines without GitHub access.
set -euo pipefail
cd "$(dirname "$0")/.."
proxy="${GOPROXY_URL:-https://proxy.golang.org}"
module="github.com/docker-library/official-images"
# The repository has no tags: the proxy lists the pseudo-versions it holds, newest last once sorted.
version="$(curl -fsS "$proxy/$module/@v/list" | sort | tail -n 1)"
[ -n "$version" ] || { echo "official-images.sh: no version of $module from $proxy" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsS -o "$tmp/module.zip" "$proxy/$module/@v/$version.zip"
out=test/fixtures/official-images.txt
{
  echo "# docker-library/official-images library/ at $version (from $proxy, by scripts/official-images.sh)"
  unzip -Z1 "$tmp/module.zip" | sed -n "s#^$module@$version/library/\([^/]\{1,\}\)\$#\1#p" | sort
} > "$out"
echo "$out: $(grep -vc '^#' "$out") official images at $version"
missing="$(grep -v '^#' "$out" | while read -r name; do grep -qx "library/$name" data/well-known-images.txt || echo "library/$name"; done)"
if [ -n "$missing" ]; then
  printf 'not in data/well-known-images.txt:\n%s\n' "$missing"
  exit 1
fi
