// The webhook with registry lookups on, over real HTTPS, against a real OCI registry (Debian's
// docker-registry): stale-image with the image's age, the digest pin as a mutate patch, and what a
// registry that is down or never answers does to an answer (within the budget: the tags it could not
// pin are denied, and a note says why).
// The one fault the real registry cannot produce, a registry that accepts and never answers, is a
// bare TCP server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import type { AdmissionResponse } from '../../src/admission/types.js';
import { imageLookupConfig } from '../../src/cli/image-lookup-flags.js';
import type { ImageLookupConfig } from '../../src/registry/lookups.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { hardenedPod } from '../admission/objects.js';
import { startRegistry, type RunningRegistry } from '../registry/registry-server.js';
import { admitVia, decodedPatch, metricValue, reviewOf, startTestServer, type TestServer } from './harness.js';

const DAY_MS = 24 * 3600_000;

/** A pod with no gap judged offline except its unpinned images. */
function podWith(...images: string[]): KubeObject {
  const pod = hardenedPod();
  const spec = pod.spec as { containers: Record<string, unknown>[] };
  const template = spec.containers[0]!;
  spec.containers = images.map((image, i) => ({ ...structuredClone(template), name: i === 0 ? 'app' : `app${i}`, image }));
  return pod;
}

function said(response: AdmissionResponse): string[] {
  return (response.warnings ?? []).concat(response.status?.message ?? '');
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ host: string; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('webhook with registry lookups (real docker-registry over HTTPS)', function () {
  this.timeout(60_000);
  let reg: RunningRegistry;
  let lookups: ImageLookupConfig;
  let server: TestServer;
  before(async () => {
    reg = await startRegistry();
    lookups = { budgetMs: 1500, plainHttp: [], ca: reg.ca, credentials: {} };
    server = await startTestServer({ imageLookups: lookups });
  });
  after(async () => {
    await server?.close();
    await reg?.stop();
  });

  it('reports an image older than maxImageAgeDays with its age', async () => {
    await reg.push('shop/old', '1', { created: new Date(Date.now() - 400 * DAY_MS).toISOString() });
    const image = `${reg.host}/shop/old:1`;
    const response = await admitVia(server, '/validate', reviewOf(podWith(image)));
    expect(response.warnings).to.include('stale-image/old-image: container "app" image, built 400 days ago');
    const fresh = `${reg.host}/shop/fresh-for-stale:1`;
    await reg.push('shop/fresh-for-stale', '1', { created: new Date().toISOString() });
    const freshResponse = await admitVia(server, '/validate', reviewOf(podWith(fresh)));
    expect(said(freshResponse).join('\n')).not.to.include('stale-image');
  });

  it('pins a tag to the digest the registry serves, as a mutate patch; the patched pod has no unpinned image', async () => {
    const digest = await reg.push('shop/web', '2.1', { created: new Date().toISOString() });
    const image = `${reg.host}/shop/web:2.1`;
    const pod = podWith(image);
    const before = await admitVia(server, '/validate', reviewOf(pod));
    expect(before.allowed).to.equal(false);
    expect(before.status?.message).to.include('unverified-image/not-pinned');

    const patch = decodedPatch(await admitVia(server, '/mutate', reviewOf(pod)));
    expect(patch).to.deep.equal([{ op: 'replace', path: '/spec/containers/0/image', value: `${image}@${digest}` }]);
    const patched = jsonpatch.applyPatch(structuredClone(pod), patch as jsonpatch.Operation[]).newDocument;
    const after = await admitVia(server, '/validate', reviewOf(patched));
    expect(after.allowed, after.status?.message).to.equal(true);
    expect(after.warnings ?? []).to.deep.equal([]);
    expect((await admitVia(server, '/mutate', reviewOf(patched))).patch).to.equal(undefined);
  });

  it('denies latest and a missing tag although the registry serves them: they name no version to pin', async () => {
    await reg.push('shop/floating', 'latest', { created: new Date().toISOString() });
    for (const image of [`${reg.host}/shop/floating:latest`, `${reg.host}/shop/floating`]) {
      const pod = podWith(image);
      expect((await admitVia(server, '/mutate', reviewOf(pod))).patch, image).to.equal(undefined);
      const response = await admitVia(server, '/validate', reviewOf(pod));
      expect(response.allowed, image).to.equal(false);
      expect(response.status?.message).to.include('unverified-image/not-pinned').and.include('Name the version you tested');
    }
  });

  it('counts lookups by outcome, reports the cache size, and looks nothing up for requests it does not judge', async () => {
    await reg.push('shop/counted', '1', { created: new Date().toISOString() });
    const pod = podWith(`${reg.host}/shop/counted:1`);
    const metric = async (outcome: string) => metricValue((await server.get('/metrics')).text, 'gapguard_image_lookups_total', { outcome });
    const [hits, resolved] = [await metric('hit'), await metric('miss-resolved')];
    await admitVia(server, '/validate', reviewOf(pod));
    await admitVia(server, '/validate', reviewOf(pod));
    expect(await metric('miss-resolved')).to.equal(resolved + 1);
    expect(await metric('hit')).to.equal(hits + 1);
    expect(metricValue((await server.get('/metrics')).text, 'gapguard_image_facts_cache_entries', {})).to.be.at.least(1);

    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' } };
    await admitVia(server, '/validate', reviewOf(configMap));
    await admitVia(server, '/validate', reviewOf(pod, { operation: 'DELETE', oldObject: pod }));
    expect(await metric('hit')).to.equal(hits + 1);
  });

  it('with the registry stopped: answers within the budget; the tag it cannot pin is denied (allowed with a warning without lookups), with a note naming the image', async () => {
    const down = await startRegistry();
    await down.push('shop/gone', '1', { created: new Date(Date.now() - 400 * DAY_MS).toISOString() });
    const image = `${down.host}/shop/gone:1`;
    await down.stop();
    const offline = await startTestServer();
    try {
      const pod = podWith(image);
      for (const path of ['/validate', '/mutate']) {
        const review = reviewOf(pod);
        const { value: withLookups, ms } = await timed(admitVia(server, path, review));
        expect(ms, path).to.be.below(lookups.budgetMs + 500);
        const without = await admitVia(offline, path, review);
        if (path === '/mutate') {
          expect(withLookups, path).to.deep.equal(without);
          expect(withLookups.patch).to.equal(undefined);
          continue;
        }
        expect(without.allowed).to.equal(true);
        expect(without.warnings).to.deep.equal(['unverified-image/not-pinned: container "app" image']);
        expect(withLookups.allowed).to.equal(false);
        expect(withLookups.status?.message).to.include('unverified-image/not-pinned').and.include('reach and log in to its registry');
        expect(withLookups.warnings).to.deep.equal([`no registry facts for "${image}" (lookup failed): stale-image and digest pin skipped`]);
      }
      expect(server.logs().some((l) => l.msg === 'image lookup failed' && l.image === image && /ECONNREFUSED/.test(String(l.error)))).to.equal(true);
      const admission = server.logs().filter((l) => l.msg === 'admission' && Array.isArray(l.imagesWithoutFacts));
      expect(admission.at(-1)?.imagesWithoutFacts).to.deep.equal([`${image} (failed)`]);
    } finally {
      await offline.close();
    }
  });

  it('with a registry that never answers: every image waits at once, and the answer comes at the budget', async () => {
    const silent = await silentServer();
    const budgetMs = 400;
    const impatient = await startTestServer({ imageLookups: { ...lookups, budgetMs } });
    try {
      const images = ['a', 'b', 'c'].map((name) => `${silent.host}/shop/${name}:1`);
      const { value: response, ms } = await timed(admitVia(impatient, '/validate', reviewOf(podWith(...images))));
      expect(ms).to.be.at.least(budgetMs - 20).and.below(budgetMs + 400);
      for (const image of images) expect(response.warnings).to.include(`no registry facts for "${image}" (lookup timed out): stale-image and digest pin skipped`);
      const metrics = (await impatient.get('/metrics')).text;
      expect(metricValue(metrics, 'gapguard_image_lookups_total', { outcome: 'timed-out' })).to.equal(3);
    } finally {
      await impatient.close();
      await silent.close();
    }
  });
});

describe('webhook with registry lookups: credentials (real docker-registry with basic auth)', function () {
  this.timeout(60_000);
  const USER = 'puller';
  const PASSWORD = 'Pa55-word-never-logged';
  const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  let reg: RunningRegistry;
  let dir: string;
  before(async () => {
    reg = await startRegistry({ kind: 'basic', username: USER, password: PASSWORD });
    dir = mkdtempSync(join(tmpdir(), 'gapguard-auth-'));
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with a docker config.json, and no response, log line or metric carries the credentials', async () => {
    const digest = await reg.push('private/app', '1', { created: new Date(Date.now() - 200 * DAY_MS).toISOString() });
    const authFile = join(dir, 'config.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [`https://${reg.host}`]: { auth: AUTH } } }));
    // A budget no loaded machine runs out of: this test is about credentials, not the budget.
    const config = imageLookupConfig({ 'resolve-images': true, 'registry-auth': authFile, 'registry-ca': reg.caFile }, 10_000)!;
    const server = await startTestServer({ imageLookups: config });
    const texts: string[] = [];
    try {
      const image = `${reg.host}/private/app:1`;
      const pod = podWith(image, `${reg.host}/private/app:missing`);
      const validate = await server.post('/validate', reviewOf(pod));
      const mutate = await server.post('/mutate', reviewOf(pod));
      texts.push(validate.text, mutate.text, Buffer.from((JSON.parse(mutate.text) as { response: AdmissionResponse }).response.patch!, 'base64').toString());
      expect(texts.join('\n')).to.include(`${image}@${digest}`).and.include('built 200 days ago');
      expect(server.logs().some((l) => l.msg === 'image lookup failed' && /not found/.test(String(l.error)))).to.equal(true);
      expect(server.logs().find((l) => l.msg === 'image lookups on')).to.include({ budgetMs: 10_000, extraCa: true });
      texts.push(server.logText(), (await server.get('/metrics')).text, (await server.get('/readyz')).text);
    } finally {
      await server.close();
    }
    const everything = texts.join('\n');
    for (const secret of [PASSWORD, AUTH, `${USER}:${PASSWORD}`]) expect(everything).not.to.include(secret);
  });
});
