#!/usr/bin/env bash
# Starts a real single node for the control plane that cluster-up.sh started in <workdir>
# (cluster-up.sh runs it when GAPGUARD_E2E_NODE=1; it needs the node's tokens and certificates that
# cluster-up makes then). In order, and waiting for each:
#   1. the host's state is recorded (sysctls, absent host paths) in $NODE_STATE_DIR, after cleaning
#      up a node whose run was killed before its teardown;
#   2. the bridge gge2e0 with the node's address 10.244.0.1/24, a route that keeps the Service range
#      on it, and the GGE2E-INPUT/GGE2E-FORWARD chains: the apiserver port answers only lo and
#      Pods, and Pod traffic never leaves the machine;
#   3. Debian's docker-registry on 127.0.0.1 (the node's only image source: containerd sends every
#      pull to it, whatever registry an image names), and the pause image, built here, pushed to it;
#   4. containerd (CRI, runc, overlayfs, CNI bridge + host-local + loopback);
#   5. CoreDNS on the node's address, port 53 (cluster.local from the API; nothing else resolves);
#   6. the kubelet (cgroup v1, cgroupfs), registered with the taint gapguard.io/e2e-node:NoSchedule
#      so that only Pods that tolerate it run here (the scenarios' other Pods stay Pending as before);
#   7. kube-proxy (iptables) and kube-scheduler.
# Writes <workdir>/node.env (registry, images, node name, taint). On failure it exits non-zero;
# cluster-up then runs cluster-down.sh, which runs node-down.sh.
#
# Usage: e2e/scripts/node-up.sh <workdir>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-lib.sh
. "$here/node-lib.sh"

log() { echo "node-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <workdir>" >&2
  exit 2
fi
wd="$(cd "$1" && pwd)"
nd="$wd/node"
[ -f "$wd/cluster.env" ] || die "$wd/cluster.env is missing: start the control plane with cluster-up.sh first"
[ -f "$wd/pki/kubelet.kubeconfig" ] || die "no node credentials in $wd/pki: cluster-up.sh must run with GAPGUARD_E2E_NODE=1"
[ "$(id -u)" = 0 ] || die "the node needs root (mounts, cgroups, iptables, network namespaces)"
# shellcheck source=/dev/null
. "$wd/cluster.env"
bin="$GAPGUARD_E2E_BIN"
timeout_s="${GAPGUARD_E2E_START_TIMEOUT:-120}"
"$here/node-packages.sh"
for c in kubelet kube-proxy kube-scheduler containerd containerd-shim-runc-v2 coredns crane pause kubectl; do
  [ -x "$bin/$c" ] || die "$bin/$c is missing; run e2e/scripts/build-binaries.sh"
done

# ------------------------------------------------------------------ 1. a clean host, recorded
"$here/node-down.sh" --stale || die "could not clean up the node of an earlier run"
if ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || [ -n "$(node_cgroup_roots)" ] || pgrep -x kubelet >/dev/null; then
  die "the host already runs a node (bridge $NODE_BRIDGE, kubepods cgroups or a kubelet) that no run of this suite recorded; stop it first"
fi
rm -rf "$nd" "$wd/node.env"
mkdir -p "$nd" "$NODE_STATE_DIR"
sysctl -a 2>/dev/null | grep -E "$NODE_SYSCTLS" > "$NODE_STATE_DIR/sysctl.saved" || true
: > "$NODE_STATE_DIR/absent-paths"
for p in $NODE_HOST_PATHS; do
  [ -e "$p" ] || [ -L "$p" ] || echo "$p" >> "$NODE_STATE_DIR/absent-paths"
done
echo "$wd" > "$NODE_STATE_DIR/workdir"
# The run that owns the node (the suite's process): node-down.sh --stale leaves its node alone
# while it lives. A node started by hand has no owner and counts as stale once recorded.
if [ -n "${GAPGUARD_E2E_OWNER_PID:-}" ]; then
  echo "$GAPGUARD_E2E_OWNER_PID $(proc_start "$GAPGUARD_E2E_OWNER_PID")" > "$NODE_STATE_DIR/owner"
fi

# From here on, a failure leaves the clean-up to the caller (cluster-up runs cluster-down).
start() { # name args...
  local name="$1"; shift
  ( close_inherited_fds; exec setsid env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    "$@" ) > "$nd/$name.log" 2>&1 < /dev/null &
  echo $! > "$nd/$name.pid"
}
wait_for() { # name description command...
  local name="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$nd/$name.pid")" 2>/dev/null; then
      tail -n 40 "$nd/$name.log" >&2 || true
      die "$name exited while waiting for $what (log: $nd/$name.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 40 "$nd/$name.log" >&2 || true
      die "timed out after ${timeout_s}s waiting for $what (log: $nd/$name.log)"
    fi
    sleep 0.5
  done
}
kubectl_() { "$bin/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout=10s "$@"; }
free_ports() { # count: that many distinct free ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r registry_port kubelet_port kubelet_healthz_port proxy_healthz_port proxy_metrics_port \
  scheduler_port coredns_ready_port < <(free_ports 7)

# ------------------------------------------------------------------ 2. network
log "bridge $NODE_BRIDGE with $NODE_IP, Pod range $POD_CIDR"
ip link add "$NODE_BRIDGE" type bridge
ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$NODE_BRIDGE"
ip link set "$NODE_BRIDGE" up
# Service addresses that kube-proxy has not (yet) translated go to the bridge and die there,
# instead of following the default route off the machine.
ip route add "$GAPGUARD_E2E_SERVICE_CIDR" dev "$NODE_BRIDGE"
for family in iptables ip6tables; do
  "$family" -w -N GGE2E-INPUT
  "$family" -w -A GGE2E-INPUT -i lo -j RETURN
  "$family" -w -A GGE2E-INPUT -i "$NODE_BRIDGE" -j RETURN
  "$family" -w -A GGE2E-INPUT -p tcp --dport "$GAPGUARD_E2E_APISERVER_PORT" -j DROP
  "$family" -w -I INPUT -j GGE2E-INPUT
  # Pods talk to each other, the node and Services; nothing of theirs is forwarded anywhere else.
  "$family" -w -N GGE2E-FORWARD
  "$family" -w -A GGE2E-FORWARD -i "$NODE_BRIDGE" -o "$NODE_BRIDGE" -j ACCEPT
  "$family" -w -A GGE2E-FORWARD -i "$NODE_BRIDGE" -j DROP
  "$family" -w -A GGE2E-FORWARD -o "$NODE_BRIDGE" -j DROP
  "$family" -w -I FORWARD -j GGE2E-FORWARD
done

# ------------------------------------------------------------------ 3. registry and pause image
registry="127.0.0.1:$registry_port"
log "registry on $registry"
mkdir -p "$nd/registry"
cat > "$nd/registry.yaml" <<EOF
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $nd/registry }, delete: { enabled: true } }
http: { addr: $registry }
EOF
start docker-registry docker-registry serve "$nd/registry.yaml"
wait_for docker-registry "the registry on $registry" curl -fsS --max-time 2 "http://$registry/v2/"

