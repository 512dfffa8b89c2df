#!/usr/bin/env bash
# Builds one Go command from the Go module proxy and puts it at DEST atomically (CGO off, trimmed
# paths; extra `go install` flags such as -ldflags follow):
#   scripts/go-install.sh MODULE/cmd/NAME@VERSION DEST [go install flags...]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MODULE/cmd/NAME@VERSION DEST [go install flags...]" >&2; exit 2; }
package="$1" dest="$2"
shift 2
command -v go > /dev/null || { echo "go-install: building ${package} needs Go (https://go.dev/dl), which is not on PATH" >&2; exit 1; }
gobin="$(mktemp -d)"
trap 'rm -rf "$gobin"' EXIT
CGO_ENABLED=0 GOBIN="$gobin" go install -trimpath "$@" "$package" >&2
mkdir -p "$(dirname "$dest")"
name="${package%@*}"
install -m 0755 "$gobin/${name##*/}" "$dest.new"
mv -f "$dest.new" "$dest"
