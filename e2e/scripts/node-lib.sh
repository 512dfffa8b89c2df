# Shared by node-up.sh, node-down.sh and host-state.sh (sourced, not run): the node's fixed names
# and addresses, and what it may change on the host.

# The node's name, and the bridge that carries the Pod network and the node's address. The bridge
# is made by node-up.sh before anything else, so the kubelet, CoreDNS and the apiserver's
# advertised address have a local address that Pods reach through their default route.
NODE_NAME="gapguard-e2e-node"
NODE_BRIDGE="gge2e0"
NODE_IP="10.244.0.1"
POD_CIDR="10.244.0.0/24"

# Host state that outlives a workdir: the sysctl values and host paths found before the node
# started, and the workdir of the node that owns the host. node-down.sh restores from it and then
# removes it; node-up.sh finding it means the last run was killed before its teardown.
NODE_STATE_DIR="${GAPGUARD_E2E_NODE_STATE:-/var/tmp/gapguard-e2e-node}"

# A process's start time (clock ticks since boot, /proc/PID/stat field 22): with its pid, it names
# the process, whose pid alone may have been reused. Empty when the process is gone.
proc_start() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# sysctls the node's components write (the bridge plugin's isGateway: ip_forward; the kubelet's
# kernel tunables; kube-proxy's conntrack and route_localnet), matched against `sysctl -a`.
NODE_SYSCTLS='^(net\.ipv4\.ip_forward|net\.ipv4\.conf\.(all|default)\.(forwarding|route_localnet|rp_filter)|net\.ipv6\.conf\.(all|default)\.forwarding|net\.bridge\.bridge-nf-call-(iptables|ip6tables)|net\.netfilter\.nf_conntrack_(max|tcp_be_liberal|tcp_timeout_established|tcp_timeout_close_wait)|vm\.(overcommit_memory|panic_on_oom)|kernel\.(panic|panic_on_oops|keys\.root_maxkeys|keys\.root_maxbytes)) = '

# Host paths the kubelet, containerd and the CNI plugins create whatever their configuration says
# (the kubelet hard-codes the first three). Each one that did not exist before the node is removed
# after it.
NODE_HOST_PATHS="/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /var/lib/containerd /run/netns /run/runc /etc/kubernetes /opt/cni"

# iptables chains of the node: KUBE-* (kubelet, kube-proxy), CNI-* (CNI plugins), GGE2E-* (ours).
NODE_CHAIN_RE='^(KUBE|CNI|GGE2E)-'

# cgroup directories the kubelet (cgroupfs driver) and containerd create in every v1 hierarchy.
node_cgroup_roots() {
  local d
  for d in /sys/fs/cgroup/*/; do
    [ -d "$d/kubepods" ] && echo "${d%/}/kubepods"
    [ -d "$d/k8s.io" ] && echo "${d%/}/k8s.io"
  done
  return 0
}

# Closes every inherited descriptor above stderr, so that a daemon started from the suite does not
# keep what its caller held: above all the flock on /tmp/gapguard-e2e.lock, which a killed run's
# orphaned components would otherwise hold forever, blocking the next run (and its clean-up).
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
  done
}
