// The registry client against a real OCI registry (Debian's docker-registry) over real HTTPS:
// tag to digest, build time, multi-platform indexes, basic and token auth; faults the real
// registry cannot produce (a hang, a digest lie) come from tiny local servers.
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { ImageFactsCache } from '../../src/registry/cache.js';
import { RegistryClient, RegistryError, type RegistryOptions } from '../../src/registry/client.js';
import { factsTtlMs } from '../../src/registry/lookups.js';
import { startRegistry, type RunningRegistry } from './registry-server.js';

function client(reg: { ca: string }, extra: Partial<RegistryOptions> = {}): RegistryClient {
  return new RegistryClient({ timeoutMs: 3000, plainHttp: [], ca: reg.ca, credentials: {}, platform: { os: 'linux', architecture: 'amd64' }, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('registry client (real docker-registry over HTTPS)', function () {
  this.timeout(60_000);
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => reg?.stop());

  it('resolves a tag to the manifest digest and reads the build time', async () => {
    const digest = await reg.push('team/app', '1.0', { created: '2026-01-02T03:04:05Z' });
    const facts = await client(reg).facts({ registry: reg.host, repository: 'team/app', tag: '1.0' });
    expect(facts.digest).to.equal(digest);
    expect(facts.created?.toISOString()).to.equal('2026-01-02T03:04:05.000Z');
  });

  it('pins a multi-platform image to its index digest and dates it by the chosen platform', async () => {
    const digest = await reg.push('team/multi', '2.0', [
      { created: '2025-05-05T00:00:00Z', architecture: 'arm64' },
      { created: '2026-06-06T00:00:00Z', architecture: 'amd64' },
    ]);
    const amd = await client(reg).facts({ registry: reg.host, repository: 'team/multi', tag: '2.0' });
    expect(amd.digest).to.equal(digest);
    expect(amd.created?.toISOString()).to.equal('2026-06-06T00:00:00.000Z');
    const arm = await client(reg, { platform: { os: 'linux', architecture: 'arm64' } }).facts({ registry: reg.host, repository: 'team/multi', tag: '2.0' });
    expect(arm.created?.toISOString()).to.equal('2025-05-05T00:00:00.000Z');
  });

  it('looks an image up by digest and checks the content against it', async () => {
    const digest = await reg.push('team/bydigest', 'v1', { created: '2026-03-03T00:00:00Z' });
    const facts = await client(reg).facts({ registry: reg.host, repository: 'team/bydigest', digest });
    expect(facts.digest).to.equal(digest);
  });

  it('says clearly when a tag or repository does not exist', async () => {
    const err = await rejection(client(reg).facts({ registry: reg.host, repository: 'team/app', tag: 'nope' }));
    expect(err).to.be.instanceOf(RegistryError);
    expect(err.message).to.equal(`${reg.host}/team/app manifest nope: not found`);
  });

  it('refuses a registry whose certificate it does not trust', async () => {
    const err = await rejection(client({ ca: '' }).facts({ registry: reg.host, repository: 'team/app', tag: '1.0' }));
    expect(err).to.be.instanceOf(RegistryError);
    expect(err.message).to.match(/certificate/i);
  });

  it('reports a registry that is down, fast', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await rejection(client(reg).facts({ registry: `127.0.0.1:${port}`, repository: 'team/app', tag: '1.0' }));
    expect(err.message).to.match(/ECONNREFUSED/);
    expect(Date.now() - started).to.be.below(3000);
  });

  it('gives up on a registry that never answers after its timeout (a fault the real registry cannot produce)', async () => {
    const hang = createServer((socket) => socket.on('error', () => undefined)).listen(0, '127.0.0.1');
    await new Promise((r) => hang.once('listening', r));
    try {
      const port = (hang.address() as { port: number }).port;
      const err = await rejection(client(reg, { timeoutMs: 300 }).facts({ registry: `127.0.0.1:${port}`, repository: 'x/y', tag: '1' }));
      expect(err.message).to.equal(`127.0.0.1:${port}: no answer from 127.0.0.1:${port} within 300 ms`);
    } finally {
      hang.close();
    }
  });

  it('rejects content that does not match the digest the registry claims (a lying registry)', async () => {
    const liar = createHttpsServer(reg.tlsOptions(), (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': 'sha256:' + '0'.repeat(64) });
      res.end(JSON.stringify({ schemaVersion: 2, config: { digest: 'sha256:' + '1'.repeat(64) } }));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => liar.once('listening', r));
    try {
      const host = `127.0.0.1:${(liar.address() as { port: number }).port}`;
      const err = await rejection(client(reg).facts({ registry: host, repository: 'x/y', tag: '1' }));
      expect(err.message).to.equal(`${host}/x/y manifest 1: content does not match its digest sha256:${'0'.repeat(64)}`);
    } finally {
      liar.close();
    }
  });

  describe('ImageFactsCache', () => {
    it('looks each image up once however many ask at once, and serves later asks from memory', async () => {
      await reg.push('team/cached', '1', { created: '2026-01-01T00:00:00Z' });
      let lookups = 0;
      const c = client(reg);
      const cache = new ImageFactsCache(
        (image) => {
          lookups++;
          return c.facts({ registry: reg.host, repository: image, tag: '1' });
        },
        { ttlMs: 60_000, failureTtlMs: 1000, maxEntries: 10 },
      );
      const all = await Promise.all([1, 2, 3].map(() => cache.prefetch(['team/cached', 'team/cached'], 5000)));
      expect(lookups).to.equal(1);
      expect(all.map((r) => r.get('team/cached')?.outcome)).to.deep.equal(['miss-resolved', 'miss-resolved', 'miss-resolved']);
      for (const r of all) {
        const lookup = r.get('team/cached')!;
        expect('facts' in lookup && lookup.facts.created?.toISOString()).to.equal('2026-01-01T00:00:00.000Z');
      }
      expect(cache.peek('team/cached')).to.not.equal(undefined);
      expect((await cache.prefetch(['team/cached'], 5000)).get('team/cached')?.outcome).to.equal('hit');
      expect(lookups).to.equal(1);
    });

    it('remembers a failure briefly, returns within its budget, and bounds its size', async () => {
      let now = 0;
      let lookups = 0;
      const cache = new ImageFactsCache(
        (image) => {
          lookups++;
          return image === 'slow' ? new Promise(() => undefined) : Promise.reject(new Error(`${image} is down`));
        },
        { ttlMs: 60_000, failureTtlMs: 1000, maxEntries: 2 },
        () => now,
      );
      const first = await cache.prefetch(['down'], 1000);
      expect(first.get('down')).to.deep.equal({ outcome: 'failed', error: 'down is down' });
      expect((await cache.prefetch(['down'], 1000)).get('down')).to.deep.equal({ outcome: 'failed', error: 'down is down' });
      expect(lookups).to.equal(1);
      now = 2000;
      await cache.prefetch(['down'], 1000);
      expect(lookups).to.equal(2);
      const started = Date.now();
      const slow = await cache.prefetch(['slow'], 50);
      expect(Date.now() - started).to.be.below(1000);
      expect(slow.get('slow')).to.deep.equal({ outcome: 'timed-out' });
      await cache.prefetch(['a', 'b', 'c'], 1000);
      expect(cache.size).to.be.at.most(2);
    });

    it('keeps each image as long as its own time to live says', async () => {
      let now = 0;
      const looked: string[] = [];
      const cache = new ImageFactsCache(
        (image) => {
          looked.push(image);
          return Promise.resolve({ digest: `sha256:${'1'.repeat(64)}` });
        },
        { ttlMs: (_facts, image) => (image === 'long' ? 10_000 : 1000), failureTtlMs: 1000, maxEntries: 10 },
        () => now,
      );
      await cache.prefetch(['long', 'short'], 1000);
      now = 2000;
      const later = await cache.prefetch(['long', 'short'], 1000);
      expect([later.get('long')?.outcome, later.get('short')?.outcome]).to.deep.equal(['hit', 'miss-resolved']);
      expect(looked).to.deep.equal(['long', 'short', 'short']);
    });

    it("remembers a tag's facts for minutes and a digest's for a day", () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      expect(factsTtlMs('registry.example.com/shop/web:2.4.1')).to.equal(5 * 60_000);
      expect(factsTtlMs('nginx')).to.equal(5 * 60_000);
      expect(factsTtlMs(`registry.example.com/shop/web@${digest}`)).to.equal(24 * 60 * 60_000);
      // The digest decides what runs whatever the tag says, so its content is what was looked up.
      expect(factsTtlMs(`registry.example.com/shop/web:2.4.1@${digest}`)).to.equal(24 * 60 * 60_000);
      expect(factsTtlMs('Not A Reference')).to.equal(5 * 60_000);
    });
  });
});

describe('registry client: authentication (real docker-registry)', function () {
  this.timeout(60_000);

  it('logs in with basic credentials, and says so when they are missing', async () => {
    const reg = await startRegistry({ kind: 'basic', username: 'ci', password: 's3cret-pass' });
    try {
      const digest = await reg.push('team/private', '1', { created: '2026-01-01T00:00:00Z' });
      const ok = await client(reg, { credentials: { [reg.host]: { username: 'ci', password: 's3cret-pass' } } }).facts({ registry: reg.host, repository: 'team/private', tag: '1' });
      expect(ok.digest).to.equal(digest);
      const err = await rejection(client(reg).facts({ registry: reg.host, repository: 'team/private', tag: '1' }));
      expect(err.message).to.equal(`${reg.host}/team/private manifest 1: the registry answered HTTP 401`);
      expect(err.message).not.to.include('s3cret');
    } finally {
      await reg.stop();
    }
  });

  it('follows the token flow of the distribution spec and reuses the token', async () => {
    const reg = await startRegistry({ kind: 'token' });
    try {
      const digest = await reg.push('team/tokened', '1', { created: '2026-01-01T00:00:00Z' });
      const before = reg.tokenRequests.length;
      const c = client(reg);
      const facts = await c.facts({ registry: reg.host, repository: 'team/tokened', tag: '1' });
      expect(facts.digest).to.equal(digest);
      const asked = reg.tokenRequests.slice(before);
      expect(asked).to.have.length(1);
      expect(asked[0]).to.include('scope=repository%3Ateam%2Ftokened%3Apull').and.include('service=gapguard-test-registry');
      await c.facts({ registry: reg.host, repository: 'team/tokened', tag: '1' });
      expect(reg.tokenRequests.length - before).to.equal(1);
    } finally {
      await reg.stop();
    }
  });
});
