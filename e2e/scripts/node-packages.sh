#!/usr/bin/env bash
# Installs the Debian packages the end-to-end node needs, when one is missing: runc (containerd's
# runtime), containernetworking-plugins (bridge, host-local, loopback in /usr/lib/cni), iptables and
# conntrack (kube-proxy, the kubelet) and docker-registry (the node's image source). Idempotent and
# quiet when everything is there; node-up.sh runs it.
set -euo pipefail

missing=()
command -v runc > /dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || missing+=(containernetworking-plugins)
command -v iptables > /dev/null || missing+=(iptables)
command -v conntrack > /dev/null || missing+=(conntrack)
command -v docker-registry > /dev/null || missing+=(docker-registry)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "node-packages: installing Debian's ${missing[*]}" >&2
$sudo apt-get update -qq > /dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