# The sandbox image: the static pause binary as /pause, owned by root, run as 65535 like upstream's.
pause_image="$registry/pause:3.10"
python3 - "$bin/pause" "$nd/pause-layer.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[2], "w") as t:
    info = t.gettarinfo(sys.argv[1], arcname="pause")
    info.uid = info.gid = 0; info.uname = info.gname = ""; info.mode = 0o755; info.mtime = 0
    with open(sys.argv[1], "rb") as f: t.addfile(info, f)
PY
crane_() { "$bin/crane" --insecure "$@"; }
crane_ append --oci-empty-base -f "$nd/pause-layer.tar" -t "$pause_image" > /dev/null 2>> "$nd/crane.log"
pause_digest="$(crane_ mutate --set-platform linux/amd64 --entrypoint /pause --user 65535:65535 -t "$pause_image" "$pause_image" 2>> "$nd/crane.log")"
pause_digest="${pause_digest##*@}"
[[ "$pause_digest" == sha256:* ]] || die "pushing the pause image failed (see $nd/crane.log)"

# ------------------------------------------------------------------ 4. containerd
log "containerd"
mkdir -p "$nd/containerd/certs.d/_default" "$nd/cni/net.d"
# Every registry host resolves to the local registry, and never falls back to the real one.
cat > "$nd/containerd/certs.d/_default/hosts.toml" <<EOF
server = "http://$registry"
[host."http://$registry"]
  capabilities = ["pull", "resolve"]
EOF
cat > "$nd/containerd/config.toml" <<EOF
version = 3
root = "$nd/containerd/root"
state = "$nd/containerd/state"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$nd/containerd/containerd.sock"
[ttrpc]
  address = "$nd/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$nd/containerd/opt"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$pause_image"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$nd/containerd/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  netns_mounts_under_state_dir = true
  # The kubelet asks for negative oom_score_adj (-998 for sandboxes), which needs CAP_SYS_RESOURCE;
  # this VM's root lacks it (runc then fails with "can't get final child's PID from pipe: EOF").
  # Clamped to containerd's own (0) instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$nd/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$nd/cni/net.d"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
