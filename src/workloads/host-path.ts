/**
 * How the node reads a hostPath, for every rule that judges one (docker-socket, privileged's host
 * paths): the kubelet hands the path to the runtime, which resolves it on the host, so `//`, `.`,
 * `..` and a trailing `/` change nothing about what is mounted, and /var/run is /run.
 */

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
