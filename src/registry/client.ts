// OCI distribution client for the facts the gap checks need: which digest a tag points at (the
// digest-pin fix) and when the image was built (stale-image). Every document fetched is checked
// against its digest, so a registry or proxy cannot swap content under a pinned name.
import { createHash } from 'node:crypto';
import type { ImageFacts } from '../engine/types.js';
import { registryApiHost, type ImageReference } from '../images/reference.js';
import { httpRequest, type HttpResponse } from '../http-request.js';

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
export const MANIFEST_ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ');
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

export interface RegistryOptions {
  timeoutMs: number;
  /** Hosts spoken to over plain HTTP (a local test registry); every other host uses HTTPS. */
  plainHttp: string[];
  /** Extra CA certificates (PEM) trusted for registry TLS. */
  ca?: string;
  /** Basic credentials per registry host. */
  credentials: Record<string, { username: string; password: string }>;
  /** Platform picked from a multi-platform index for the build time. */
  platform: { os: string; architecture: string };
}

export class RegistryError extends Error {
  /** The registry said the manifest or blob does not exist (HTTP 404), as opposed to failing. */
  readonly notFound: boolean;
  constructor(message: string, notFound = false) {
    super(message);
    this.name = 'RegistryError';
    this.notFound = notFound;
  }
}

/** A manifest or blob as fetched: its bytes (checked against its digest), parsed as JSON. */
export interface RegistryDocument {
  digest: string;
  body: Buffer;
  json: Record<string, unknown>;
  contentType: string;
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string };
}

function sha256(body: Buffer): string {
  return 'sha256:' + createHash('sha256').update(body).digest('hex');
}

export class RegistryClient {
  /** Bearer tokens per registry and repository, reused until the registry refuses them. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: RegistryOptions) {}

  /** Resolves the tag (or digest) to the manifest digest and reads the image's build time. */
  async facts(image: ImageReference): Promise<ImageFacts> {
    const reference = image.digest ?? image.tag ?? 'latest';
    const top = await this.document(image, 'manifests', reference, MANIFEST_ACCEPT);
    if (image.digest && top.digest !== image.digest) {
      throw new RegistryError(`${image.registry}/${image.repository}@${image.digest}: the registry served content with digest ${top.digest}`);
    }
    let manifest = top.json;
    if (INDEX_TYPES.includes(String(manifest.mediaType ?? top.contentType))) {
      const chosen = this.pickPlatform((manifest.manifests as Descriptor[] | undefined) ?? []);
      if (!chosen?.digest) throw new RegistryError(`${image.registry}/${image.repository}:${reference}: the index lists no manifest`);
      manifest = (await this.document(image, 'manifests', chosen.digest, MANIFEST_TYPES.join(', '))).json;
    }
    const configDigest = (manifest.config as Descriptor | undefined)?.digest;
    if (!configDigest) throw new RegistryError(`${image.registry}/${image.repository}:${reference}: the manifest has no config`);
    const config = (await this.document(image, 'blobs', configDigest, '*/*')).json;
    const created = typeof config.created === 'string' ? new Date(config.created) : undefined;
    return { digest: top.digest, ...(created && !Number.isNaN(created.getTime()) ? { created } : {}) };
  }

  private pickPlatform(manifests: Descriptor[]): Descriptor | undefined {
    const { os, architecture } = this.options.platform;
    return manifests.find((m) => m.platform?.os === os && m.platform?.architecture === architecture) ?? manifests[0];
  }

  private url(image: ImageReference, path: string): URL {
    const scheme = this.options.plainHttp.includes(image.registry) ? 'http' : 'https';
    return new URL(`${scheme}://${registryApiHost(image.registry)}/v2/${image.repository}/${path}`);
  }

