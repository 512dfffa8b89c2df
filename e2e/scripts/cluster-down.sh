#!/usr/bin/env bash
# Stops the control plane that e2e/scripts/cluster-up.sh started in <workdir>, and leaves no process
# of it behind.
#
# Usage: e2e/scripts/cluster-down.sh <workdir>
#
# First the node, when there is one (node-down.sh: the kubelet, containers, containerd, and every
# change it made to the host). Then stops kube-controller-manager, kube-apiserver, then etcd: SIGTERM to each one's process group
# (cluster-up starts each in its own session), SIGKILL after GAPGUARD_E2E_STOP_TIMEOUT seconds
# (default 15). A pid is only signalled while its command line still points into <workdir>, so a
# stale pid file never hits an unrelated process. As a backstop, any other process whose command line
# points into <workdir>/pki or <workdir>/etcd-data (say, from a lost pid file) is stopped too.
# Logs, certificates and the etcd data stay in <workdir> for inspection; the pid files are removed.
# Safe to run twice, or on a workdir where nothing runs. Exits non-zero if a process survives.
set -euo pipefail

log() { echo "cluster-down: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <workdir>" >&2
  exit 2
fi
if [ ! -d "$1" ]; then
  log "$1 does not exist; nothing to stop"
  exit 0
fi
wd="$(cd "$1" && pwd)"
stop_timeout="${GAPGUARD_E2E_STOP_TIMEOUT:-15}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

node_failed=0
if [ -d "$wd/node" ]; then
  "$here/node-down.sh" "$wd" || node_failed=1
fi

# True when pid is alive and its command line refers to this workdir.
ours() {
  local pid="$1"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF -- "$wd/"
}

# Pids of live processes whose command line points at this workdir's cluster state.
strays() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [ "$pid" = "$$" ] && continue
    # NULs become spaces, so "$wd/etcd-data " matches the whole argument, not a longer name.
    if tr '\0' ' ' 2>/dev/null < "$d/cmdline" | grep -qF -e "$wd/pki/" -e "$wd/etcd-data "; then
      echo "$pid"
    fi
  done
}

stop_pid() { # name pid
  local name="$1" pid="$2" deadline
  ours "$pid" || return 0
  log "stopping $name (pid $pid)"
  # The process group first (pgid == pid, set by setsid in cluster-up), then the pid itself in case
  # it is not a group leader.
  kill -TERM -- "-$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while ours "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if ours "$pid"; then
    log "$name (pid $pid) ignored SIGTERM for ${stop_timeout}s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while ours "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  fi
  # Reap anything left in its process group (there should be nothing: none of them fork).
  kill -KILL -- "-$pid" 2>/dev/null || true
  # The exited process stays a zombie until its parent (init, since cluster-up has exited) reaps
  # it; wait briefly for that so `pgrep` right after cluster-down shows nothing.
  deadline=$((SECONDS + 5))
  while [ -e "/proc/$pid" ] && [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = Z ] \
    && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
}

for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$wd/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]]; then
    stop_pid "$name" "$pid"
  fi
  rm -f "$pidfile"
done

# Clients before servers: an apiserver whose etcd is gone takes long to stop.
argv0() { tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline" | head -n 1; }
for name in kube-controller-manager kube-apiserver etcd ''; do
  for pid in $(strays); do
    if [ -z "$name" ] || [ "$(basename -- "$(argv0 "$pid")")" = "$name" ]; then
      stop_pid "stray ${name:-process} $(argv0 "$pid")" "$pid"
    fi
  done
done

left="$(strays | tr '\n' ' ')"
if [ -n "${left// /}" ]; then
  log "ERROR: processes still running for $wd: $left"
  exit 1
fi
if [ "$node_failed" = 1 ]; then
  log "ERROR: the node was not cleaned up completely (see node-down above)"
  exit 1
fi
log "stopped; nothing of $wd is running (logs and data left in place)"
