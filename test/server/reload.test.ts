// Files the server watches: the policy (a broken one is refused, the last good one stays) and the
// serving certificate (swapped under load without a failed request), plus the client-certificate
// check of the API server.
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect } from 'chai';
import { generate } from 'selfsigned';
import { PolicyError } from '../../src/policy/load.js';
import { createLogger } from '../../src/server/log.js';
import { ensureSelfSignedCertificate, type CertificateFiles } from '../../src/server/self-signed.js';
import { startServer } from '../../src/server/server.js';
import { insecurePod } from '../admission/objects.js';
import { rejectionOf } from '../helpers.js';
import { admissionResponse, admitVia, eventually, metricValue, reviewOf, send, startTestServer, type TestServer } from './harness.js';

function servedFingerprint(port: number, ca: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', servername: 'localhost', port, ca }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function fingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

describe('server: policy reload', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ policy: 'mode: enforce\n' });
  });
  afterEach(() => server.close());

  const reloads = async (result: string) => metricValue((await server.get('/metrics')).text, 'gapguard_policy_reloads_total', { result });
  const allowed = async () => (await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed;

  it('refuses a broken policy with a log line and a metric, and keeps the last good one in force', async () => {
    const policyFile = join(server.dir, 'policy.yaml');
    expect(await allowed()).to.equal(false);
    writeFileSync(policyFile, 'mode: enforce\ngaps:\n  privileged: { action: maybe }\n');
    await eventually(async () => (await reloads('failure')) === 1, 'the failed reload to be counted');
    const refusal = server.logs().find((l) => l.msg === 'policy reload refused; the last good policy stays in force')!;
    expect(refusal.level).to.equal('error');
    expect(refusal.error).to.match(/policy\.yaml:3: gaps\.privileged\.action: must be deny, warn or off/);
    expect(await allowed()).to.equal(false);

    writeFileSync(policyFile, 'mode: audit\n');
    await eventually(async () => (await reloads('success')) === 1, 'the good policy to load');
    expect(await allowed()).to.equal(true);
    expect(await reloads('failure')).to.equal(1);
  });

  for (const [what, text] of [
    ['an empty file', ''],
    ['a comment-only file', '# policy: being rewritten\n'],
    ['a null document', 'null\n'],
    ['a ~ document', '~\n'],
  ]) {
    it(`refuses ${what}, which would silently mean the embedded default, and keeps the last good policy`, async () => {
      const policyFile = join(server.dir, 'policy.yaml');
      writeFileSync(policyFile, 'mode: enforce\ngaps:\n  unverified-image:\n    allowedRegistries: [registry.example.com]\n');
      await eventually(async () => (await reloads('success')) === 1, 'the allow-list to load');
      writeFileSync(policyFile, text!);
      await eventually(async () => (await reloads('failure')) === 1, 'the empty document to be refused');
      expect(server.logs().find((l) => l.msg === 'policy reload refused; the last good policy stays in force')?.error).to.match(/policy\.yaml: the policy is empty/);
      const denial = await admitVia(server, '/validate', reviewOf(insecurePod()));
      expect(denial.status?.message).to.include('registry-not-allowed');
    });
  }

  it('never puts a half-written file in force: it waits until the file stops changing, and says which content is in force', async () => {
    const policyFile = join(server.dir, 'policy.yaml');
    // Cut after its first three lines, the file turns privileged off; whole, it denies privileged containers.
    const whole = 'gaps:\n  privileged:\n    action: off\n    rules:\n      privileged/privileged-container: { action: deny }\n';
    const firstPart = whole.split('\n').slice(0, 3).join('\n') + '\n';
    writeFileSync(policyFile, firstPart);
    await new Promise((resolve) => setTimeout(resolve, 100));
    writeFileSync(policyFile, whole);
    await eventually(async () => (await reloads('success')) === 1, 'the whole file to load');
    const sha256 = createHash('sha256').update(whole).digest('hex').slice(0, 16);
    const reloaded = server.logs().filter((l) => l.msg === 'policy reloaded');
    expect(reloaded.map((l) => l.sha256)).to.deep.equal([sha256]);
    expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).status?.message).to.include('privileged/privileged-container');
    expect(metricValue((await server.get('/metrics')).text, 'gapguard_policy_info', { sha256 })).to.equal(1);
    expect((JSON.parse((await server.get('/readyz')).text) as { policy: { sha256: string } }).policy.sha256).to.equal(sha256);
    // Written again with the same content: nothing to reload.
    writeFileSync(policyFile, whole);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await reloads('success')).to.equal(1);
  });

  it('keeps the last good policy when the file disappears', async () => {
    rmSync(join(server.dir, 'policy.yaml'));
    await eventually(async () => (await reloads('failure')) === 1, 'the failed reload to be counted');
    expect(await allowed()).to.equal(false);
  });
});

