// What the image tests share: the image `npm run image` built under build/image/, the tools the
// build installed (crane), and podman with runc in a throwaway store that leaves nothing behind.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (this file runs as dist/image/test/image.js). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface OciConfig {
  created: string;
  architecture: string;
  os: string;
  config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; Labels?: Record<string, string> };
  rootfs: { diff_ids: string[] };
  history: { created: string; created_by: string }[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface BuiltImage {
  dir: string;
  digest: string;
  archive: string;
  sbom: string;
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: OciConfig;
  blob(digest: string): Buffer;
}

/** Reads an OCI image layout (the one build/image/oci holds, or one pulled back). */
export function readLayout(layout: string): Omit<BuiltImage, 'dir' | 'archive' | 'sbom'> {
  const blob = (digest: string) => readFileSync(join(layout, 'blobs', ...digest.split(':')));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  if (index.manifests.length !== 1) throw new Error(`${layout}/index.json lists ${index.manifests.length} manifests, expected 1`);
  const digest = index.manifests[0]!.digest;
  const manifest = JSON.parse(blob(digest).toString('utf8')) as BuiltImage['manifest'];
  const config = JSON.parse(blob(manifest.config.digest).toString('utf8')) as OciConfig;
  return { digest, manifest, config, blob };
}

export function builtImage(): BuiltImage {
  const dir = join(repoRoot, 'build', 'image');
  if (!existsSync(join(dir, 'digest'))) throw new Error(`no image in ${dir}: run npm run image first (npm run test:image does)`);
  const layout = readLayout(join(dir, 'oci'));
  const digest = readFileSync(join(dir, 'digest'), 'utf8').trim();
  if (digest !== layout.digest) throw new Error(`${dir}/digest says ${digest}, the layout holds ${layout.digest}: run npm run image again`);
  return { ...layout, dir, archive: join(dir, 'gapguard.oci.tar'), sbom: join(dir, 'sbom.spdx.json') };
}

/** A tool the image scripts install, by the path image/tools.sh prints. */
export function tool(name: 'crane' | 'oras'): string {
  return execFileSync(join(repoRoot, 'image', 'tools.sh'), [name], { encoding: 'utf8' }).trim().split('\n').pop()!;
}

export function run(command: string, args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
}

export function runOk(command: string, args: string[], options: Parameters<typeof run>[2] = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}`);
  return result.stdout;
}

// Host paths podman and runc create whatever their flags say: the blob info cache and runc's
// default state directory. Whichever a test run created, it removes.
const HOST_PATHS = ['/var/lib/containers', '/run/runc'];

/**
 * podman (Debian's 4.3) with runc, in a store of its own. The flags are the ones this VM needs:
 * cgroupfs (no systemd), events in a file, and rlimits it cannot raise (no CAP_SYS_RESOURCE).
 */
export class Podman {
  readonly dir = mkdtempSync(join(tmpdir(), 'gapguard-podman-'));
  private readonly hostPathsBefore = new Set(HOST_PATHS.filter((p) => existsSync(p)));

  static readonly RUN_FLAGS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

  args(args: string[]): string[] {
    return [
      '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'run'), '--tmpdir', join(this.dir, 'tmp'),
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
      '--runtime', 'runc', '--runtime-flag', `root=${join(this.dir, 'runc')}`,
      ...args,
    ];
  }

  run(args: string[], options: Parameters<typeof run>[2] = {}): SpawnSyncReturns<string> {
    return run('podman', this.args(args), options);
  }

  ok(args: string[], options: Parameters<typeof run>[2] = {}): string {
    return runOk('podman', this.args(args), options);
  }

  /** Removes every container and image, the store, and the host paths this run created. */
  cleanup(): void {
    this.run(['rm', '--all', '--force', '--time', '0']);
    this.run(['rmi', '--all', '--force']);
    rmSync(this.dir, { recursive: true, force: true });
    for (const path of HOST_PATHS) {
      if (!this.hostPathsBefore.has(path)) rmSync(path, { recursive: true, force: true });
    }
  }
}
