// Registry facts for the images an evaluation is about to judge, shared by the webhook and the
// scanner: which images need facts under the policy, one cache for every request, and the note an
// answer carries when an image's facts did not arrive in time. The checks stay synchronous: facts
// are fetched first, then the engine runs on whatever arrived.
import { ruleSettings } from '../engine/engine.js';
import type { ImageFacts, ObjectResult } from '../engine/types.js';
import { floatingTag, parseImageReference } from '../images/reference.js';
import type { Policy } from '../policy/types.js';
import { requirementsFor } from '../signatures/policy.js';
import { SIGNATURE_RULES } from '../signatures/rules.js';
import { SignatureVerifier, type VerificationSubject } from '../signatures/service.js';
import type { ImageVerification } from '../signatures/types.js';
import { ImageFactsCache, type ImageLookup } from './cache.js';
import { RegistryClient, type RegistryOptions } from './client.js';

export interface ImageLookupConfig {
  /** How long one evaluation waits for facts; images without facts by then are judged without. */
  budgetMs: number;
  /** Hosts spoken to over plain HTTP (development registries only). */
  plainHttp: string[];
  /** Extra CA certificates (PEM) trusted for registry TLS. */
  ca?: string;
  /** Basic credentials per registry host; never logged. */
  credentials: RegistryOptions['credentials'];
}

/**
 * Per image: how its lookup went. Images that need no facts are absent. An image that must be
 * signed carries its verification: in its facts, or beside a failed lookup to say why there is none.
 */
export type ImageLookups = ReadonlyMap<string, ImageLookup & { verification?: ImageVerification }>;

const TAG_FACTS_TTL_MS = 5 * 60_000;
const DIGEST_FACTS_TTL_MS = 24 * 60 * 60_000;

/**
 * How long an image's facts are remembered: a tag's for minutes, since it can move to a new digest;
 * a digest's for a day, since its content is checked against the digest and cannot change (a
 * refetch every few minutes cost a pod's admission a registry round trip for nothing).
 */
export function factsTtlMs(image: string): number {
  const parsed = parseImageReference(image);
  return parsed.ok && parsed.ref.digest !== undefined ? DIGEST_FACTS_TTL_MS : TAG_FACTS_TTL_MS;
}

/** Failures briefly, so an outage is not hammered. */
const CACHE_OPTIONS = { ttlMs: (_facts: ImageFacts, image: string) => factsTtlMs(image), failureTtlMs: 15_000, maxEntries: 10_000 };
/** Each registry call; a lookup outlives the budget of the request that started it and fills the cache. */
const CALL_TIMEOUT_MS = 10_000;
const NO_LOOKUPS: ImageLookups = new Map();

/** Whether the policy pins version tags to digests: the pin fix of unverified-image/not-pinned is on. */
export function pinsTags(policy: Policy): boolean {
  const pinRule = ruleSettings(policy, { gap: 'unverified-image', rule: 'unverified-image/not-pinned' });
  return pinRule.action !== 'off' && pinRule.fix;
}

/**
 * The images whose facts the policy can use: build times for stale-image (every image), digests
 * for the pin fix of unverified-image/not-pinned (images with a version tag and no digest; latest
 * and no tag are never pinned). References that do not parse are not looked up; unverified-image
 * reports them.
 */
function imagesNeedingFacts(images: readonly string[], policy: Policy, signed: ReadonlyMap<string, unknown>): string[] {
  const stale = ruleSettings(policy, { gap: 'stale-image', rule: 'stale-image/old-image' }).action !== 'off';
  const pin = pinsTags(policy);
  return images.filter((image) => {
    const parsed = parseImageReference(image);
    if (!parsed.ok) return false;
    if (stale) return true;
    if (parsed.ref.digest !== undefined) return false;
    // An image to verify by tag needs the tag's digest: that digest is verified, and pinned.
    return signed.has(image) || (pin && !floatingTag(parsed.ref));
  });
}

/** The images that fall under a signature requirement, with those requirements. */
function imagesNeedingSignatures(images: readonly string[], policy: Policy): Map<string, Omit<VerificationSubject, 'digest'>> {
  const signed = new Map<string, Omit<VerificationSubject, 'digest'>>();
  const judged = SIGNATURE_RULES.some((rule) => ruleSettings(policy, { gap: 'unverified-image', rule }).action !== 'off');
  if (policy.unverifiedImage.signatures.length === 0 || !judged) return signed;
  for (const image of images) {
    const parsed = parseImageReference(image);
    if (!parsed.ok) continue;
    const requirements = requirementsFor(policy.unverifiedImage.signatures, image);
    if (requirements.length) signed.set(image, { ref: parsed.ref, requirements });
  }
  return signed;
}

