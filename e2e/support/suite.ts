// The suite's one cluster and one gapguard under test, set up once for all scenario files (global
// setup in hooks.ts) and always torn down: the control plane from e2e/scripts, and gapguard
// installed by its chart, in the cluster from its own image when the node runs (in-cluster.ts),
// else as a child process the chart's webhooks point at (gapguard.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeServingPair } from './certs.js';
import { freePort, ProcessGapguard } from './gapguard.js';
import { buildImage, InClusterGapguard, pushImage } from './in-cluster.js';
import { chartDir, repoRoot, scriptsDir } from './paths.js';
import { run, runOk, type RunResult } from './run.js';
import type { GapguardUnderTest } from './under-test.js';

import { RELEASE, RELEASE_NAMESPACE } from './release.js';

export { RELEASE, RELEASE_NAMESPACE };

export interface Env {
  workdir: string;
  bin: string;
  kubeconfig: string;
  apiServer: string;
  apiServerCaFile: string;
  token: string;
  auditLog: string;
  /** The gapguard under test: in the cluster, or the out-of-cluster process. */
  gapguard: GapguardUnderTest;
  /** Where certificates are made. */
  certDir: string;
  /** The real node (kubelet, containerd, kube-proxy, CoreDNS, scheduler), unless it is switched off. */
  node?: NodeEnv;
}

export interface NodeEnv {
  name: string;
  /** The node's address on the Pod bridge, where Pods reach the apiserver and CoreDNS. */
  ip: string;
  /** Only Pods that tolerate this NoSchedule taint run on the node; others stay Pending. */
  taintKey: string;
  /** host:port of the registry every image pull of the node goes to. */
  registry: string;
  /** The pause image built here, by digest (runs as 65535, does nothing). */
  pauseImage: string;
}

/** The node is on unless GAPGUARD_E2E_NODE=0, or the suite does not run as root (a node needs root). */
export function nodeWanted(): boolean {
  return process.env.GAPGUARD_E2E_NODE !== '0' && process.getuid?.() === 0;
}

/** gapguard runs in the cluster whenever the node does, unless GAPGUARD_E2E_INCLUSTER=0. */
export function inClusterWanted(): boolean {
  return nodeWanted() && process.env.GAPGUARD_E2E_INCLUSTER !== '0';
}

let current: Env | undefined;
let workdir: string | undefined;
let clusterStarted = false;
/** e2e/scripts/host-state.sh before the node started, to compare with after it is gone. */
let hostBefore: string | undefined;

export function env(): Env {
  if (!current) throw new Error('the e2e environment is not set up (run with --config e2e/.mocharc.json)');
  return current;
}

export function toolEnv(): NodeJS.ProcessEnv {
  const e = env();
  // helm keeps its caches in the workdir, so the suite writes nothing under $HOME but the binaries.
  return { ...process.env, KUBECONFIG: e.kubeconfig, HELM_CACHE_HOME: join(e.workdir, 'helm/cache'), HELM_CONFIG_HOME: join(e.workdir, 'helm/config'), HELM_DATA_HOME: join(e.workdir, 'helm/data') };
}

export function kubectl(args: readonly string[], input?: string): Promise<RunResult> {
  return run(join(env().bin, 'kubectl'), ['--request-timeout=30s', ...args], { env: toolEnv(), input, timeoutMs: 60_000 });
}

export function helm(args: readonly string[]): Promise<RunResult> {
  return run(join(env().bin, 'helm'), args, { env: toolEnv(), timeoutMs: 120_000 });
}

let valuesFiles = 0;

/**
 * helm install or upgrade of the suite's release with exactly these values files (merged in order,
 * over the chart's defaults; nothing reused from the release before).
 */
export async function applyRelease(verb: 'install' | 'upgrade', values: Record<string, unknown>[], args: string[]): Promise<void> {
  const files = values.map((v) => {
    const file = join(env().workdir, `values-${++valuesFiles}.json`);
    writeFileSync(file, JSON.stringify(v));
    return file;
  });
  const r = await helm([verb, RELEASE, chartDir, ...files.flatMap((f) => ['-f', f]), ...args]);
  if (r.code !== 0) throw new Error(`helm ${verb} failed:\n${r.stderr}${r.stdout}`);
}

/**
 * Waits until every webhook of both configurations carries the bundle (base64), then lets the
 * apiserver catch up: it reads webhook configurations through its own informer, which no API
 * reports on; its watch delivers within milliseconds, so a short pause is enough.
 */
