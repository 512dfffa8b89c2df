#!/usr/bin/env bash
# Stops the node that e2e/scripts/node-up.sh started for <workdir> and puts the host back as it was:
#   1. the kubelet, kube-proxy, kube-scheduler, CoreDNS and the registry (only processes whose
#      command line points into <workdir>);
#   2. every container process (all processes in the kubepods cgroups), then containerd and its
#      shims;
#   3. every mount under <workdir> (overlay rootfs, Secret tmpfs, network namespaces), deepest first;
#   4. the cgroups under kubepods/ and k8s.io/ in every hierarchy;
#   5. iptables and ip6tables: the chains KUBE-*, CNI-*, GGE2E-* and every rule that jumps to them;
#   6. the node's bridge (its veths went with the network namespaces);
#   7. the sysctls and host paths recorded by node-up.sh before the node started.
# Safe to run twice, on a half-started node, or with nothing running. Exits 1 if something could
# not be undone (and says what). cluster-down.sh runs it first.
#
# Usage: e2e/scripts/node-down.sh <workdir>
#        e2e/scripts/node-down.sh --stale    (the node recorded in $NODE_STATE_DIR, if any: a run
#                                              killed before its teardown; node-up.sh and the suite
#                                              run this first, so a new run starts clean; exits 3,
#                                              touching nothing, while the run that owns it lives)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-lib.sh
. "$here/node-lib.sh"

log() { echo "node-down: $*" >&2; }
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <workdir>" >&2
  exit 2
fi
if [ "$1" = --stale ]; then
  # A node whose run was killed before its teardown: its whole cluster, then its host changes.
  [ -f "$NODE_STATE_DIR/workdir" ] || exit 0
  stale="$(cat "$NODE_STATE_DIR/workdir")"
  if [ -f "$NODE_STATE_DIR/owner" ]; then
    read -r owner started < "$NODE_STATE_DIR/owner"
    if [ -n "${owner:-}" ] && [ -n "${started:-}" ] && [ "$(proc_start "$owner")" = "$started" ]; then
      log "the node of $stale belongs to a run still going (pid $owner: $(tr '\0' ' ' < "/proc/$owner/cmdline" | cut -c1-120)); leaving it alone: wait for that run or stop it"
      exit 3
    fi
  fi
  log "a node of an earlier run ($stale) was not torn down; cleaning it up"
  if [ -d "$stale" ]; then "$here/cluster-down.sh" "$stale" >&2; fi
  # cluster-down ran node-down when the workdir still had the node; this covers a deleted one.
  [ -f "$NODE_STATE_DIR/workdir" ] || exit 0
  exec "$0" "$stale"
fi
wd="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
nd="$wd/node"
stop_timeout="${GAPGUARD_E2E_STOP_TIMEOUT:-15}"
problems=()

