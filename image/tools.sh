#!/usr/bin/env bash
# Installs the tools for building, pushing and running gapguard's image, idempotently, and prints
# the path of the one asked for on its last line:
#   image/tools.sh crane          go-containerregistry's crane, built from the Go module proxy
#   image/tools.sh oras           oras (pushes the SBOM as an OCI artifact), from the Go module proxy
#   image/tools.sh debian PKG...  Debian packages, with apt-get, when not installed yet
# Go tools are cached under ${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}/<name>-<version>/
# (crane takes about 40 s to build on 2 cores with a cold Go cache, oras about a minute).
set -euo pipefail

CRANE_VERSION="v0.22.1"
ORAS_VERSION="v1.3.6"
tools="${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}"

go_tool() { # name version module
  local dir="$tools/$1-$2"
  if [ ! -x "$dir/$1" ]; then
    echo "image/tools: building $1 $2 from the Go module proxy" >&2
    "$(dirname "$0")/../scripts/go-install.sh" "$3@$2" "$dir/$1" -ldflags "-s -w"
  fi
  echo "$dir/$1"
}

debian() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f '${Status}' "$pkg" 2> /dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "image/tools: installing Debian packages ${missing[*]}" >&2
  $sudo apt-get update -qq > /dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

case "${1:-}" in
  crane) go_tool crane "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane ;;
  oras) go_tool oras "$ORAS_VERSION" oras.land/oras/cmd/oras ;;
  debian) shift; debian "$@" ;;
  *) echo "usage: $0 crane|oras|debian PKG..." >&2; exit 2 ;;
esac
