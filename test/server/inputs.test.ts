// What the server does with bad input, and the endpoints beside admission: every malformed review
// gets a 400 with a JSON body that names what is wrong, an oversized body a 413, and no secret
// value ever reaches an answer, a log line or a metric.
import { request } from 'node:https';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { insecurePod } from '../admission/objects.js';
import { admitVia, eventually, metricValue, reviewOf, startTestServer, type HttpAnswer, type TestServer } from './harness.js';

const BODY_LIMIT = 64 * 1024;

function expectError(answer: HttpAnswer, status: number, pattern: RegExp): void {
  expect(answer.status, answer.text).to.equal(status);
  expect(answer.headers['content-type']).to.match(/^application\/json/);
  const body = JSON.parse(answer.text) as { error: unknown };
  expect(Object.keys(body)).to.deep.equal(['error']);
  expect(body.error).to.be.a('string').and.match(pattern);
}

/** Posts a body with chunked transfer encoding, so the server only learns its size by reading it. */
function postChunked(server: TestServer, totalBytes: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port: server.port, method: 'POST', path: '/validate', ca: server.ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      },
    );
    // The server may close the connection before the whole body is sent; the answer is what counts.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    const chunk = Buffer.alloc(8192, 0x20);
    for (let sent = 0; sent < totalBytes; sent += chunk.length) req.write(chunk);
    req.end();
  });
}

