// A real OCI registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 (or another
// local address, for servers in Pods to reach), over
// HTTPS with a CA made by openssl for the run, optionally behind htpasswd basic auth or the token
// flow of the distribution spec, plus a way to
// push images (config, layer, manifest, index) through the registry's own HTTP API.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

export interface RunningRegistry {
  host: string;
  ca: string;
  /** The CA certificate as a file (what --registry-ca takes), removed by stop(). */
  caFile: string;
  stop(): Promise<void>;
  push(repo: string, tag: string, image: PushedImage | PushedImage[]): Promise<string>;
  /** Query strings the token service was asked with (token auth only). */
  tokenRequests: string[];
  /** The registry's own certificate and key, for a local server that must look like it. */
  tlsOptions(): { cert: Buffer; key: Buffer };
  /** A manifest's bytes as stored (OCI media types accepted), for tests that alter and re-push one. */
  manifest(repo: string, reference: string): Promise<Buffer>;
  /** A blob's bytes. */
  blob(repo: string, digest: string): Promise<Buffer>;
  /** Pushes a blob; returns its digest. */
  pushBlob(repo: string, body: Buffer): Promise<string>;
  /** Pushes manifest bytes as they are under a tag; returns their digest. */
  pushManifestBytes(repo: string, tag: string, body: Buffer, mediaType: string): Promise<string>;
}

export interface PushedImage {
  created: string;
  os?: string;
  architecture?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function digestOf(body: Buffer): string {
  return 'sha256:' + createHash('sha256').update(body).digest('hex');
}

function makeCertificates(dir: string, address: string): void {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=gapguard test CA', '-keyout', 'ca.key', '-out', 'ca.crt']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${address}`, '-keyout', 'tls.key', '-out', 'tls.csr']);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${address},DNS:localhost\n`);
  run(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'tls.crt']);
}

export type RegistryAuth =
  | { kind: 'none' }
  /** htpasswd basic auth. */
  | { kind: 'basic'; username: string; password: string }
  /** The distribution token flow: a token service on 127.0.0.1 hands out signed pull tokens to anyone. */
  | { kind: 'token' };

/** RS256 JWT signed with the test CA's key; the registry trusts it through `x5c` and rootcertbundle. */
function signToken(dir: string, service: string, repository: string, actions: string[]): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const der = execFileSync('openssl', ['x509', '-in', join(dir, 'ca.crt'), '-outform', 'DER']);
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] });
  const claims = b64({ iss: 'gapguard-test-issuer', sub: 'anonymous', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: String(Math.random()), access: [{ type: 'repository', name: repository, actions }] });
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(readFileSync(join(dir, 'ca.key'))).toString('base64url');
  return `${header}.${claims}.${signature}`;
}

