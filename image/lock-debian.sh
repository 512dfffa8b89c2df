#!/usr/bin/env bash
# Records in image/debian.lock the Debian packages the image's runtime is made of, at the versions
# the configured apt archive serves now, with the SHA256 of each .deb. image/build.sh installs
# exactly these and refuses anything else. Run it (`npm run image:lock`) when the archive has
# replaced a version (a security update), then rebuild and re-pin (`npm run image:pin`).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libc6 libgcc-s1 libstdc++6 libatomic1 ca-certificates)
lock=image/debian.lock

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq > /dev/null

{
  echo "# Debian packages in gapguard's image: name version architecture sha256 (of the .deb)."
  echo "# Written by image/lock-debian.sh (npm run image:lock); image/build.sh installs exactly these."
  for name in "${PACKAGES[@]}"; do
    version="$(apt-cache policy "$name" | sed -n 's/^  Candidate: //p')"
    [ -n "$version" ] && [ "$version" != "(none)" ] || { echo "lock-debian: apt knows no candidate for $name" >&2; exit 1; }
    fields="$(apt-cache show "$name=$version" | awk '/^Architecture:/ { a = $2 } /^SHA256:/ { s = $2 } /^$/ { exit } END { print a, s }')"
    echo "$name $version $fields"
  done
} > "$lock.tmp"
mv "$lock.tmp" "$lock"
cat "$lock"
