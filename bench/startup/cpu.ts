// CPU time of everything that works when a Pod starts, read from /proc and cgroup v1 accounting:
// the control plane and node daemons by the pids their start scripts wrote, containerd's shims
// (one per Pod, found by the node's containerd socket on their command line), and Pods by their
// cpuacct cgroups (the webhook servers' replicas; the bench's own Pods as the rest of kubepods).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerCgroup } from '../../e2e/support/node.js';

/** Linux reports process times in clock ticks of 10 ms (USER_HZ 100). */
const TICK_MS = 10;
const KUBEPODS = '/sys/fs/cgroup/cpuacct/kubepods';

/**
 * utime + stime + cutime + cstime in ms: with the children a process reaped (runc under a shim,
 * CNI plugins and shim launches under containerd, mount and iptables under the kubelet).
 */
function processCpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
  } catch {
    return undefined;
  }
}

function cgroupCpuMs(dir: string): number {
  return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6;
}

/** Every daemon the cluster scripts started: <name>.pid files in the cluster's and the node's directories. */
export function daemonPids(clusterDir: string): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const dir of [clusterDir, join(clusterDir, 'node')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.pid')).sort()) pids[f.slice(0, -4)] = Number(readFileSync(join(dir, f), 'utf8'));
  }
  return pids;
}

export interface CpuSources {
  daemons: Record<string, number>;
  /** A string on the command line of this cluster's shims only (its containerd socket's directory). */
  shimMarker: string;
  /** Pods accounted by name (a webhook server's replicas), by uid. */
  podGroups: Record<string, string[]>;
}

export interface CpuSample {
  totals: Record<string, number>;
  shims: Map<number, number>;
}

function shimPids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('containerd-shim-runc-v2') && cmdline.includes(marker)) pids.push(Number(entry));
    } catch {
      // gone in between
    }
  }
  return pids;
}

export function sampleCpu(sources: CpuSources): CpuSample {
  const totals: Record<string, number> = {};
  for (const [name, pid] of Object.entries(sources.daemons)) {
    const ms = processCpuMs(pid);
    if (ms === undefined) throw new Error(`${name} (pid ${pid}) is gone`);
    totals[name] = ms;
  }
  let accounted = 0;
  for (const [name, uids] of Object.entries(sources.podGroups)) {
    totals[name] = uids.reduce((sum, uid) => sum + cgroupCpuMs(containerCgroup('cpuacct', `pod${uid}`)), 0);
    accounted += totals[name];
  }
  totals['bench Pods'] = cgroupCpuMs(KUBEPODS) - accounted;
  totals['bench (client)'] = processCpuMs(process.pid)!;
  const shims = new Map<number, number>();
  for (const pid of shimPids(sources.shimMarker)) shims.set(pid, processCpuMs(pid) ?? 0);
  return { totals, shims };
}

/** CPU ms used between two samples, by component; shims started in between count from zero. */
export function cpuBetween(before: CpuSample, after: CpuSample): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after.totals)) used[name] = ms - (before.totals[name] ?? 0);
  let shims = 0;
  for (const [pid, ms] of after.shims) shims += ms - (before.shims.get(pid) ?? 0);
  used['containerd shims'] = shims;
  return used;
}

/** containerd shims of this cluster running now (each Pod has one until its sandbox is gone). */
export function shimCount(marker: string): number {
  return shimPids(marker).length;
}
