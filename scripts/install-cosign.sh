#!/usr/bin/env bash
# Installs cosign, which the signature tests use to sign images in the local docker-registry, into
# a cache outside the repository: ${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}/bin/cosign.
# Built from its Go module (github.com/sigstore/cosign/v3) through the Go module proxy with
# scripts/go-install.sh: no release binary is reachable from these machines. A cold build (empty
# Go module and build caches) costs about 8 CPU-minutes (32 min wall on the shared, loaded 2-core
# project machine, 2026-11-29); a second run with the expected version in place does nothing.
# Prints the cosign path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

COSIGN_VERSION="v3.1.3"
cosign="${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}/bin/cosign"

installed_version() {
  [ -x "$cosign" ] && "$cosign" version --json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' || true
}

if [ "$(installed_version)" != "$COSIGN_VERSION" ]; then
  echo "install-cosign: building cosign $COSIGN_VERSION from the Go module proxy (minutes on a cold cache)" >&2
  scripts/go-install.sh "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" "$cosign" \
    -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
  [ "$(installed_version)" = "$COSIGN_VERSION" ] || { echo "install-cosign: expected cosign $COSIGN_VERSION, got '$(installed_version)'" >&2; exit 1; }
fi
echo "$cosign"