export async function expectCaBundle(base64: string): Promise<void> {
  for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
    const got = await kubectl(['get', kind, RELEASE, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']);
    const bundles = got.stdout.split(' ');
    if (bundles.length !== (kind === 'validatingwebhookconfiguration' ? 2 : 1) || bundles.some((b) => b !== base64)) throw new Error(`${kind} ${RELEASE} does not carry the new caBundle`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

/** The out-of-cluster gapguard, for what only a local process allows (the benches' pids and ports). */
export function processGapguard(): ProcessGapguard {
  const g = env().gapguard;
  if (!(g instanceof ProcessGapguard)) throw new Error('this needs gapguard out of the cluster: set GAPGUARD_E2E_INCLUSTER=0');
  return g;
}

function hostState(): string {
  return execFileSync(join(scriptsDir, 'host-state.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Lines of `after` not in `before` (+) and of `before` not in `after` (-), in order. */
function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  return [...a.filter((l) => !b.includes(l)).map((l) => `- ${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `+ ${l}`)];
}

function readClusterEnv(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

export function log(message: string): void {
  process.stderr.write(`e2e: ${message}\n`);
}

/**
 * A copy of the built server (what the image holds: dist/src, data, policy, package.json), so a
 * rebuild of dist/ in the working tree during the run cannot pull the server out from under it.
 */
function snapshotServer(dir: string): string {
  for (const part of ['dist/src', 'data', 'policy', 'package.json']) cpSync(join(repoRoot, part), join(dir, part), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist/src/cli/main.js');
}

export interface SetUpOptions {
  /** Write the apiserver's audit log (the scenarios read audit annotations from it). Default true. */
  auditLog?: boolean;
  /** gapguard in the cluster (needs the node); default inClusterWanted(). */
  inCluster?: boolean;
}

export async function setUp(options: SetUpOptions = {}): Promise<void> {
  const started = Date.now();
  workdir = mkdtempSync(join(tmpdir(), 'gapguard-e2e-'));
  const clusterDir = join(workdir, 'cluster');
  mkdirSync(clusterDir);
  log(`workdir ${workdir}`);

  // A no-op when the binaries are cached; the first run on a machine builds them (about 5 minutes).
  const built = await run(join(scriptsDir, 'build-binaries.sh'), [], { timeoutMs: 30 * 60_000 });
  if (built.code !== 0) throw new Error(`build-binaries.sh failed:\n${built.stderr}`);
  const bin = built.stdout.trim().split('\n').pop()!;

  // The apiserver's audit log is where audit annotations of webhooks can be read, as an operator would.
  const auditLog = join(workdir, 'audit.log');
  const auditPolicy = join(workdir, 'audit-policy.yaml');
  writeFileSync(auditPolicy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n    resources:\n      - group: ""\n        resources: [pods, pods/ephemeralcontainers]\n      - group: apps\n      - group: batch\n  - level: None\n');
  const withNode = nodeWanted();
  const inCluster = withNode && (options.inCluster ?? inClusterWanted());
  if (withNode) {
    // A run killed before its teardown left its node behind: clean it up before looking at the host.
    await runOk(join(scriptsDir, 'node-down.sh'), ['--stale'], { timeoutMs: 5 * 60_000 });
    hostBefore = hostState();
  }
  // The image builds while the cluster starts (it is pushed to the node's registry once that runs).
  const imageBuilt = inCluster ? buildImage() : undefined;
  imageBuilt?.catch(() => undefined);
  clusterStarted = true;
  const auditArgs = options.auditLog === false ? '' : `--audit-policy-file=${auditPolicy} --audit-log-path=${auditLog}`;
  await runOk(join(scriptsDir, 'cluster-up.sh'), [clusterDir], {
    env: { ...process.env, GAPGUARD_E2E_BIN: bin, GAPGUARD_E2E_APISERVER_ARGS: auditArgs, GAPGUARD_E2E_NODE: withNode ? '1' : '0', GAPGUARD_E2E_OWNER_PID: String(process.pid) },
    timeoutMs: 10 * 60_000,
  });
  const vars = readClusterEnv(join(clusterDir, 'cluster.env'));
  const nodeVars = withNode ? readClusterEnv(join(clusterDir, 'node.env')) : undefined;
  const node = nodeVars && {
    name: nodeVars.GAPGUARD_E2E_NODE_NAME!,
    ip: nodeVars.GAPGUARD_E2E_NODE_IP!,
    taintKey: nodeVars.GAPGUARD_E2E_NODE_TAINT!,
    registry: nodeVars.GAPGUARD_E2E_REGISTRY!,
    pauseImage: nodeVars.GAPGUARD_E2E_PAUSE_IMAGE!,
  };

  const certDir = join(workdir, 'certs');
  mkdirSync(certDir);
  let gapguard: GapguardUnderTest;
  if (inCluster) {
    const image = await pushImage(bin, node!.registry, await imageBuilt!);
    log(`image ${image.repository}@${image.digest} built and pushed, ${((Date.now() - started) / 1000).toFixed(1)} s after the start`);
    gapguard = new InClusterGapguard(image, node!.taintKey, node!.ip);
  } else {
    const ca = await makeCa(certDir, 'ca-1');
    const serving = await makeServingPair(certDir, 'serving', ca);
    const main = snapshotServer(join(workdir, 'app'));
    const options = { main, port: await freePort(), certFile: serving.certFile, keyFile: serving.keyFile, kubeconfig: vars.KUBECONFIG!, policyFile: join(workdir, 'policy.yaml'), logFile: join(workdir, 'gapguard.log') };
    gapguard = new ProcessGapguard(options, readFileSync(ca.certFile, 'utf8'), workdir);
  }
  current = {
    workdir,
    bin,
    kubeconfig: vars.KUBECONFIG!,
    apiServer: vars.GAPGUARD_E2E_SERVER!,
    apiServerCaFile: vars.GAPGUARD_E2E_CA_FILE!,
    token: vars.GAPGUARD_E2E_TOKEN!,
    auditLog,
    certDir,
    gapguard,
    node,
  };
  // The only namespaces that exist yet are the chart's (excluded) and the default ones (audit, fail open).
  await gapguard.install();
  const replicas = (await gapguard.replicas()).map((r) => `${r.name} ${r.target.host}:${r.target.port}`);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: apiserver ${current.apiServer}, gapguard ${gapguard.where}: ${replicas.join(', ')}`);
}

/**
 * Stops the server and the cluster (node included), then fails if the host is not as it was before
 * the node started: iptables, mounts, links, network namespaces, sysctls, cgroups, host paths.
 */
export async function tearDown(): Promise<void> {
  if (current) await current.gapguard.shutdown();
  let downFailed = '';
  if (workdir && clusterStarted) {
    const down = await run(join(scriptsDir, 'cluster-down.sh'), [join(workdir, 'cluster')]);
    if (down.code !== 0) {
      process.stderr.write(down.stderr);
      downFailed = `cluster-down.sh exited ${down.code}`;
    }
  }
  finish();
  const changed = checkHost();
  if (downFailed || changed) throw new Error([downFailed, changed].filter(Boolean).join('; '));
}

/** For SIGINT/SIGTERM: the same teardown, synchronously, since the process exits right after. */
export function tearDownNow(): void {
  current?.gapguard.killNow();
  if (workdir && clusterStarted) spawnSync(join(scriptsDir, 'cluster-down.sh'), [join(workdir, 'cluster')], { stdio: 'inherit' });
  finish();
  const changed = checkHost();
  if (changed) process.stderr.write(`e2e: ${changed}\n`);
}

/** A message saying how the host differs from before the node started, or '' when it does not. */
function checkHost(): string {
  const before = hostBefore;
  hostBefore = undefined;
  if (before === undefined) return '';
  const diff = lineDiff(before, hostState());
  if (diff.length === 0) {
    log('host checked: iptables, mounts, links, netns, sysctls, cgroups and paths are as before the node');
    return '';
  }
  return `the node left the host changed (host-state.sh before/after):\n${diff.join('\n')}`;
}

/**
 * Keeps the logs of the run (gapguard, apiserver and its audit log, controller-manager, etcd) in
 * e2e/.work/last-run/ (git-ignored; replaced by the next run), then removes the workdir.
 */
function finish(): void {
  const dir = workdir;
  workdir = undefined;
  clusterStarted = false;
  current = undefined;
  if (!dir || !existsSync(dir)) return;
  const kept = join(repoRoot, 'e2e/.work/last-run');
  rmSync(kept, { recursive: true, force: true });
  mkdirSync(kept, { recursive: true });
  for (const from of [dir, join(dir, 'cluster'), join(dir, 'cluster/node')]) {
    if (!existsSync(from)) continue;
    for (const f of readdirSync(from)) if (f.endsWith('.log') || f === 'policy.yaml') cpSync(join(from, f), join(kept, f));
  }
  // The in-cluster replicas' logs as the kubelet kept them: pod-logs/<namespace>_<pod>_<uid>/<container>/<n>.log.
  const podLogs = join(dir, 'cluster/node/pod-logs');
  for (const pod of existsSync(podLogs) ? readdirSync(podLogs).filter((d) => d.startsWith(`${RELEASE_NAMESPACE}_`)) : []) {
    const container = join(podLogs, pod, 'gapguard');
    for (const f of existsSync(container) ? readdirSync(container) : []) cpSync(join(container, f), join(kept, `gapguard-${pod.split('_')[1]}-${f}`));
  }
  // Never delete through a mount that the node's teardown could not undo (it said so).
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4]?.startsWith(`${dir}/`));
  if (mounted) {
    log(`mounts are left under ${dir}; not removing it`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  log(`logs of this run: ${kept}`);
}
