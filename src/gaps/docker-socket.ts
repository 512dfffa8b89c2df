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
 *   docker-socket/host-path        critical  a hostPath that is a runtime socket or a directory above one
 *   docker-socket/docker-host-tcp  medium    DOCKER_HOST points at a daemon over tcp://
 *
 * No fix: removing a volume or a variable breaks the pod; the messages name the purpose-built
 * alternatives instead.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import type { ContainerRef, PodTarget, Volume } from '../workloads/types.js';

const HOST_PATH = 'docker-socket/host-path';
const DOCKER_HOST_TCP = 'docker-socket/docker-host-tcp';

/** Sockets of the container runtimes and builders a node may run, with the name messages use. */
const BUILT_IN_SOCKETS: readonly { runtime: string; path: string }[] = [
  { runtime: 'Docker', path: '/var/run/docker.sock' },
  { runtime: 'dockershim', path: '/var/run/dockershim.sock' },
  { runtime: 'containerd', path: '/run/containerd/containerd.sock' },
  { runtime: 'k3s containerd', path: '/run/k3s/containerd/containerd.sock' },
  { runtime: 'MicroK8s containerd', path: '/var/snap/microk8s/common/run/containerd.sock' },
  { runtime: 'CRI-O', path: '/var/run/crio/crio.sock' },
  { runtime: 'cri-dockerd', path: '/var/run/cri-dockerd.sock' },
  { runtime: 'Podman', path: '/run/podman/podman.sock' },
  { runtime: 'BuildKit', path: '/run/buildkit/buildkitd.sock' },
];

const ALTERNATIVES =
  'Use a purpose-built alternative instead: rootless BuildKit, kaniko or Buildah to build images; ' +
  "the kubelet's metrics endpoints (/metrics/cadvisor, the Metrics API) or the Kubernetes API to monitor containers; " +
  'kubectl logs or the node log files under /var/log/pods for logs. ' +
  'If a node agent truly needs the runtime, exempt it in the central policy with a reason.';

/** `//var/run/../run/./docker.sock/` -> `/var/run/docker.sock`; `..` above the root stays at the root. */
function normaliseHostPath(raw: string): string {
  const segments: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return '/' + segments.join('/');
}

/** On every current distribution /var/run is a symlink to /run: a socket has both spellings. */
function spellings(path: string): string[] {
  if (path === '/run' || path.startsWith('/run/')) return [path, '/var' + path];
  if (path === '/var/run' || path.startsWith('/var/run/')) return [path, path.slice('/var'.length)];
  return [path];
}

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
 * directory above it. One lookup per volume then decides, and a whole path is compared, never a
 * prefix of a segment (`/run/docker.sock.d` is not `/run/docker.sock`).
 */
function buildSocketIndex(policy: Policy): Map<string, ExposedSocket> {
  const sockets = [
    ...BUILT_IN_SOCKETS,
    ...policy.dockerSocket.socketPaths.map((path) => ({ runtime: 'configured runtime', path })),
  ].flatMap(({ runtime, path }) => spellings(normaliseHostPath(path)).map((socket) => ({ runtime, socket })));
  const index = new Map<string, ExposedSocket>();
  // Sockets first, so that a path that is both a socket and a directory above another one is
  // reported as the socket.
  for (const s of sockets) if (!index.has(s.socket)) index.set(s.socket, s);
  for (const s of sockets) {
    for (let dir = s.socket; dir !== '/'; ) {
      dir = parentOf(dir);
      if (!index.has(dir)) index.set(dir, s);
    }
  }
  return index;
}

const socketIndexes = new WeakMap<Policy, Map<string, ExposedSocket>>();

function socketIndex(policy: Policy): Map<string, ExposedSocket> {
  let index = socketIndexes.get(policy);
  if (!index) {
    index = buildSocketIndex(policy);
    socketIndexes.set(policy, index);
  }
  return index;
}

function containersMounting(pod: PodTarget, volumeName: string | undefined): ContainerRef[] {
  if (volumeName === undefined) return [];
  return pod.containers.filter((ref) => ref.container.volumeMounts?.some((m) => m?.name === volumeName));
}

function hostPathFinding(pod: PodTarget, volumeIndex: number, volume: Volume, raw: string, normalised: string, exposed: ExposedSocket): CheckFinding {
  const mounting = containersMounting(pod, volume.name);
  const what =
    exposed.socket === normalised
      ? `the host's ${exposed.runtime} socket`
      : `a host directory above the ${exposed.runtime} socket ${exposed.socket}`;
  const who = mounting.length
    ? `mounted by ${mounting.map((ref) => `container "${ref.name}"`).join(', ')}`
    : 'not mounted yet, but any container added to the pod can mount it';
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
    if (volumes) {
      for (let i = 0; i < volumes.length; i++) {
        const volume = volumes[i];
        const raw = volume?.hostPath?.path;
        if (typeof raw !== 'string') continue;
        const normalised = normaliseHostPath(raw);
        const exposed = socketIndex(ctx.policy).get(normalised);
        if (exposed) findings.push(hostPathFinding(pod, i, volume!, raw, normalised, exposed));
      }
    }
    for (const ref of pod.containers) dockerHostFindings(ref, findings);
    return findings;
  },
};