export class ImageLookupService {
  private readonly cache: ImageFactsCache;
  private readonly signatures: SignatureVerifier;

  /** `onFailure` hears each failed lookup once (not each request that finds it in the cache). */
  constructor(
    readonly config: ImageLookupConfig,
    onFailure?: (image: string, error: string) => void,
  ) {
    const client = new RegistryClient({
      timeoutMs: CALL_TIMEOUT_MS,
      plainHttp: config.plainHttp,
      ...(config.ca ? { ca: config.ca } : {}),
      credentials: config.credentials,
      platform: { os: 'linux', architecture: 'amd64' },
    });
    this.signatures = new SignatureVerifier(client);
    this.cache = new ImageFactsCache(async (image) => {
      const parsed = parseImageReference(image);
      if (!parsed.ok) throw new Error(`not a valid image reference: ${parsed.problem}`);
      try {
        return await client.facts(parsed.ref);
      } catch (err) {
        onFailure?.(image, (err as Error).message);
        throw err;
      }
    }, CACHE_OPTIONS);
  }

  /** Images and signature verdicts in the caches. */
  get cacheSize(): number {
    return this.cache.size + this.signatures.cacheSize;
  }

  /**
   * Looks up the images the policy needs facts for, then verifies the signatures of those that
   * must be signed: the digest verified is the one the reference names, or the one its tag
   * resolved to in this very lookup (the digest the pin fix writes). Waits at most the budget.
   */
  async lookUp(images: readonly string[], policy: Policy): Promise<ImageLookups> {
    const started = Date.now();
    const signed = imagesNeedingSignatures(images, policy);
    const wanted = imagesNeedingFacts(images, policy, signed);
    if (wanted.length === 0 && signed.size === 0) return NO_LOOKUPS;
    const lookups: Map<string, ImageLookup & { verification?: ImageVerification }> = wanted.length ? await this.cache.prefetch(wanted, this.config.budgetMs) : new Map();
    if (signed.size === 0) return lookups;

    const subjects = new Map<string, VerificationSubject>();
    for (const [image, subject] of signed) {
      const lookup = lookups.get(image);
      const digest = subject.ref.digest ?? (lookup && 'facts' in lookup ? lookup.facts.digest : undefined);
      if (digest) {
        subjects.set(image, { ...subject, digest });
        continue;
      }
      const why = !lookup || lookup.outcome === 'timed-out' ? 'the registry did not resolve its tag within the lookup budget' : `its tag could not be resolved: ${'error' in lookup ? lookup.error : 'no digest'}`;
      lookups.set(image, { ...(lookup ?? { outcome: 'timed-out' }), verification: { status: 'unavailable', reason: why } });
    }
    const results = await this.signatures.verify(subjects, Math.max(0, this.config.budgetMs - (Date.now() - started)));
    for (const [image, { verification, outcome }] of results) {
      const lookup = lookups.get(image);
      if (lookup && 'facts' in lookup) lookups.set(image, { ...lookup, facts: { ...lookup.facts, verification } });
      else if (verification.status === 'checked') lookups.set(image, { outcome: outcome === 'hit' ? 'hit' : 'miss-resolved', facts: { verification } });
      else lookups.set(image, { ...(outcome === 'failed' ? { outcome, error: verification.reason } : { outcome: 'timed-out' as const }), verification });
    }
    return lookups;
  }
}

/** The facts that arrived, as the engine's context reads them. */
export function factsFrom(lookups: ImageLookups): (image: string) => ImageFacts | undefined {
  return (image) => {
    const lookup = lookups.get(image);
    if (!lookup) return undefined;
    if ('facts' in lookup) return lookup.facts;
    return lookup.verification ? { verification: lookup.verification } : undefined;
  };
}

/**
 * What an answer says about an image whose facts did not arrive; undefined when they did. Short
 * by default (admission warnings are one line); `withError` adds the registry's error for the
 * scanner's report. Registry errors name hosts and statuses, never credentials.
 */
export function missingFactsNote(image: string, lookup: ImageLookup | undefined, withError = false): string | undefined {
  if (!lookup || 'facts' in lookup) return undefined;
  const why = lookup.outcome === 'timed-out' ? 'lookup timed out' : withError ? `lookup failed: ${lookup.error}` : 'lookup failed';
  return `no registry facts for "${image}" (${why}): stale-image and digest pin skipped`;
}

/** Adds to a result the note of each of its object's images (podImages) whose facts did not arrive (with the registry's error). */
export function noteMissingFacts(result: ObjectResult, images: readonly string[], lookups: ImageLookups): void {
  for (const image of new Set(images)) {
    const note = missingFactsNote(image, lookups.get(image), true);
    if (note) result.notes.push(note);
  }
}
