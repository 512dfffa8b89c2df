// Finds what cosign attached to an image digest, in the two formats it writes:
// - legacy tags next to the image: `sha256-<hex>.sig` (a manifest whose layers are simple-signing
//   payloads, the signature and certificate in annotations) and `sha256-<hex>.att` (layers that
//   are DSSE envelopes of in-toto statements);
// - Sigstore bundles attached as OCI 1.1 referrers (artifactType
//   application/vnd.dev.sigstore.bundle.v0.3+json), read through the referrers API or, for
//   registries without it (distribution 2.8), the `sha256-<hex>` tag-schema index.
// Nothing here is trusted yet: verify.ts checks every signature against the policy.
import type { ImageReference } from '../images/reference.js';
import { MANIFEST_ACCEPT, RegistryError, type RegistryClient } from '../registry/client.js';

const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
const BUNDLE_ARTIFACT_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.3)?\+json/;
/** A hostile registry could list thousands of signatures: each costs a fetch and a verification. */
const MAX_ARTIFACTS = 16;

/** A signature or attestation layer of a legacy `.sig`/`.att` manifest. */
export interface LegacyLayer {
  /** The layer blob: a simple-signing payload (.sig) or a DSSE envelope (.att). */
  body: Buffer;
  /** Base64 signature over the payload (.sig only; an envelope carries its own). */
  signature?: string;
  certificate?: string;
  chain?: string;
  /** cosign's Rekor bundle (signed entry timestamp and entry body), JSON. */
  rekorBundle?: string;
}

export interface FoundArtifacts {
  signatures: LegacyLayer[];
  attestations: LegacyLayer[];
  /** Sigstore bundles (JSON) attached as referrers of the digest. */
  bundles: unknown[];
  /** Where each kind was looked for, for the message when nothing verifies. */
  searched: string[];
}

/** `sha256:<hex>` as a tag: `sha256-<hex>`. */
function digestTag(digest: string): string {
  return digest.replace(':', '-');
}

function descriptors(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null).slice(0, MAX_ARTIFACTS) : [];
}

/** A manifest by tag, or undefined when the tag does not exist. */
async function optionalManifest(client: RegistryClient, repo: ImageReference, tag: string) {
  try {
    return await client.document(repo, 'manifests', tag, MANIFEST_ACCEPT);
  } catch (err) {
    if (err instanceof RegistryError && err.notFound) return undefined;
    throw err;
  }
}

async function legacyLayers(client: RegistryClient, repo: ImageReference, tag: string): Promise<LegacyLayer[]> {
  const manifest = await optionalManifest(client, repo, tag);
  if (!manifest) return [];
  const layers: LegacyLayer[] = [];
  for (const layer of descriptors(manifest.json.layers)) {
    if (typeof layer.digest !== 'string') continue;
    const annotations = (typeof layer.annotations === 'object' && layer.annotations !== null ? layer.annotations : {}) as Record<string, unknown>;
    const text = (key: string) => (typeof annotations[key] === 'string' && annotations[key] !== '' ? (annotations[key] as string) : undefined);
    const blob = await client.document(repo, 'blobs', layer.digest, '*/*').catch((err: unknown) => {
      // A blob that is not JSON is not a cosign payload: skip it rather than fail the image.
      if (err instanceof RegistryError && /not a JSON document/.test(err.message)) return undefined;
      throw err;
    });
    if (!blob) continue;
    const entry: LegacyLayer = { body: blob.body };
    for (const [key, field] of [
      [SIGNATURE_ANNOTATION, 'signature'],
      [CERTIFICATE_ANNOTATION, 'certificate'],
      [CHAIN_ANNOTATION, 'chain'],
      [REKOR_BUNDLE_ANNOTATION, 'rekorBundle'],
    ] as const) {
      const value = text(key);
      if (value !== undefined) entry[field] = value;
    }
    layers.push(entry);
  }
  return layers;
}

/** Bundles attached to the digest: referrers API first, else the tag-schema index. */
async function bundles(client: RegistryClient, repo: ImageReference, digest: string, searched: string[]): Promise<unknown[]> {
  let listed = await client.referrers(repo, digest);
  if (listed) {
    searched.push(`referrers of ${digest}`);
  } else {
    searched.push(`tag ${digestTag(digest)}`);
    listed = descriptors((await optionalManifest(client, repo, digestTag(digest)))?.json.manifests);
  }
  const found: unknown[] = [];
  for (const d of descriptors(listed)) {
    if (typeof d.artifactType !== 'string' || !BUNDLE_ARTIFACT_TYPE.test(d.artifactType) || typeof d.digest !== 'string') continue;
    const manifest = await client.document(repo, 'manifests', d.digest, MANIFEST_ACCEPT);
    // The referrer must be about this digest: an index entry can point at anything.
    const subject = manifest.json.subject as { digest?: unknown } | undefined;
    if (subject?.digest !== digest) continue;
    const layer = descriptors(manifest.json.layers)[0];
    if (typeof layer?.digest !== 'string') continue;
    found.push((await client.document(repo, 'blobs', layer.digest, '*/*')).json);
  }
  return found;
}

/**
 * Everything cosign attached to `digest` in the image's repository. Throws RegistryError when the
 * registry fails (not when a signature simply does not exist).
 */
export async function fetchArtifacts(client: RegistryClient, image: ImageReference, digest: string, withAttestations: boolean): Promise<FoundArtifacts> {
  const repo: ImageReference = { registry: image.registry, repository: image.repository };
  const searched = [`tag ${digestTag(digest)}.sig`];
  const [signatures, attestations, attached] = await Promise.all([
    legacyLayers(client, repo, `${digestTag(digest)}.sig`),
    withAttestations ? legacyLayers(client, repo, `${digestTag(digest)}.att`) : Promise.resolve([]),
    bundles(client, repo, digest, searched),
  ]);
  if (withAttestations) searched.push(`tag ${digestTag(digest)}.att`);
  return { signatures, attestations, bundles: attached, searched };
}
