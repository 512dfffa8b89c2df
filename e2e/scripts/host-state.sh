#!/usr/bin/env bash
# Prints what a node can change on this host, normalised so that two snapshots compare with diff:
# iptables and ip6tables rules (no counters), mount points, network links, network namespaces,
# the node's sysctls, the kubelet's and containerd's cgroups, the host paths a node creates, and
# node processes. The suite takes one before the cluster starts and one after it is gone, and
# fails the run if they differ (e2e/support/suite.ts).
#
# Usage: e2e/scripts/host-state.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-lib.sh
. "$here/node-lib.sh"

section() { echo "## $1"; }

for family in iptables ip6tables; do
  section "$family"
  if command -v "$family-save" >/dev/null; then
    # Comments carry dates, and [packets:bytes] counters change by themselves. A table with no rule
    # and only ACCEPT policies is left out: iptables-nft creates one on first use, and it filters
    # nothing, exactly like no table.
    "$family-save" 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]$/[-]/' | python3 -c '
import sys
table = []
def flush():
    if table and any(not (l.startswith(("*", "COMMIT")) or (l.startswith(":") and " ACCEPT " in l)) for l in table):
        sys.stdout.writelines(table)
for line in sys.stdin:
    if line.startswith("*"):
        table = []
    table.append(line)
    if line.startswith("COMMIT"):
        flush()
        table = []
' || true
  else
    echo "(no $family-save)"
  fi
done

section mounts
awk '{ print $5, $(NF-2) }' /proc/self/mountinfo | sort

section links
ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort

section netns
ls -1 /run/netns 2>/dev/null || true

section sysctls
sysctl -a 2>/dev/null | grep -E "$NODE_SYSCTLS" | sort || true

section cgroups
node_cgroup_roots

section paths
for p in $NODE_HOST_PATHS; do
  [ -e "$p" ] && echo "$p"
done
true

section processes
for name in kubelet kube-proxy kube-scheduler containerd containerd-shim coredns; do  # comm names (15 characters)
  pgrep -x "$name" >/dev/null && echo "$name running"
done
true
