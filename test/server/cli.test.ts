// `gapguard serve` as a user and the kubelet run it: the built CLI under plain Node, the quickstart
// with its generated CA, a drain on SIGTERM that lets an in-flight request finish, and exit code 2
// for usage and policy errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { insecurePod } from '../admission/objects.js';
import { repoRoot } from '../helpers.js';
import { FakeApiServer, namespace, NAMESPACES } from './fake-apiserver.js';
import { admissionResponse, eventually, metricValue, reviewOf, send, type HttpAnswer } from './harness.js';
import { caFileFrom, killServeProcesses, serveProcess } from './serve-process.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');
const serve = (args: string[], cwd: string) => serveProcess(BIN, args, cwd);

function runToExit(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gapguard serve (CLI)', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'gapguard-serve-'));
  });
  afterEach(() => {
    killServeProcesses();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('quickstart: generates a CA under .gapguard/certs, prints it for curl --cacert, reuses it on restart', async () => {
    const first = await serve([], cwd);
    const caFile = caFileFrom(first.stdout());
    expect(caFile).to.equal(join(cwd, '.gapguard', 'certs', 'ca.crt'));
    const ca = readFileSync(caFile);
    const review = reviewOf(insecurePod());
    const answer = await send({ port: first.port, ca, path: '/validate', body: JSON.stringify(review) });
    expect(admissionResponse(answer, review.request.uid).allowed).to.equal(false);
    first.child.kill('SIGTERM');
    expect(await first.exit).to.equal(0);

    const second = await serve([], cwd);
    expect(caFileFrom(second.stdout())).to.equal(caFile);
    expect(readFileSync(caFile)).to.deep.equal(ca);
    expect(second.stderr()).to.not.include('generated a self-signed certificate');
    expect((await send({ port: second.port, ca, path: '/healthz' })).status).to.equal(200);
    second.child.kill('SIGINT');
    expect(await second.exit).to.equal(0);
  });

  it('drains on SIGTERM: the request in flight is answered, new connections are refused, exit code 0', async () => {
    const server = await serve(['--cert-dir', join(cwd, 'certs')], cwd);
    const ca = readFileSync(caFileFrom(server.stdout()));
    const review = reviewOf(insecurePod());
    const body = Buffer.from(JSON.stringify(review));
    const half = body.length >> 1;

    let answered: (a: HttpAnswer) => void = () => {};
    let failed: (err: Error) => void = () => {};
    const answer = new Promise<HttpAnswer>((resolve, reject) => {
      answered = resolve;
      failed = reject;
    });
    const slow = request(
      { host: '127.0.0.1', servername: 'localhost', port: server.port, method: 'POST', path: '/validate', ca, agent: false, headers: { 'content-length': body.length, 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => answered({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      },
    );
    slow.on('error', (err) => failed(err));
    slow.write(body.subarray(0, half));
    const inFlight = async () => metricValue((await send({ port: server.port, ca, path: '/metrics' })).text, 'gapguard_admission_requests_in_flight', {});
    await eventually(async () => (await inFlight()) === 1, 'the slow request to reach the server');

    server.child.kill('SIGTERM');
    await eventually(() => server.stderr().includes('"msg":"draining: finishing in-flight requests"'), 'the drain to start');
    const refused = await send({ port: server.port, ca, path: '/healthz' }).then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(refused).to.equal('ECONNREFUSED');

    slow.end(body.subarray(half));
    expect(admissionResponse(await answer, review.request.uid).allowed).to.equal(false);
    expect(await server.exit).to.equal(0);
    expect(server.stderr()).to.include('"msg":"stopped"');
  });

  it('drains on SIGTERM without waiting for a connection that never sent a request', async () => {
    const server = await serve(['--cert-dir', join(cwd, 'certs')], cwd);
    const ca = readFileSync(caFileFrom(server.stdout()));
    // The kube-apiserver (Go) keeps connections it dialled but did not need open for 90 s.
    const spare = connect({ host: '127.0.0.1', servername: 'localhost', port: server.port, ca });
    await new Promise<void>((resolve, reject) => spare.once('secureConnect', resolve).once('error', reject));
    const closed = new Promise<void>((resolve) => spare.once('close', () => resolve()));
    spare.on('error', () => {});
    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exit).to.equal(0);
    await closed;
    expect(Date.now() - started).to.be.below(5000);
  });

  it('drains on SIGTERM without cutting a keep-alive connection in use: its next request is answered and ends it', async () => {
    const server = await serve(['--cert-dir', join(cwd, 'certs')], cwd);
    const ca = readFileSync(caFileFrom(server.stdout()));
    // One connection, reused as the kube-apiserver reuses its most recent one; Go does not retry a
    // POST that a server's close of an idle connection cut, so the drain must not close it under it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    try {
      const post = (review: ReturnType<typeof reviewOf>) =>
        new Promise<{ reused: boolean; connection: string | undefined; allowed: boolean }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', servername: 'localhost', port: server.port, method: 'POST', path: '/validate', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const answer = { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() };
              resolve({ reused: req.reusedSocket, connection: res.headers.connection, allowed: admissionResponse(answer, review.request.uid).allowed });
            });
          });
          req.on('error', reject);
          req.end(JSON.stringify(review));
        });
      const before = reviewOf(insecurePod());
      expect(await post(before)).to.deep.equal({ reused: false, connection: 'keep-alive', allowed: false });

      server.child.kill('SIGTERM');
      await eventually(() => server.stderr().includes('"msg":"draining: finishing in-flight requests"'), 'the drain to start');
      const during = reviewOf(insecurePod());
      expect(await post(during)).to.deep.equal({ reused: true, connection: 'close', allowed: false });
      expect(await server.exit).to.equal(0);
    } finally {
      agent.destroy();
    }
  });

  it('watches the cluster of --kubeconfig for namespace modes, and still exits cleanly on SIGTERM', async () => {
    const api = await new FakeApiServer().start();
    try {
      api.put(NAMESPACES, namespace('observed', 'audit'));
      const kubeconfig = join(cwd, 'kubeconfig.yaml');
      api.writeKubeconfig(kubeconfig);
      const server = await serve([`--kubeconfig=${kubeconfig}`, '--cert-dir', join(cwd, 'certs')], cwd);
      const ca = readFileSync(caFileFrom(server.stdout()));
      const readiness = async () => JSON.parse((await send({ port: server.port, ca, path: '/readyz' })).text) as { cluster: string };
      await eventually(async () => (await readiness()).cluster === 'synced', 'the informers to sync');
      const pod = insecurePod();
      pod.metadata!.namespace = 'observed';
      const review = reviewOf(pod);
      const response = admissionResponse(await send({ port: server.port, ca, path: '/validate', body: JSON.stringify(review) }), review.request.uid);
      expect(response.allowed).to.equal(true);
      expect(response.auditAnnotations!.decision).to.equal('audit');
      server.child.kill('SIGTERM');
      expect(await server.exit).to.equal(0);
    } finally {
      await api.stop();
    }
  });

  it('exits 2 with the policy error when the policy is broken at startup', () => {
    const policy = join(cwd, 'policy.yaml');
    writeFileSync(policy, 'gaps:\n  privileged: { action: block }\n');
    const r = runToExit(['--policy', policy, '--cert-dir', join(cwd, 'certs'), '--no-cluster']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`gapguard serve: policy error: ${policy}:2: gaps.privileged.action: must be deny, warn or off`);
  });

  for (const [args, message] of [
    [['--frobnicate'], "Unknown option '--frobnicate'"],
    [['--port', '70000'], '--port must be a whole number from 0 to 65535, not "70000"'],
    [['--port', 'https'], '--port must be a whole number from 0 to 65535, not "https"'],
    [['--tls-cert', 'tls.crt'], '--tls-cert and --tls-key go together'],
    [['--log-level', 'loud'], '--log-level must be one of debug, info, warn, error, not "loud"'],
    [['--body-limit', '3MiB'], '--body-limit must be a whole number'],
    [['--kubeconfig', 'kc.yaml', '--no-cluster'], '--kubeconfig and --no-cluster contradict each other'],
    [['positional'], "Unexpected argument 'positional'"],
  ] as const) {
    it(`exits 2 on ${args.join(' ')}`, () => {
      const r = runToExit([...args]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(message);
      expect(r.stderr).to.include('Usage: gapguard serve [options]');
    });
  }

  it('exits 2 when the kubeconfig cannot be read', () => {
    const r = runToExit(['--kubeconfig', join(cwd, 'missing.yaml'), '--cert-dir', join(cwd, 'certs')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/gapguard serve: cannot start: .*missing\.yaml/);
  });

  it('exits 2 naming --excluded-namespaces when it lists something that is not a namespace name, or comes without the audit', () => {
    const bad = runToExit(['--background-audit', '--excluded-namespaces', 'kube-system,Team_A']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--excluded-namespaces must list namespace names separated by commas, not "Team_A"');
    const alone = runToExit(['--excluded-namespaces', 'kube-system']);
    expect(alone.code).to.equal(2);
    expect(alone.stderr).to.include('--excluded-namespaces needs --background-audit');
  });

  it('prints its usage with --help', () => {
    const r = runToExit(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('--tls-cert FILE');
    expect(r.stdout).to.include('?mode=audit');
  });
});