cmdline() { tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline"; }
# Live pids whose command line points into a directory.
pids_into() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [ "$pid" = "$$" ] && continue
    cmdline "$pid" | grep -qF -- "$1/" && echo "$pid"
  done
  return 0
}
alive_pids() { local p; for p in "$@"; do [ -d "/proc/$p" ] && [ "$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null)" != Z ] && echo "$p"; done; return 0; }
stop_pids() { # what pids...
  local what="$1"; shift
  [ $# -gt 0 ] || return 0
  log "stopping $what (pids $*)"
  kill -TERM "$@" 2>/dev/null
  local deadline=$((SECONDS + stop_timeout))
  while [ -n "$(alive_pids "$@")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  local left
  left="$(alive_pids "$@")"
  if [ -n "$left" ]; then
    log "$what ignored SIGTERM for ${stop_timeout}s; SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    sleep 0.5
  fi
}
# Processes started from a binary whose command line points anywhere into the workdir (the
# scheduler, say, only names files in <workdir>/pki).
pids_named() { # binary-name
  local pid
  for pid in $(pids_into "$wd"); do
    [ "$(basename -- "$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1)")" = "$1" ] && echo "$pid"
  done
  return 0
}

# ------------------------------------------------------------------ 1. node services
# The kubelet first, so it does not start containers again while they are being stopped.
for name in kubelet kube-proxy kube-scheduler coredns docker-registry; do
  # shellcheck disable=SC2046
  stop_pids "$name" $(pids_named "$name")
done

# ------------------------------------------------------------------ 2. containers, containerd
cgroup_pids() {
  local root
  for root in $(node_cgroup_roots); do
    find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pids="$(cgroup_pids)"
  [ -z "$pids" ] && break
  # Containers hold nothing worth a graceful stop here; frozen or not, SIGKILL ends them.
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.5
done
[ -z "$(cgroup_pids)" ] || problems+=("container processes still running: $(cgroup_pids | tr '\n' ' ')")
# shellcheck disable=SC2046
stop_pids containerd $(pids_named containerd)
# shellcheck disable=SC2046
stop_pids "containerd shims" $(pids_named containerd-shim-runc-v2)
# Anything else that still points into the node directory.
# shellcheck disable=SC2046
stop_pids "other node processes" $(pids_into "$nd")
left="$(alive_pids $(pids_into "$nd"))"
[ -z "$left" ] || problems+=("processes still running: $left")

# ------------------------------------------------------------------ 3. mounts
# Deepest first; lazily if busy, so a mount held by a dying process cannot block the rest.
if [ -d "$wd" ]; then
  for _ in 1 2 3; do
    mounts="$(awk -v p="$wd/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
    [ -z "$mounts" ] && break
    while read -r m; do
      # mountinfo escapes spaces as \040; our paths have none.
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done <<< "$mounts"
  done
  left="$(awk -v p="$wd/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)"
  [ -z "$left" ] || problems+=("mounts left under $wd: $left")
fi

# ------------------------------------------------------------------ 4. cgroups
for root in $(node_cgroup_roots); do
  # Deepest first: a cgroup directory can only be removed once it has no children.
  find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
  [ -d "$root" ] && problems+=("cgroup left: $root")
done

# ------------------------------------------------------------------ 5. iptables
# Each table is written back without the node's chains and without any rule that is in one or
# jumps to one, in a single iptables-restore per table, so nothing else is touched.
for family in iptables ip6tables; do
  command -v "$family-save" >/dev/null || continue
  for table in filter nat mangle raw; do
    dump="$("$family-save" -t "$table" 2>/dev/null)" || continue
    grep -qE "(^:| -[AjgI] )(KUBE|CNI|GGE2E)-" <<< "$dump" || continue
    log "removing the node's chains from $family $table"
    python3 -c '
import re, sys
node = re.compile(sys.argv[1])
for line in sys.stdin:
    words = line.split()
    if line.startswith(":") and node.match(words[0][1:]):
        continue
    if line.startswith("-A "):
        chain = words[1]
        target = words[words.index("-j") + 1] if "-j" in words else (words[words.index("-g") + 1] if "-g" in words else "")
        if node.match(chain) or node.match(target):
            continue
    sys.stdout.write(line)
' "$NODE_CHAIN_RE" <<< "$dump" | "$family-restore" -T "$table" 2>&1 | sed 's/^/node-down: /' >&2
    "$family-save" -t "$table" 2>/dev/null | grep -qE "(^:| -[AjgI] )(KUBE|CNI|GGE2E)-" \
      && problems+=("$family $table still has node chains")
  done
done

# ------------------------------------------------------------------ 6. the bridge
if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  # Veths whose Pod side is gone are gone too; any still attached go with the bridge.
  for veth in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    ip link del "$veth" 2>/dev/null
  done
  ip link del "$NODE_BRIDGE" || problems+=("cannot delete the bridge $NODE_BRIDGE")
fi

# ------------------------------------------------------------------ 7. sysctls and host paths
# Only when this workdir owns the recorded state (another run's state is that run's to restore).
if [ -f "$NODE_STATE_DIR/workdir" ] && [ "$(cat "$NODE_STATE_DIR/workdir")" = "$wd" ]; then
  if [ -f "$NODE_STATE_DIR/sysctl.saved" ]; then
    while IFS= read -r line; do
      key="${line%% = *}"; want="${line#* = }"
      have="$(sysctl -n "$key" 2>/dev/null)" || continue
      # Multi-value sysctls print tab-separated; compare word by word.
      if [ "$(echo $have)" != "$(echo $want)" ]; then
        sysctl -q -w "$key=$want" >/dev/null 2>&1 || problems+=("cannot restore sysctl $key=$want")
      fi
    done < "$NODE_STATE_DIR/sysctl.saved"
  fi
  if [ -f "$NODE_STATE_DIR/absent-paths" ]; then
    while IFS= read -r p; do
      [ -n "$p" ] || continue
      if [ -e "$p" ] || [ -L "$p" ]; then
        if awk -v p="$p/" 'index($5, p) == 1 || $5"/" == p { found = 1 } END { exit !found }' /proc/self/mountinfo; then
          problems+=("$p still has mounts; not removed")
        else
          rm -rf -- "$p"
        fi
      fi
    done < "$NODE_STATE_DIR/absent-paths"
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    rm -rf -- "$NODE_STATE_DIR"
  fi
fi

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do log "ERROR: $p"; done
  exit 1
fi
log "the node of $wd is gone and the host is as it was"