describe('server: startup errors', () => {
  let dir: string;
  let certs: CertificateFiles;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-startup-'));
    certs = await ensureSelfSignedCertificate(join(dir, 'certs'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = (extra: { policyFile?: string; certFile?: string }) =>
    startServer({
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: extra.certFile ?? certs.certFile, keyFile: certs.keyFile },
      logger: createLogger('error', () => {}),
      ...(extra.policyFile ? { policyFile: extra.policyFile } : {}),
    });

  /** What starting on a policy file holding `text` is refused with. */
  const startOnPolicy = (name: string, text: string) => {
    const policyFile = join(dir, name);
    writeFileSync(policyFile, text);
    return rejectionOf(start({ policyFile }));
  };

  it('refuses to start on a broken policy', async () => {
    const err = await startOnPolicy('broken.yaml', 'mode: sometimes\n');
    expect(err).to.be.instanceOf(PolicyError);
    expect((err as Error).message).to.include('broken.yaml:1: mode:');
  });

  it('refuses to start on an empty policy file', async () => {
    const err = await startOnPolicy('empty.yaml', '# nothing yet\n');
    expect(err).to.be.instanceOf(PolicyError);
    expect((err as Error).message).to.include('empty.yaml: the policy is empty');
  });

  it('refuses to start on a certificate that does not match its key', async () => {
    const other = await ensureSelfSignedCertificate(join(dir, 'other'));
    const err = (await rejectionOf(start({ certFile: other.certFile }))) as Error | undefined;
    expect(err?.message).to.match(/cannot use the TLS files .*tls\.crt, .*tls\.key: /);
  });
});

describe('server: certificate reload', () => {
  let server: TestServer;
  let next: CertificateFiles;
  let nextDir: string;
  before(async () => {
    server = await startTestServer();
    nextDir = mkdtempSync(join(tmpdir(), 'gapguard-next-cert-'));
    next = await ensureSelfSignedCertificate(nextDir);
  });
  after(async () => {
    await server.close();
    rmSync(nextDir, { recursive: true, force: true });
  });

  it('swaps certificates under load without failing a request, and refuses a broken one', async () => {
    const cas = [server.ca, readFileSync(next.caFile)];
    const keepAlive = new Agent({ keepAlive: true, ca: cas });
    const body = JSON.stringify(reviewOf(insecurePod(), { uid: 'load' }));
    const refusals = () => server.logs().filter((l) => l.msg === 'certificate reload refused; the certificate in use stays').length;
    let stop = false;
    let answered = 0;
    const failures: string[] = [];
    const worker = async (reuseConnections: boolean) => {
      while (!stop) {
        try {
          const answer = await send({ port: server.port, ca: cas, path: '/validate', body, ...(reuseConnections ? { agent: keepAlive } : {}) });
          admissionResponse(answer, 'load');
          answered++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = [true, true, true, false, false, false].map((reuse) => worker(reuse));
    try {
      await eventually(() => answered > 20, 'the load to start');
      // Written in place and in the wrong order, as a careless script would: for a moment the key
      // does not match the certificate, and that state must be refused, not served.
      copyFileSync(next.keyFile, server.certs.keyFile);
      await eventually(() => refusals() > 0, 'the new key next to the old certificate to be refused');
      copyFileSync(next.certFile, server.certs.certFile);
      await eventually(async () => (await servedFingerprint(server.port, cas)) === fingerprint(next.certFile), 'the new certificate to be served');
      const served = answered;
      await eventually(() => answered > served + 20, 'more requests on the new certificate');
    } finally {
      stop = true;
      await Promise.all(workers);
      keepAlive.destroy();
    }
    expect(failures).to.deep.equal([]);
    expect(server.logs().some((l) => l.msg === 'certificate reloaded')).to.equal(true);

    const before = refusals();
    writeFileSync(server.certs.certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await eventually(() => refusals() > before, 'the broken certificate to be refused');
    expect(await servedFingerprint(server.port, cas)).to.equal(fingerprint(next.certFile));
  });
});

describe('server: client certificates (--client-ca)', () => {
  let server: TestServer;
  let client: { cert: Buffer; key: Buffer };
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-client-ca-'));
    const certs = await ensureSelfSignedCertificate(join(dir, 'certs'));
    const signed = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: { cert: readFileSync(certs.caFile, 'utf8'), key: readFileSync(join(dir, 'certs', 'ca.key'), 'utf8') },
      extensions: [{ name: 'extKeyUsage', clientAuth: true }],
    });
    client = { cert: Buffer.from(signed.cert), key: Buffer.from(signed.private) };
    server = await startTestServer({ dir, clientCaFile: certs.caFile });
  });
  after(async () => {
    await server.close();
    rmSync(server.dir, { recursive: true, force: true });
  });

  it('answers admission only to a client with a certificate from the client CA', async () => {
    const review = reviewOf(insecurePod());
    const anonymous = await send({ port: server.port, ca: server.ca, path: '/validate', body: JSON.stringify(review) });
    expect(anonymous.status).to.equal(401);
    expect(JSON.parse(anonymous.text)).to.have.property('error').that.match(/client certificate signed by the configured client CA is required/);
    const authenticated = await send({ port: server.port, ca: server.ca, path: '/validate', body: JSON.stringify(review), ...client });
    expect(admissionResponse(authenticated, review.request.uid).allowed).to.equal(false);
  });

  it('with client names set, answers only a certificate for one of them, whatever else the CA signed', async () => {
    const caDir = join(server.dir, 'certs');
    const sign = async (cn: string, dns?: string) => {
      const signed = await generate([{ name: 'commonName', value: cn }], {
        keyType: 'ec',
        algorithm: 'sha256',
        ca: { cert: readFileSync(join(caDir, 'ca.crt'), 'utf8'), key: readFileSync(join(caDir, 'ca.key'), 'utf8') },
        extensions: [{ name: 'extKeyUsage', clientAuth: true }, ...(dns ? [{ name: 'subjectAltName' as const, altNames: [{ type: 2 as const, value: dns }] }] : [])],
      });
      return { cert: Buffer.from(signed.cert), key: Buffer.from(signed.private) };
    };
    const restricted = await startTestServer({ clientCaFile: join(caDir, 'ca.crt'), clientNames: ['kube-apiserver', 'apiserver.example.com'] });
    try {
      const review = reviewOf(insecurePod());
      const post = (who: { cert: Buffer; key: Buffer }) => send({ port: restricted.port, ca: restricted.ca, path: '/validate', body: JSON.stringify(review), ...who });
      const stranger = await post(await sign('some-pod'));
      expect(stranger.status).to.equal(401);
      expect(JSON.parse(stranger.text)).to.have.property('error').that.match(/not for a name the server accepts \(kube-apiserver, apiserver\.example\.com\)/);
      expect(admissionResponse(await post(client), review.request.uid).allowed).to.equal(false);
      expect(admissionResponse(await post(await sign('other', 'apiserver.example.com')), review.request.uid).allowed).to.equal(false);
    } finally {
      await restricted.close();
    }
  });

  it('keeps probes and metrics open to clients without a certificate', async () => {
    expect((await send({ port: server.port, ca: server.ca, path: '/healthz' })).status).to.equal(200);
    expect((await send({ port: server.port, ca: server.ca, path: '/readyz' })).status).to.equal(200);
    expect((await send({ port: server.port, ca: server.ca, path: '/metrics' })).status).to.equal(200);
  });
});
