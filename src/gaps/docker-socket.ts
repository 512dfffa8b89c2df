/**
 * docker-socket: the pod can reach a container runtime's API, and through it start privileged
 * containers, mount the host's filesystem and take over the node.
 *
 * Fields read:
 *   spec.volumes[*].name, spec.volumes[*].hostPath.path
 *   spec.{initContainers,containers,ephemeralContainers}[*].volumeMounts[*].name
 *   spec.{initContainers,containers,ephemeralContainers}[*].env[*].name, .value
 *
 * Rules:
 *   docker-socket/host-path        critical  a hostPath that is a runtime socket or a directory above one,
 *                                            or reaches them through the host's /proc
 *   docker-socket/docker-host-tcp  medium    DOCKER_HOST points at a daemon over tcp://
 *
 * No fix: removing a volume or a variable breaks the pod; the messages name the purpose-built
 * alternatives instead.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { hostPathSpellings, mountedBy, normaliseHostPath, volumeMounters, type VolumeMounters } from '../workloads/host-path.js';
import type { ContainerRef, PodTarget, Volume } from '../workloads/types.js';

const HOST_PATH = 'docker-socket/host-path';
const DOCKER_HOST_TCP = 'docker-socket/docker-host-tcp';

/**
 * Sockets of the container runtimes and builders a node may run, with the name messages use. A `*`
 * segment stands for any one segment: the user id of a rootless runtime.
 */
const BUILT_IN_SOCKETS: readonly { runtime: string; path: string }[] = [
  { runtime: 'Docker', path: '/var/run/docker.sock' },
  { runtime: 'rootless Docker', path: '/run/user/*/docker.sock' },
  { runtime: "Docker's containerd", path: '/run/docker/containerd/containerd.sock' },
  { runtime: "Docker's containerd", path: '/run/docker/containerd/docker-containerd.sock' },
  { runtime: 'dockershim', path: '/var/run/dockershim.sock' },
  { runtime: 'containerd', path: '/run/containerd/containerd.sock' },
  { runtime: 'containerd', path: '/run/containerd/containerd.sock.ttrpc' },
  { runtime: 'k3s/RKE2 containerd', path: '/run/k3s/containerd/containerd.sock' },
  { runtime: 'k0s containerd', path: '/run/k0s/containerd.sock' },
  { runtime: 'MicroK8s containerd', path: '/var/snap/microk8s/common/run/containerd.sock' },
  { runtime: 'Talos system containerd', path: '/system/run/containerd/containerd.sock' },
  { runtime: 'CRI-O', path: '/var/run/crio/crio.sock' },
  { runtime: 'cri-dockerd', path: '/var/run/cri-dockerd.sock' },
  { runtime: 'Podman', path: '/run/podman/podman.sock' },
  { runtime: 'rootless Podman', path: '/run/user/*/podman/podman.sock' },
  { runtime: 'BuildKit', path: '/run/buildkit/buildkitd.sock' },
  { runtime: 'rootless BuildKit', path: '/run/user/*/buildkit/buildkitd.sock' },
];

const ALTERNATIVES =
  'Use a purpose-built alternative instead: rootless BuildKit, kaniko or Buildah to build images; ' +
  "the kubelet's metrics endpoints (/metrics/cadvisor, the Metrics API) or the Kubernetes API to monitor containers; " +
  'kubectl logs or the node log files under /var/log/pods for logs. ' +
  'If a node agent truly needs the runtime, exempt it in the central policy with a reason.';

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

interface ExposedSocket {
  runtime: string;
  /** The socket, spelled as the hostPath that exposes it is (under /run or /var/run). */
  socket: string;
}

/**
 * Every normalised hostPath that exposes a socket: each socket under each spelling, and every
 * directory above it. A whole path is compared, never a prefix of a segment (`/run/docker.sock.d`
 * is not `/run/docker.sock`). Paths without a `*` are one map lookup; the few with one are matched
 * segment by segment.
 */
interface SocketIndex {
  exact: Map<string, ExposedSocket>;
  patterns: { segments: string[]; exposed: ExposedSocket }[];
}

function buildSocketIndex(policy: Policy): SocketIndex {
  const sockets = [
    ...BUILT_IN_SOCKETS,
    ...policy.dockerSocket.socketPaths.map((path) => ({ runtime: 'configured runtime', path })),
  ].flatMap(({ runtime, path }) => hostPathSpellings(normaliseHostPath(path)).map((socket) => ({ runtime, socket })));
  const all = new Map<string, ExposedSocket>();
  // Sockets first, so that a path that is both a socket and a directory above another one is
  // reported as the socket.
  for (const s of sockets) if (!all.has(s.socket)) all.set(s.socket, s);
  for (const s of sockets) {
    for (let dir = s.socket; dir !== '/'; ) {
      dir = parentOf(dir);
      if (!all.has(dir)) all.set(dir, s);
    }
  }
  const index: SocketIndex = { exact: new Map(), patterns: [] };
  for (const [path, exposed] of all) {
    const segments = path.split('/');
    if (segments.includes('*')) index.patterns.push({ segments, exposed });
    else index.exact.set(path, exposed);
  }
  return index;
}

function lookUp(index: SocketIndex, path: string): ExposedSocket | undefined {
  const exact = index.exact.get(path);
  if (exact) return exact;
  const segments = path.split('/');
  return index.patterns.find((p) => p.segments.length === segments.length && p.segments.every((s, i) => s === '*' || s === segments[i]))?.exposed;
}

const socketIndexes = new WeakMap<Policy, SocketIndex>();

