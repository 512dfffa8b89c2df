// Test harness for the webhook: servers started in-process over real HTTPS with a generated CA, an
// HTTPS client that trusts it, and AdmissionReview documents shaped like the kube-apiserver's.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { AdmissionOperation, AdmissionResponse, AdmissionReviewRequest, GroupVersionKind } from '../../src/admission/types.js';
import { createLogger } from '../../src/server/log.js';
import { ensureSelfSignedCertificate, type CertificateFiles } from '../../src/server/self-signed.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import type { KubeObject } from '../../src/workloads/locate.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface SendOptions {
  port: number;
  ca: Buffer | Buffer[];
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  agent?: Agent;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
}

/** One HTTPS request to a local server, resolved with whatever it answers. */
export function send(options: SendOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: options.port,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        path: options.path,
        ca: options.ca,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        agent: options.agent ?? false,
        headers: { 'content-type': 'application/json', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface TestServer {
  port: number;
  ca: Buffer;
  certs: CertificateFiles;
  /** Every log line the server wrote so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Raw log text, for "never contains" assertions. */
  logText(): string;
  /** Temporary directory of this server (certificates, policy files). */
  dir: string;
  post(path: string, body: unknown): Promise<HttpAnswer>;
  get(path: string): Promise<HttpAnswer>;
  server: RunningServer;
  close(): Promise<void>;
}

export type TestServerOptions = Partial<Omit<ServerOptions, 'logger' | 'policyFile'>> & {
  /** Written to a file in the server's directory and passed as --policy. */
  policy?: string;
  /** An existing directory to use instead of a new one. */
  dir?: string;
};

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { policy, dir: givenDir, ...serverOptions } = options;
  const dir = givenDir ?? mkdtempSync(join(tmpdir(), 'gapguard-server-'));
  const certs = await ensureSelfSignedCertificate(join(dir, 'certs'));
  let policyFile: string | undefined;
  if (policy !== undefined) {
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, policy);
  }
  const lines: string[] = [];
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: certs.certFile, keyFile: certs.keyFile },
    logger: createLogger('debug', (line) => lines.push(line)),
    watchIntervalMs: 100,
    ...(policyFile ? { policyFile } : {}),
    ...serverOptions,
  });
  const ca = readFileSync(certs.caFile);
  const agent = new Agent({ keepAlive: true, ca });
  const call = (path: string, body?: unknown) =>
    send({ port: server.port, ca, agent, path, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return {
    port: server.port,
    ca,
    certs,
    dir,
    server,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join(''),
    post: (path, body) => call(path, body),
    get: (path) => call(path),
    async close() {
      agent.destroy();
      await server.close();
      if (!givenDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const RESOURCES: Record<string, string> = {
  Pod: 'pods',
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  ReplicationController: 'replicationcontrollers',
  PodTemplate: 'podtemplates',
  ConfigMap: 'configmaps',
  Service: 'services',
};

export interface ReviewOptions {
  operation?: AdmissionOperation;
  oldObject?: unknown;
  namespace?: string;
  subResource?: string;
  dryRun?: boolean;
  uid?: string;
  /** Defaults to the object's apiVersion and kind. */
  kind?: GroupVersionKind;
}

function gvkOf(obj: KubeObject): GroupVersionKind {
  const apiVersion = String(obj.apiVersion ?? 'v1');
  const slash = apiVersion.indexOf('/');
  return { group: slash < 0 ? '' : apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind: String(obj.kind) };
}

/** An AdmissionReview as the kube-apiserver sends it for `object` (null for DELETE). */
export function reviewOf(object: KubeObject | null, options: ReviewOptions = {}): AdmissionReviewRequest {
  const operation = options.operation ?? 'CREATE';
  const source = object ?? (options.oldObject as KubeObject);
  const kind = options.kind ?? gvkOf(source);
  const resource = { group: kind.group, version: kind.version, resource: RESOURCES[kind.kind] ?? `${kind.kind.toLowerCase()}s` };
  const meta = (source.metadata ?? {}) as { name?: string; namespace?: string };
  const optionsKind = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions', CONNECT: 'PodExecOptions' }[operation];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? randomUUID(),
      kind,
      resource,
      ...(options.subResource ? { subResource: options.subResource, requestSubResource: options.subResource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(meta.name ? { name: meta.name } : {}),
      namespace: options.namespace ?? meta.namespace ?? 'default',
      operation,
      userInfo: { username: 'kubernetes-admin', uid: 'aws-iam-authenticator:1234', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: optionsKind, fieldManager: 'kubectl-client-side-apply' },
    },
  };
}

/** The response of an HTTP 200 AdmissionReview answer, checked for the shape the API server needs. */
export function admissionResponse(answer: HttpAnswer, uid: string): AdmissionResponse {
  expect(answer.status, answer.text).to.equal(200);
  expect(answer.headers['content-type']).to.match(/^application\/json/);
  const review = JSON.parse(answer.text) as { apiVersion: string; kind: string; response: AdmissionResponse };
  expect(review.apiVersion).to.equal('admission.k8s.io/v1');
  expect(review.kind).to.equal('AdmissionReview');
  expect(review.response.uid).to.equal(uid);
  expect(review.response.allowed).to.be.a('boolean');
  return review.response;
}

/** Posts a review to an endpoint and returns the checked response. */
export async function admitVia(server: TestServer, path: string, review: AdmissionReviewRequest): Promise<AdmissionResponse> {
  return admissionResponse(await server.post(path, review), review.request.uid);
}

/** The JSON Patch of a mutate response, decoded. */
export function decodedPatch(response: AdmissionResponse): { op: string; path: string; value?: unknown }[] {
  expect(response.patchType).to.equal('JSONPatch');
  return JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')) as { op: string; path: string; value?: unknown }[];
}

/** The value of one metric series in Prometheus text, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    const found = Object.fromEntries([...series.slice(brace + 1).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Polls `condition` until it holds, failing after `timeoutMs` (generous: tests run on a loaded 2-core machine). */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