async function startTokenService(dir: string): Promise<{ realm: string; close(): Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.search);
    const scope = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '');
    if (!scope) {
      res.writeHead(400).end();
      return;
    }
    const token = signToken(dir, url.searchParams.get('service') ?? '', scope[1]!, scope[2]!.split(','));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { realm: `http://127.0.0.1:${port}/token`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** `address`: a local IP address to listen on, for clients outside the host's loopback (Pods). */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, address = '127.0.0.1'): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'gapguard-registry-'));
  makeCertificates(dir, address);
  const port = await freePort();
  const tokens = auth.kind === 'token' ? await startTokenService(dir) : undefined;
  const authBlock =
    auth.kind === 'basic'
      ? `auth:\n  htpasswd:\n    realm: gapguard-test\n    path: ${join(dir, 'htpasswd')}\n`
      : tokens
        ? `auth:\n  token:\n    realm: ${tokens.realm}\n    service: gapguard-test-registry\n    issuer: gapguard-test-issuer\n    rootcertbundle: ${join(dir, 'ca.crt')}\n`
        : '';
  if (auth.kind === 'basic') writeFileSync(join(dir, 'htpasswd'), `${auth.username}:${bcrypt.hashSync(auth.password, 10)}\n`);
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
      `http:\n  addr: ${address}:${port}\n  tls:\n    certificate: ${join(dir, 'tls.crt')}\n    key: ${join(dir, 'tls.key')}\n${authBlock}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const host = `${address}:${port}`;
  const basic = auth.kind === 'basic' ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;

  const call = (method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; location?: string; body: Buffer }>((resolve, reject) => {
      const url = path.startsWith('https://') ? new URL(path) : new URL(`https://${host}${path}`);
      const repo = /^\/v2\/(.+)\/(?:blobs|manifests)\//.exec(url.pathname)?.[1];
      const authorization = tokens && repo ? `Bearer ${signToken(dir, 'gapguard-test-registry', repo, ['pull', 'push'])}` : basic;
      const req = request(url, { method, ca, headers: { ...headers, ...(authorization ? { Authorization: authorization } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ...(res.headers.location ? { location: res.headers.location } : {}) }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await call('GET', '/v2/').then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const pushBlob = async (repo: string, body: Buffer): Promise<string> => {
    const digest = digestOf(body);
    const start = await call('POST', `/v2/${repo}/blobs/uploads/`);
    if (start.status !== 202 || !start.location) throw new Error(`blob upload start: HTTP ${start.status}`);
    const location = new URL(start.location, `https://${host}`);
    location.searchParams.set('digest', digest);
    const put = await call('PUT', location.toString(), body, { 'Content-Type': 'application/octet-stream' });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
    return digest;
  };
  const pushManifest = (repo: string, reference: string, manifest: unknown, mediaType: string): Promise<string> =>
    pushManifestBytes(repo, reference, Buffer.from(JSON.stringify(manifest)), mediaType);
  const pushManifestBytes = async (repo: string, reference: string, body: Buffer, mediaType: string): Promise<string> => {
    const put = await call('PUT', `/v2/${repo}/manifests/${reference}`, body, { 'Content-Type': mediaType });
    if (put.status !== 201) throw new Error(`manifest upload: HTTP ${put.status}`);
    return digestOf(body);
  };
  const pushOne = async (repo: string, reference: string, image: PushedImage): Promise<{ digest: string; size: number }> => {
    const layer = Buffer.from(`layer of ${repo} ${image.created} ${image.architecture ?? 'amd64'}`);
    const layerDigest = await pushBlob(repo, layer);
    const config = Buffer.from(
      JSON.stringify({ created: image.created, architecture: image.architecture ?? 'amd64', os: image.os ?? 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }),
    );
    const configDigest = await pushBlob(repo, config);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    };
    const digest = await pushManifest(repo, reference, manifest, manifest.mediaType);
    return { digest, size: Buffer.byteLength(JSON.stringify(manifest)) };
  };

  let stopping: Promise<void> | undefined;
  return {
    host,
    ca,
    caFile: join(dir, 'ca.crt'),
    async push(repo, tag, image) {
      if (!Array.isArray(image)) return (await pushOne(repo, tag, image)).digest;
      const manifests = [];
      for (const img of image) {
        const { digest, size } = await pushOne(repo, `${tag}-${img.architecture ?? 'amd64'}`, img);
        manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: { os: img.os ?? 'linux', architecture: img.architecture ?? 'amd64' } });
      }
      const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
      return pushManifest(repo, tag, index, index.mediaType);
    },
    tokenRequests: tokens?.requests ?? [],
    tlsOptions: () => ({ cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) }),
    async manifest(repo, reference) {
      const res = await call('GET', `/v2/${repo}/manifests/${reference}`, undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' });
      if (res.status !== 200) throw new Error(`manifest ${repo}:${reference}: HTTP ${res.status}`);
      return res.body;
    },
    async blob(repo, digest) {
      const res = await call('GET', `/v2/${repo}/blobs/${digest}`);
      if (res.status !== 200) throw new Error(`blob ${repo}@${digest}: HTTP ${res.status}`);
      return res.body;
    },
    pushBlob,
    pushManifestBytes,
    // Idempotent: a test may stop the registry to simulate an outage before its after hook does.
    stop() {
      stopping ??= (async () => {
        await tokens?.close();
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