# No ipMasq (Pod traffic never leaves the machine, so no CNI-* NAT chains); host-local keeps its
# leases in the workdir.
cat > "$nd/cni/net.d/10-gapguard-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "gapguard-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$nd/cni/ipam"
      }
    }
  ]
}
EOF
# The shim is found on PATH.
start containerd env PATH="$bin:$PATH" "$bin/containerd" --config "$nd/containerd/config.toml" --log-level warn
wait_for containerd "containerd's socket" test -S "$nd/containerd/containerd.sock"

# ------------------------------------------------------------------ 5. CoreDNS
log "CoreDNS on $NODE_IP:53"
kubectl_ apply -f - > /dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - { apiGroups: [""], resources: [services, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns" }]
EOF
cat > "$nd/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 {
  bind $NODE_IP
  errors
  ready 127.0.0.1:$coredns_ready_port
  kubernetes cluster.local in-addr.arpa {
    kubeconfig $wd/pki/coredns.kubeconfig gapguard-e2e
    pods disabled
    fallthrough in-addr.arpa
  }
  cache 5
}
.:53 {
  bind $NODE_IP
  errors
}
EOF
start coredns "$bin/coredns" -conf "$nd/Corefile"
wait_for coredns "CoreDNS /ready" curl -fsS --max-time 2 "http://127.0.0.1:$coredns_ready_port/ready"

# ------------------------------------------------------------------ 6. kubelet
log "kubelet $NODE_NAME on $NODE_IP:$kubelet_port"
cat > "$nd/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This VM has cgroup v1 only: accepted with a deprecation note, with the cgroupfs driver.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
address: $NODE_IP
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
tlsCertFile: $wd/pki/kubelet.crt
tlsPrivateKeyFile: $wd/pki/kubelet.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $wd/pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$nd/containerd/containerd.sock
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: ""
podLogsDir: $nd/pod-logs
serializeImagePulls: false
# A mounted ConfigMap or Secret changes in a Pod at the Pod's next sync: every syncFrequency (1m by
# default). 5 s lets a policy or certificate change reach gapguard's replicas within seconds.
syncFrequency: 5s
registerWithTaints:
  - { key: gapguard.io/e2e-node, value: "true", effect: NoSchedule }
# Plenty of disk and memory, and no image garbage collection during a run.
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start kubelet "$bin/kubelet" --config "$nd/kubelet.yaml" --kubeconfig "$wd/pki/kubelet.kubeconfig" \
  --root-dir "$nd/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
node_ready() {
  [ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for kubelet "node $NODE_NAME to be Ready" node_ready

# ------------------------------------------------------------------ 7. kube-proxy, kube-scheduler
log "kube-proxy and kube-scheduler"
cat > "$nd/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $wd/pki/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$proxy_healthz_port
metricsBindAddress: 127.0.0.1:$proxy_metrics_port
# Leave the host's conntrack settings and route_localnet alone.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
iptables: { localhostNodePorts: false }
EOF
start kube-proxy "$bin/kube-proxy" --config "$nd/kube-proxy.yaml"
wait_for kube-proxy "kube-proxy /healthz" curl -fsS --max-time 2 "http://127.0.0.1:$proxy_healthz_port/healthz"
start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$wd/pki/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig "$wd/pki/kube-scheduler.kubeconfig" --authorization-kubeconfig "$wd/pki/kube-scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$scheduler_port" --leader-elect=false --profiling=false
wait_for kube-scheduler "kube-scheduler /healthz" curl -fsSk --max-time 2 "https://127.0.0.1:$scheduler_port/healthz"

{
  echo "# Written by e2e/scripts/node-up.sh; source it from a shell."
  for kv in "NODE_NAME=$NODE_NAME" "NODE_IP=$NODE_IP" "NODE_TAINT=gapguard.io/e2e-node" "REGISTRY=$registry" \
    "PAUSE_IMAGE=$registry/pause@$pause_digest" "CONTAINERD_SOCKET=$nd/containerd/containerd.sock"; do
    printf "export GAPGUARD_E2E_%s='%s'\n" "${kv%%=*}" "${kv#*=}"
  done
} > "$wd/node.env"
log "ready: node $NODE_NAME, registry $registry, pause $pause_digest"
