// Image references parsed the way the container runtimes parse them (the distribution/reference
// grammar with Docker's normalisation), so that what gapguard judges is what the kubelet pulls.
// Comparing raw strings instead is how allow-lists get bypassed: `localhost:5000/app` has a port,
// not a tag, and `nginx` means `docker.io/library/nginx`.
import { memoize } from '../memo.js';

export interface ImageReference {
  /**
   * Registry host, with an optional port, as `canonicalRegistryHost` spells it (`docker.io` when
   * the reference names none).
   */
  readonly registry: string;
  /** Repository path inside the registry; Docker Hub single names live under `library/`. */
  readonly repository: string;
  readonly tag?: string;
  /** A valid content digest (`sha256:<64 hex>`); a reference with a malformed one does not parse. */
  readonly digest?: string;
}

export type ParsedImage = { readonly ok: true; readonly ref: ImageReference } | { readonly ok: false; readonly problem: string };

/** Docker Hub, under the name references use. */
export const DOCKER_HUB = 'docker.io';
const DEFAULT_REGISTRY = DOCKER_HUB;
/** Other names of Docker Hub: the legacy index (Docker's own normalisation) and its API host. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const OFFICIAL_NAMESPACE = 'library/';
const MAX_NAME_LENGTH = 255;
// Name, `:` and a 128-character tag, `@` and the longest digest: anything longer cannot be valid.
const MAX_REFERENCE_LENGTH = 600;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^\w[\w.-]{0,127}$/;
/** A bare image ID, which the runtimes refuse as a repository name. */
const IMAGE_ID = /^[a-f0-9]{64}$/;
/** The registered digest algorithms and their lowercase hex encodings (opencontainers/go-digest). */
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/**
 * Whether `text` is a valid content digest such as `sha256:` followed by 64 lowercase hex digits.
 * Memoized: the digests registry facts carry repeat on every evaluation.
 */
export const isDigest: (text: string) => boolean = memoize((text: string) => DIGEST.test(text));

/**
 * A registry host as every comparison of gapguard spells it (typosquats, the allow-list, registry
 * credentials and lookups): lowercase, as DNS names compare, and Docker Hub under its one name
 * `docker.io`, however a reference or a docker config.json writes it.
 */
export function canonicalRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DEFAULT_REGISTRY : lower;
}

/** Where a registry's API answers: Docker Hub's is not at the name references use. */
export function registryApiHost(canonicalHost: string): string {
  return canonicalHost === DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : canonicalHost;
}

/** A reference's parts as written, none of them checked yet. */
export interface ReferenceParts {
  /** The registry host as written, when the first path segment names one. */
  host?: string;
  path: string;
  tag?: string;
  digest?: string;
}

/**
 * Splits `[host[:port]/]path[:tag][@digest]` as the runtimes do, checking nothing: the parsed
 * references below and the policy's image patterns (engine/match.ts, stars kept) split alike.
 */
export function splitReference(text: string): ReferenceParts {
  let name = text;
  let digest: string | undefined;
  const at = text.indexOf('@');
  if (at !== -1) {
    digest = text.slice(at + 1);
    name = text.slice(0, at);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  // A colon before the last slash separates a registry port, not a tag (`localhost:5000/app`).
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const slash = name.indexOf('/');
  const first = slash === -1 ? undefined : name.slice(0, slash);
  // The first segment names a registry only if it could not be a repository path component:
  // it has a dot or a port, is localhost, or has upper case (which paths never have).
  const host = first !== undefined && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) ? first : undefined;
  return { host, path: host === undefined ? name : name.slice(slash + 1), tag, digest };
}

/** The registry and repository split parts name: docker.io when they name no host, where a single name lives under `library/`. */
export function nameOf(parts: ReferenceParts): { registry: string; repository: string } {
  const registry = parts.host === undefined ? DEFAULT_REGISTRY : canonicalRegistryHost(parts.host);
  const repository = registry === DEFAULT_REGISTRY && !parts.path.includes('/') ? OFFICIAL_NAMESPACE + parts.path : parts.path;
  return { registry, repository };
}

function parse(text: string): ParsedImage {
  if (text === '') return { ok: false, problem: 'the reference is empty' };
  if (text.length > MAX_REFERENCE_LENGTH) return { ok: false, problem: 'the reference is longer than any valid one' };
  if (IMAGE_ID.test(text)) return { ok: false, problem: 'a bare 64-hex image ID is not a repository name' };

  const parts = splitReference(text);
  const { host, path, tag, digest } = parts;
  if (digest !== undefined && !isDigest(digest)) {
    return { ok: false, problem: `the digest "${digest}" is malformed (sha256: and 64 lowercase hex digits expected)` };
  }
  if (tag !== undefined && !TAG.test(tag)) return { ok: false, problem: `the tag "${tag}" is invalid` };
  if (host !== undefined && !HOST.test(host)) return { ok: false, problem: `the registry host "${host}" is invalid` };
  if (path !== path.toLowerCase()) return { ok: false, problem: `the repository "${path}" must be lowercase` };
  if (!REPOSITORY.test(path)) return { ok: false, problem: `the repository "${path}" is invalid` };
  const { registry, repository } = nameOf(parts);
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    return { ok: false, problem: `the name is longer than ${MAX_NAME_LENGTH} characters` };
  }

  const ref: { registry: string; repository: string; tag?: string; digest?: string } = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return { ok: true, ref };
}

/**
 * Parses an image reference (`[registry[:port]/]path[:tag][@digest]`). The result is shared by
 * every caller that parses the same text: treat it as read-only.
 */
export const parseImageReference: (text: string) => ParsedImage = memoize(parse);

/**
 * Whether the reference names no version: `latest`, or no tag (the runtimes pull latest). Such a tag
 * is never pinned: the gap denies it, and lookups do not fetch its digest for the pin.
 */
export function floatingTag(ref: ImageReference): boolean {
  return ref.tag === undefined || ref.tag === 'latest';
}

/** `registry/repository`, the name a reference points at without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}
