/**
 * How the node reads a hostPath, for every rule that judges one (docker-socket, privileged's host
 * paths): the kubelet hands the path to the runtime, which resolves it on the host, so `//`, `.`,
 * `..` and a trailing `/` change nothing about what is mounted, and /var/run is /run.
 */
import type { ContainerRef, PodTarget } from './types.js';

/** `//var/run/../run/./docker.sock/` -> `/var/run/docker.sock`; `..` above the root stays at the root. */
export function normaliseHostPath(raw: string): string {
  const segments: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return '/' + segments.join('/');
}

/** A normalised path under both spellings: on every current distribution /var/run is a symlink to /run. */
export function hostPathSpellings(path: string): string[] {
  if (path === '/run' || path.startsWith('/run/')) return [path, '/var' + path];
  if (path === '/var/run' || path.startsWith('/var/run/')) return [path, path.slice('/var'.length)];
  return [path];
}

/** The containers that mount a volume (each once, in the pod's order), and whether every one of them mounts it read-only. */
export interface VolumeMounters {
  containers: ContainerRef[];
  readOnly: boolean;
}

const UNMOUNTED: VolumeMounters = { containers: [], readOnly: false };

/**
 * Who mounts each volume of a pod, by volume name, built in one pass over the mounts: asking every
 * volume of every container would cost volumes × containers, which the review limits allow to be large.
 */
export function volumeMounters(pod: PodTarget): (volumeName: string | undefined) => VolumeMounters {
  const byVolume = new Map<string, VolumeMounters>();
  for (const ref of pod.containers) {
    for (const mount of ref.container.volumeMounts ?? []) {
      if (typeof mount?.name !== 'string') continue;
      let entry = byVolume.get(mount.name);
      if (!entry) byVolume.set(mount.name, (entry = { containers: [ref], readOnly: true }));
      else if (entry.containers[entry.containers.length - 1] !== ref) entry.containers.push(ref);
      if (mount.readOnly !== true) entry.readOnly = false;
    }
  }
  return (volumeName) => (volumeName === undefined ? undefined : byVolume.get(volumeName)) ?? UNMOUNTED;
}

/** Who holds a hostPath volume, for a finding's message; at most `named` containers by name. */
export function mountedBy({ containers, readOnly }: VolumeMounters, options: { sayReadOnly: boolean; named?: number }): string {
  if (!containers.length) return 'not mounted yet, but any container added to the pod can mount it';
  const named = options.named ?? containers.length;
  const more = containers.length > named ? ` and ${containers.length - named} more` : '';
  return `mounted${options.sayReadOnly && readOnly ? ' read-only' : ''} by ${containers.slice(0, named).map((ref) => `container "${ref.name}"`).join(', ')}${more}`;
}
