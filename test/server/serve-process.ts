// `gapguard serve` in a child process, as a user and the kubelet run it (the compiled CLI or the
// shipped bundle), with its output collected and its port read from its "serving" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { eventually } from './harness.js';

export interface ServeProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  port: number;
  exit: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Starts `node BIN serve --port 0 ARGS` (--no-cluster without --kubeconfig); resolves once it serves. */
export async function serveProcess(bin: string, args: string[], cwd: string): Promise<ServeProcess> {
  const cluster = args.some((a) => a.startsWith('--kubeconfig')) ? [] : ['--no-cluster'];
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...cluster, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  // Without --tls-cert the CA line follows on stdout, which is not ordered with stderr.
  const started = () => /"msg":"serving"/.test(stderr) && (args.includes('--tls-cert') || stdout.includes('CA certificate: '));
  await eventually(() => started() || child.exitCode !== null, 'the server to start', 20_000);
  const serving = /"msg":"serving","url":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(stderr);
  if (!serving) throw new Error(`gapguard serve did not start:\n${stderr}`);
  return { child, stdout: () => stdout, stderr: () => stderr, port: Number(serving[1]), exit };
}

/** Ends every server still running (after each test). */
export function killServeProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function caFileFrom(stdout: string): string {
  const line = /^CA certificate: (.+)$/m.exec(stdout);
  expect(line, stdout).to.not.equal(null);
  return line![1]!;
}
