// Notices when files change: the serving certificate, its key, the client CA, the policy. In a pod
// these are mounted Secrets and ConfigMaps, which the kubelet replaces by swapping a symlink, so
// the directories are watched (a watch on the file itself would follow the old inode) and a
// periodic stat catches what a directory watch misses on some file systems. A change is reported
// once per new state of the files, however many events led to it.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

/** Settle time after a file event: writers often touch a file several times in a row. */
const SETTLE_MS = 50;

function signature(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Calls `onChange` after any of `files` changes; returns the function that stops watching. */
export function watchFiles(files: readonly string[], onChange: () => void, pollMs: number): () => void {
  let last = signature(files);
  let settling: NodeJS.Timeout | undefined;
  const check = (): void => {
    const now = signature(files);
    if (now === last) return;
    last = now;
    onChange();
  };
  const schedule = (): void => {
    if (settling) return;
    settling = setTimeout(() => {
      settling = undefined;
      check();
    }, SETTLE_MS);
    settling.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      // The poll below keeps working if the directory watch breaks (say, the directory is replaced).
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // A directory that cannot be watched is still polled.
    }
  }
  const poll = setInterval(check, pollMs);
  poll.unref();
  return () => {
    clearInterval(poll);
    clearTimeout(settling);
    for (const watcher of watchers) watcher.close();
  };
}