describe('server: bad input and the other endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ bodyLimit: BODY_LIMIT });
  });
  after(() => server.close());

  const valid = () => reviewOf(insecurePod());

  const badReviews: [string, () => unknown, RegExp][] = [
    ['malformed JSON', () => '{"apiVersion": "admission.k8s.io/v1", ', /not valid JSON/],
    ['a JSON list', () => [valid()], /must be a JSON object \(an AdmissionReview\), got a list/],
    ['a wrong apiVersion', () => ({ ...valid(), apiVersion: 'admission.k8s.io/v1beta1' }), /apiVersion must be "admission\.k8s\.io\/v1", got a string \(not shown\)$/],
    ['a wrong kind', () => ({ ...valid(), kind: 'TokenReview' }), /kind must be "AdmissionReview", got a string \(not shown\)$/],
    ['no request', () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /request must be an object, got nothing/],
    ['no uid', () => ({ ...valid(), request: { ...valid().request, uid: undefined } }), /request\.uid must be a non-empty string/],
    ['an unknown operation', () => ({ ...valid(), request: { ...valid().request, operation: 'PATCH' } }), /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got a string \(not shown\)$/],
    ['no request.kind', () => ({ ...valid(), request: { ...valid().request, kind: 'Pod' } }), /request\.kind must be an object/],
    ['a non-boolean dryRun', () => ({ ...valid(), request: { ...valid().request, dryRun: 'yes' } }), /request\.dryRun must be true or false/],
    ['a missing object on CREATE', () => ({ ...valid(), request: { ...valid().request, object: null } }), /request\.object must be the Pod for CREATE/],
    ['an object of another kind', () => ({ ...valid(), request: { ...valid().request, object: { ...insecurePod(), kind: 'Deployment' } } }), /request\.object\.kind must match request\.kind\.kind "Pod", got another kind$/],
    [
      'a field of the wrong type',
      () => {
        const review = valid();
        (review.request.object as { spec: { containers: unknown } }).spec.containers = 'app';
        return review;
      },
      /^request\.object: spec\.containers: expected a list, got a string$/,
    ],
    [
      'a judged kind without its pod spec',
      () => {
        const review = valid();
        delete (review.request.object as { spec?: unknown }).spec;
        return review;
      },
      /^request\.object: Pod has no pod spec at spec$/,
    ],
  ];

  for (const [what, body, pattern] of badReviews) {
    it(`answers a review with ${what} with a 400 naming the problem`, async () => {
      const made = body();
      expectError(await server.post('/validate', typeof made === 'string' ? made : JSON.stringify(made)), 400, pattern);
    });
  }

  it('refuses a mode other than audit in the query', async () => {
    expectError(await server.post('/validate?mode=enforce', valid()), 400, /mode can only be "audit"$/);
  });

  it('answers a body over the limit with a 413, whether its length is declared or not', async () => {
    const big = JSON.stringify({ ...valid(), padding: 'x'.repeat(BODY_LIMIT) });
    expectError(await server.post('/validate', big), 413, new RegExp(`larger than the limit of ${BODY_LIMIT} bytes`));
    expectError(await postChunked(server, BODY_LIMIT * 4), 413, /larger than the limit/);
  });

  it('answers unknown routes with a JSON 404 and keeps serving after every refusal', async () => {
    expectError(await server.get('/validate'), 404, /no route for GET \/validate/);
    expectError(await server.post('/admit', valid()), 404, /no route for POST \/admit/);
    expect((await server.get('/healthz')).status).to.equal(200);
    expect((await admitVia(server, '/validate', valid())).allowed).to.equal(false);
  });

  it('counts refused requests as errors in the metrics', async () => {
    const before = metricValue((await server.get('/metrics')).text, 'gapguard_admission_requests_total', { endpoint: 'mutate', decision: 'error' });
    await server.post('/mutate', 'not json');
    const after = metricValue((await server.get('/metrics')).text, 'gapguard_admission_requests_total', { endpoint: 'mutate', decision: 'error' });
    expect(after).to.equal(before + 1);
  });

  it('is live at /healthz and ready at /readyz with the policy, certificate and cluster state', async () => {
    expect(JSON.parse((await server.get('/healthz')).text)).to.deep.equal({ status: 'ok' });
    const ready = await server.get('/readyz');
    expect(ready.status).to.equal(200);
    const detail = JSON.parse(ready.text) as { status: string; cluster: string; policy: { source: string; loadedAt: string }; certificate: { notAfter: string } };
    expect(detail).to.include({ status: 'ready', cluster: 'disabled' });
    expect(detail.policy.source).to.equal('embedded default');
    expect(Date.parse(detail.policy.loadedAt)).to.be.at.most(Date.now());
    const cert = new X509Certificate(readFileSync(server.certs.certFile));
    expect(new Date(detail.certificate.notAfter).getTime()).to.equal(new Date(cert.validTo).getTime());
  });

  it('exports the admission, findings, reload and certificate metrics', async () => {
    await admitVia(server, '/validate', valid());
    const text = (await server.get('/metrics')).text;
    expect(metricValue(text, 'gapguard_admission_requests_total', { endpoint: 'validate', kind: 'Pod', operation: 'CREATE', decision: 'deny' })).to.be.above(0);
    expect(text).to.match(/^gapguard_admission_duration_seconds_bucket\{le="0\.01",endpoint="validate"\} \d+$/m);
    expect(metricValue(text, 'gapguard_findings_total', { gap: 'privileged', action: 'deny' })).to.be.above(0);
    expect(metricValue(text, 'gapguard_findings_total', { gap: 'privileged', action: 'warn' })).to.be.above(0);
    expect(text).to.include('gapguard_policy_reloads_total{result="failure"} 0');
    const expiry = Number(/^gapguard_certificate_expiry_timestamp_seconds (\S+)$/m.exec(text)![1]);
    expect(expiry * 1000).to.equal(new Date(new X509Certificate(readFileSync(server.certs.certFile)).validTo).getTime());
  });

  it('never puts a secret value in an answer, a log line or a metric', async () => {
    const secrets = ['AKIAIOSFODNN7EXAMPLE', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'hunter2-but-much-longer'];
    const pod = insecurePod();
    (pod.spec as { containers: Record<string, unknown>[] }).containers[0]!.env = [
      { name: 'AWS_ACCESS_KEY_ID', value: secrets[0] },
      { name: 'GITHUB_TOKEN', value: secrets[1] },
      { name: 'DB_PASSWORD', value: secrets[2] },
    ];
    const answers: string[] = [];
    for (const path of ['/validate', '/mutate', '/validate/audit', '/mutate?mode=audit']) {
      answers.push((await server.post(path, reviewOf(pod))).text);
      answers.push((await server.post(path, reviewOf(pod, { operation: 'UPDATE', oldObject: insecurePod() }))).text);
    }
    const denial = JSON.parse(answers[0]!) as { response: { status: { message: string } } };
    expect(denial.response.status.message).to.include('env-secrets/literal-secret');
    const everything = [...answers, server.logText(), (await server.get('/metrics')).text].join('\n');
    for (const secret of secrets) expect(everything).to.not.include(secret);
  });

  it('says which field of a refused review is wrong, never its value, in the 400 answer and the log', async () => {
    const secret = '31337424242';
    const numericEnv = valid();
    (numericEnv.request.object as { spec: { containers: Record<string, unknown>[] } }).spec.containers[0]!.env = [{ name: 'DB_PASSWORD', value: Number(secret) }];
    const refused = [
      await server.post('/validate', numericEnv),
      await server.post('/validate', `{"apiVersion": "admission.k8s.io/v1", "password": "${secret}" oops}`),
      await server.post('/validate', { ...valid(), apiVersion: `v${secret}` }),
      await server.post('/validate', { ...valid(), request: { ...valid().request, operation: `P${secret}` } }),
      await server.post('/validate', { ...valid(), request: { ...valid().request, object: { ...insecurePod(), kind: `K${secret}` } } }),
      await server.post(`/validate?mode=${secret}`, valid()),
    ];
    expectError(refused[0]!, 400, /^request\.object: spec\.containers\[0\]\.env\[0\]\.value: expected a string, got a number$/);
    expectError(refused[1]!, 400, /^the body is not valid JSON( \(at byte \d+\))?$/);
    for (const answer of refused) expect(answer.status).to.equal(400);
    expect([...refused.map((a) => a.text), server.logText()].join('\n')).to.not.include(secret);
  });

  it('logs an upload the client aborts as one line without a stack, with its own counter, not as an error', async () => {
    const metric = async (name: string, labels: Record<string, string>) => metricValue((await server.get('/metrics')).text, name, labels);
    const errorsBefore = await metric('gapguard_admission_requests_total', { endpoint: 'validate', decision: 'error' });
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', servername: 'localhost', port: server.port, ca: server.ca }, () => {
        socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"apiVersion":');
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await eventually(async () => (await metric('gapguard_admission_uploads_aborted_total', { endpoint: 'validate' })) === 1, 'the aborted upload to be counted');
    expect(await metric('gapguard_admission_requests_total', { endpoint: 'validate', decision: 'error' })).to.equal(errorsBefore);
    const lines = server.logs().filter((l) => /abort/.test(String(l.msg)) || /abort/.test(String(l.error)));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.deep.include({ level: 'info', msg: 'admission upload aborted by the client', endpoint: 'validate' });
    expect(lines[0]).to.not.have.property('stack');
  });
});