  /**
   * The OCI 1.1 referrers index of a digest, or undefined when the registry has no referrers API
   * (distribution 2.8 answers 404): callers then read the `sha256-<hex>` tag-schema index.
   */
  async referrers(image: ImageReference, digest: string): Promise<Record<string, unknown>[] | undefined> {
    const res = await this.authorizedGet(image, this.url(image, `referrers/${digest}`), INDEX_TYPES[0]!);
    if (res.status !== 200 || !String(res.headers['content-type'] ?? '').startsWith(INDEX_TYPES[0]!)) return undefined;
    try {
      const manifests = (JSON.parse(res.body.toString('utf8')) as { manifests?: unknown }).manifests;
      return Array.isArray(manifests) ? manifests.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null) : [];
    } catch {
      throw new RegistryError(`${image.registry}/${image.repository} referrers of ${digest}: not a JSON index`);
    }
  }

  /**
   * Fetches a manifest or blob, verifying that its bytes match the digest it is known by. Throws
   * RegistryError, with `notFound` set when the registry answered 404.
   */
  async document(image: ImageReference, kind: 'manifests' | 'blobs', reference: string, accept: string): Promise<RegistryDocument> {
    const res = await this.authorizedGet(image, this.url(image, `${kind}/${reference}`), accept);
    const where = `${image.registry}/${image.repository} ${kind.slice(0, -1)} ${reference}`;
    if (res.status === 404) throw new RegistryError(`${where}: not found`, true);
    if (res.status !== 200) throw new RegistryError(`${where}: the registry answered HTTP ${res.status}`);
    const digest = sha256(res.body);
    const claimed = res.headers['docker-content-digest'];
    const expected = reference.startsWith('sha256:') ? reference : typeof claimed === 'string' ? claimed : digest;
    if (expected !== digest) throw new RegistryError(`${where}: content does not match its digest ${expected}`);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new RegistryError(`${where}: not a JSON document`);
    }
    return { digest, body: res.body, json, contentType: String(res.headers['content-type'] ?? '').split(';')[0]! };
  }

  private async authorizedGet(image: ImageReference, url: URL, accept: string): Promise<HttpResponse> {
    const tokenKey = `${image.registry}/${image.repository}`;
    const get = (authorization?: string) =>
      httpRequest(url, {
        headers: { Accept: accept, ...(authorization ? { Authorization: authorization } : {}) },
        timeoutMs: this.options.timeoutMs,
        maxBytes: MAX_DOCUMENT_BYTES,
        ...(this.options.ca ? { tls: { ca: this.options.ca } } : {}),
        holdsProcess: false,
      }).catch((err: Error) => {
        throw new RegistryError(`${image.registry}: ${err.message}`);
      });
    const cached = this.tokens.get(tokenKey);
    const basic = this.basicAuth(image.registry);
    let res = await get(cached ? `Bearer ${cached}` : basic);
    if (res.status !== 401) return res;
    const challenge = String(res.headers['www-authenticate'] ?? '');
    if (!/^Bearer /i.test(challenge)) return res;
    const token = await this.bearerToken(image, challenge);
    this.tokens.set(tokenKey, token);
    res = await get(`Bearer ${token}`);
    return res;
  }

  private basicAuth(registry: string): string | undefined {
    const c = this.options.credentials[registry];
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
  }

  /** The token dance of the distribution spec: ask the realm for a pull token on the repository. */
  private async bearerToken(image: ImageReference, challenge: string): Promise<string> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) throw new RegistryError(`${image.registry}: authentication challenge without a realm`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', `repository:${image.repository}:pull`);
    const basic = this.basicAuth(image.registry);
    const res = await httpRequest(url, {
      headers: basic ? { Authorization: basic } : {},
      timeoutMs: this.options.timeoutMs,
      maxBytes: 64 * 1024,
      ...(this.options.ca ? { tls: { ca: this.options.ca } } : {}),
      holdsProcess: false,
    }).catch((err: Error) => {
      throw new RegistryError(`${image.registry} token service: ${err.message}`);
    });
    if (res.status !== 200) throw new RegistryError(`${image.registry} token service answered HTTP ${res.status}`);
    const body = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${image.registry} token service returned no token`);
    return token;
  }
}