function socketIndex(policy: Policy): SocketIndex {
  let index = socketIndexes.get(policy);
  if (!index) {
    index = buildSocketIndex(policy);
    socketIndexes.set(policy, index);
  }
  return index;
}

const EVERY_SOCKET = 'which reaches every runtime socket on the node';
const PROCESS = /^(?:\d+|self|thread-self)$/;

/**
 * A path through the host's /proc: a process's `root` is the node's filesystem as that process
 * sees it (what lies under it is judged like a host path), and its `cwd` and `fd/<n>` can point at
 * any directory. So /proc itself, a process's directory and those links all reach every socket;
 * other /proc files (`/proc/sys`, `/proc/1/status`) are not this gap.
 */
function throughProc(rest: string[], index: SocketIndex): string | undefined {
  if (rest.length === 0) return `the host's /proc, holding every process's root directory, ${EVERY_SOCKET}`;
  if (!PROCESS.test(rest[0]!)) return undefined;
  let at = 1;
  if (rest[1] === 'task') {
    if (rest.length > 2 && !/^\d+$/.test(rest[2]!)) return undefined;
    at = Math.min(rest.length, 3);
  }
  if (rest.length === at) return `a host process's /proc directory, holding its root directory, ${EVERY_SOCKET}`;
  const link = rest[at];
  const below = rest.slice(at + 1);
  if (link === 'root') {
    if (below.length === 0) return `a host process's root directory (the node's filesystem), ${EVERY_SOCKET}`;
    const inner = exposure('/' + below.join('/'), index);
    return inner === undefined ? undefined : `through a host process's root directory, ${inner}`;
  }
  if (link === 'cwd' || link === 'fd') {
    return `a host process's ${link === 'cwd' ? 'working directory' : 'open file descriptors'}, which can be any directory of the node, ${EVERY_SOCKET}`;
  }
  return undefined;
}

/** What a normalised hostPath exposes, as the message says it, or undefined when it reaches no socket. */
function exposure(path: string, index: SocketIndex): string | undefined {
  if (path === '/proc' || path.startsWith('/proc/')) return throughProc(path.split('/').slice(2), index);
  const exposed = lookUp(index, path);
  if (!exposed) return undefined;
  const segments = path.split('/');
  const socket = exposed.socket.split('/');
  // A directory above the socket has fewer segments; a `*` of the socket is spelled as the path has it.
  if (socket.length === segments.length) return `the host's ${exposed.runtime} socket`;
  const spelled = socket.map((s, i) => (s === '*' && i < segments.length ? segments[i] : s)).join('/');
  return `a host directory above the ${exposed.runtime} socket ${spelled}`;
}

/** Containers a finding names: every socket volume of a pod mounted by all its containers must not repeat them all. */
const MOUNTERS_NAMED = 3;

function hostPathFinding(pod: PodTarget, mounters: VolumeMounters, volumeIndex: number, volume: Volume, raw: string, what: string): CheckFinding {
  const mounting = mounters.containers;
  const who = mountedBy(mounters, { sayReadOnly: false, named: MOUNTERS_NAMED });
  return {
    gap: 'docker-socket',
    rule: HOST_PATH,
    severity: 'critical',
    path: [...pod.specPath, 'volumes', volumeIndex, 'hostPath', 'path'],
    message:
      `Volume "${volume.name ?? volumeIndex}" (hostPath ${JSON.stringify(raw)}) is ${what}, ${who}: ` +
      'any process there can drive the container runtime, start privileged containers, mount the host filesystem and take over the node.',
    remediation: `Remove the hostPath volume. ${ALTERNATIVES}`,
    // An exemption by image can only cover the finding when a single container holds the socket.
    ...(mounting.length === 1 ? { container: mounting[0] } : {}),
  };
}

const TCP_URL = /^\s*tcp:\/\//i;

function dockerHostFindings(ref: ContainerRef, findings: CheckFinding[]): void {
  const env = ref.container.env;
  if (!env) return;
  for (let i = 0; i < env.length; i++) {
    const variable = env[i];
    if (variable?.name !== 'DOCKER_HOST' || typeof variable.value !== 'string' || !TCP_URL.test(variable.value)) continue;
    findings.push({
      gap: 'docker-socket',
      rule: DOCKER_HOST_TCP,
      severity: 'medium',
      path: [...ref.path, 'env', i, 'value'],
      message:
        `Container "${ref.name}" sets DOCKER_HOST to a Docker daemon over TCP: whoever can use that daemon ` +
        'controls every container it runs and the host it runs on, and the container is a stepping stone to it.',
      remediation: `Remove DOCKER_HOST. ${ALTERNATIVES}`,
      container: ref,
    });
  }
}

export const dockerSocket: GapCheck = {
  gap: 'docker-socket',
  rules: [HOST_PATH, DOCKER_HOST_TCP],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const volumes = pod.spec.volumes;
    let mounters: ReturnType<typeof volumeMounters> | undefined;
    if (volumes) {
      for (let i = 0; i < volumes.length; i++) {
        const volume = volumes[i];
        const raw = volume?.hostPath?.path;
        if (typeof raw !== 'string') continue;
        const what = exposure(normaliseHostPath(raw), socketIndex(ctx.policy));
        if (what !== undefined) findings.push(hostPathFinding(pod, (mounters ??= volumeMounters(pod))(volume!.name), i, volume!, raw, what));
      }
    }
    for (const ref of pod.containers) dockerHostFindings(ref, findings);
    return findings;
  },
};
