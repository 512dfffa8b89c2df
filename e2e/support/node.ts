// What the scenarios read on the real node: Pods that tolerate its taint, their status as the
// kubelet reports it, and their containers as the host sees them (process, cgroup limits).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, getJson } from './kube.js';
import { env, type NodeEnv } from './suite.js';

export function node(): NodeEnv {
  const n = env().node;
  if (!n) throw new Error('this scenario needs the real node (run as root, without GAPGUARD_E2E_NODE=0)');
  return n;
}

/** Lets a Pod spec run on the node (which only takes Pods that tolerate its taint). */
export function onNode(spec: Record<string, any>): void {
  spec.tolerations = [...(spec.tolerations ?? []), { key: node().taintKey, operator: 'Exists', effect: 'NoSchedule' }];
}

export interface PodStatus {
  phase?: string;
  podIP?: string;
  hostIP?: string;
  containerStatuses?: Array<{ name: string; ready: boolean; containerID?: string; state?: Record<string, { reason?: string; message?: string }> }>;
}

/** Waits until the kubelet reports the Pod Running with every container ready. */
export async function waitRunning(namespace: string, name: string, timeoutMs = 60_000): Promise<PodStatus> {
  return eventually(`Pod ${namespace}/${name} Running`, async () => {
    const p = await getJson<{ status: PodStatus }>(namespace, 'pod', name);
    const s = p.status;
    return s.phase === 'Running' && (s.containerStatuses ?? []).every((c) => c.ready) ? s : undefined;
  }, timeoutMs, 300);
}

/** Waits until the first container is waiting with the given reason, and returns its message. */
export async function waitWaiting(namespace: string, name: string, reason: string, timeoutMs = 60_000): Promise<string> {
  return eventually(`container of ${namespace}/${name} waiting with ${reason}`, async () => {
    const p = await getJson<{ status: PodStatus }>(namespace, 'pod', name);
    const waiting = p.status.containerStatuses?.[0]?.state?.waiting;
    return waiting?.reason === reason ? (waiting.message ?? '') : undefined;
  }, timeoutMs, 300);
}

export interface HostContainer {
  pid: number;
  /** /proc/<pid>/status fields: Uid, Gid, CapEff, Seccomp, NoNewPrivs... */
  status: Record<string, string>;
  /** memory.limit_in_bytes of the container's cgroup (cgroup v1). */
  memoryLimitBytes: number;
  /** cpu.cfs_quota_us / cpu.cfs_period_us of the container's cgroup, in millicores. */
  cpuLimitMillis: number;
}

/** Finds a cgroup directory named after a container id (or pod<uid>, a Pod's) under kubepods in one hierarchy. */
export function containerCgroup(hierarchy: string, id: string): string {
  const root = join('/sys/fs/cgroup', hierarchy, 'kubepods');
  const walk = (dir: string, depth: number): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === id) return join(dir, e.name);
      if (depth < 3) {
        const found = walk(join(dir, e.name), depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = walk(root, 0);
  if (!found) throw new Error(`no cgroup ${id} under ${root}`);
  return found;
}

/** The first container of a running Pod as the host sees it: its main process and its cgroup. */
export async function hostContainer(namespace: string, name: string, container = 0): Promise<HostContainer> {
  const p = await getJson<{ status: PodStatus }>(namespace, 'pod', name);
  const id = p.status.containerStatuses?.[container]?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`Pod ${namespace}/${name} has no container id yet`);
  const memory = containerCgroup('memory', id);
  const cpu = containerCgroup('cpu', id);
  const pid = Number(readFileSync(join(memory, 'cgroup.procs'), 'utf8').split('\n')[0]);
  const status: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
    if (m) status[m[1]!] = m[2]!;
  }
  const quota = Number(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8'));
  const period = Number(readFileSync(join(cpu, 'cpu.cfs_period_us'), 'utf8'));
  return {
    pid,
    status,
    memoryLimitBytes: Number(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8')),
    cpuLimitMillis: quota < 0 ? -1 : Math.round((quota / period) * 1000),
  };
}
