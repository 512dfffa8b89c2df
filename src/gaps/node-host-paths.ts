/**
 * The host paths that hand a container the node itself (privileged/host-path): its credentials and
 * configuration, its kernel interfaces, its container runtimes' state and its logs. A hostPath is
 * judged after the same normalisation as the docker-socket rule (workloads/host-path.ts); it counts
 * when it is one of these paths, lies below one, or is a directory above one (`/var`, `/`).
 * Runtime sockets are not listed: the docker-socket gap owns them.
 */
import { hostPathSpellings, normaliseHostPath } from '../workloads/host-path.js';

export type NodePathKind = 'credentials' | 'kernel' | 'runtime-state' | 'logs';

/** What a workload that mounts one of these most likely wants instead, per kind. */
const INSTEAD: Record<NodePathKind | 'above', string> = {
  credentials:
    'To call the Kubernetes API use the pod\'s ServiceAccount token (a projected volume) with RBAC; for configuration, ' +
    'certificates or keys mount a ConfigMap, Secret or projected volume; for facts about the node use the Downward API.',
  kernel:
    'For a device (GPU, FUSE, KVM, a TPM) use its device plugin or a CSI driver; for node and container metrics use the ' +
    "kubelet's APIs (/metrics/resource, /stats/summary, the Metrics API); for a namespaced sysctl use spec.securityContext.sysctls.",
  'runtime-state':
    "For storage use a PersistentVolume through a CSI driver, or an emptyDir; for container logs and metrics use the kubelet's " +
    'APIs (kubectl logs, /metrics/cadvisor) instead of the runtime\'s files.',
  logs:
    'Write logs to stdout/stderr (kubectl logs) or to a volume of the pod; a log shipper only needs to read: mount the ' +
    'directory with readOnly: true.',
  above: 'Mount only the directory the workload needs, or better a PersistentVolume through a CSI driver.',
};

const AGENT =
  'If a node agent (monitoring, CNI, CSI, log shipping) truly needs it, run it as a DaemonSet and exempt it in the ' +
  'central policy with a reason.';

/** Every listed path with its kind and what it holds, as messages name it. */
const NODE_PATHS: readonly { path: string; kind: NodePathKind; holds: string }[] = [
  { path: '/etc/kubernetes', kind: 'credentials', holds: "the kubelet's kubeconfig, the cluster PKI and static pod manifests" },
  { path: '/var/lib/kubelet/pki', kind: 'credentials', holds: "the kubelet's client and serving certificates and keys" },
  { path: '/var/lib/kubelet', kind: 'credentials', holds: "the kubelet's credentials and every pod's volumes and Secrets" },
  { path: '/var/lib/etcd', kind: 'credentials', holds: "etcd's data: every Secret of the cluster" },
  { path: '/var/lib/rancher', kind: 'credentials', holds: 'the k3s/RKE2 server token, credentials and runtime state' },
  { path: '/etc', kind: 'credentials', holds: "the node's configuration, password hashes and SSH host keys" },
  { path: '/root', kind: 'credentials', holds: "root's home: SSH keys, kubeconfigs, cloud credentials" },
  { path: '/home', kind: 'credentials', holds: "the users' homes: SSH keys, kubeconfigs, cloud credentials" },
  { path: '/proc', kind: 'kernel', holds: "every host process's memory, environment and files, and the kernel's tunables" },
  { path: '/sys', kind: 'kernel', holds: "the kernel's device, cgroup and module interfaces" },
  { path: '/dev', kind: 'kernel', holds: "the host's devices: disks, memory, terminals" },
  { path: '/boot', kind: 'kernel', holds: "the node's kernel and boot loader" },
  { path: '/lib/modules', kind: 'kernel', holds: 'the kernel modules the node loads' },
  { path: '/usr/lib/modules', kind: 'kernel', holds: 'the kernel modules the node loads' },
  { path: '/var/lib/kubelet/pods', kind: 'runtime-state', holds: "every pod's volumes, Secrets and service account tokens" },
  { path: '/var/lib/docker', kind: 'runtime-state', holds: "Docker's images, container filesystems and configuration" },
  { path: '/var/lib/containerd', kind: 'runtime-state', holds: "containerd's images and container filesystems" },
  { path: '/var/lib/containers', kind: 'runtime-state', holds: "CRI-O's and Podman's images and container filesystems" },
  { path: '/var/log', kind: 'logs', holds: "the node's logs, which the kubelet serves back through its logs API" },
];

export interface NodePathExposure {
  kind: NodePathKind | 'above';
  /** How the message says what the path is (`/etc/kubernetes, which holds ...`). */
  what: string;
}

interface NodePathIndex {
  /** Each listed path (normalised, every spelling) to its entry. */
  listed: Map<string, (typeof NODE_PATHS)[number]>;
  /** Each directory above a listed path to the listed paths below it. */
  above: Map<string, string[]>;
}

function buildIndex(): NodePathIndex {
  const index: NodePathIndex = { listed: new Map(), above: new Map() };
  for (const entry of NODE_PATHS) {
    for (const path of hostPathSpellings(normaliseHostPath(entry.path))) {
      index.listed.set(path, entry);
      const segments = path.split('/');
      for (let n = segments.length - 1; n >= 1; n--) {
        const dir = segments.slice(0, n).join('/') || '/';
        const below = index.above.get(dir) ?? [];
        if (!below.includes(entry.path)) below.push(entry.path);
        index.above.set(dir, below);
      }
    }
  }
  // Name only the topmost listed paths below a directory, shallowest first: `/etc`, not also `/etc/kubernetes`.
  for (const [dir, below] of index.above) {
    const topmost = below.filter((p) => !below.some((q) => p.startsWith(`${q}/`)));
    index.above.set(dir, topmost.sort((a, b) => a.split('/').length - b.split('/').length));
  }
  return index;
}

const INDEX = buildIndex();

/**
 * What a hostPath exposes of the node, or undefined when it is none of the listed paths, nothing
 * below one and nothing above one. The deepest listed path decides (`/var/lib/kubelet/pki` over
 * `/var/lib/kubelet`); whole segments are compared, never a prefix (`/etcd` is not under `/etc`).
 */
export function nodePathExposure(raw: string): NodePathExposure | undefined {
  const path = normaliseHostPath(raw);
  const segments = path.split('/');
  for (let n = segments.length; n >= 2; n--) {
    const entry = INDEX.listed.get(segments.slice(0, n).join('/'));
    if (entry) {
      const where = n === segments.length ? entry.path : `a path under ${entry.path}`;
      return { kind: entry.kind, what: `${where}, which holds ${entry.holds}` };
    }
  }
  const below = INDEX.above.get(path);
  if (!below) return undefined;
  const named = below.slice(0, 4).join(', ') + (below.length > 4 ? ', ...' : '');
  return { kind: 'above', what: `${path === '/' ? "the node's root directory" : 'a host directory'} containing ${named}` };
}

/** The remediation for a kind: what the workload most likely wants, then the node-agent way out. */
export function nodePathRemediation(kind: NodePathExposure['kind']): string {
  return `Remove the hostPath volume. ${INSTEAD[kind]} ${AGENT}`;
}
