// Signature verification for the images of a request, within what is left of its lookup budget:
// one verdict per (requirement, repository, digest), cached by digest (a digest's content never
// changes) and shared by every request. A verdict that found a valid signature is kept longer than
// one that did not, so that signing an image takes effect within a minute; a registry failure is
// kept 15 seconds, like a failed facts lookup.
import type { ImageReference } from '../images/reference.js';
import { parseImageReference } from '../images/reference.js';
import { ImageFactsCache, type LookupOutcome } from '../registry/cache.js';
import type { RegistryClient } from '../registry/client.js';
import { fetchArtifacts } from './fetch.js';
import type { ImageVerification, RequirementVerdict, SignatureRequirement } from './types.js';
import { verifyRequirement } from './verify.js';

const VERIFIED_TTL_MS = 10 * 60_000;
const UNVERIFIED_TTL_MS = 60_000;
const CACHE_OPTIONS = {
  ttlMs: (v: RequirementVerdict) => (v.signer && v.attestations.every((a) => a.time || a.undated) ? VERIFIED_TTL_MS : UNVERIFIED_TTL_MS),
  failureTtlMs: 15_000,
  maxEntries: 10_000,
};

/** An image to verify: its parsed reference, the digest to verify, the requirements it falls under. */
export interface VerificationSubject {
  ref: ImageReference;
  digest: string;
  requirements: readonly SignatureRequirement[];
}

export interface VerificationResult {
  verification: ImageVerification;
  /** How the verdicts were obtained, worst first: timed-out, failed, miss-resolved, hit. */
  outcome: LookupOutcome;
}

const OUTCOME_RANK: Record<LookupOutcome, number> = { hit: 0, 'miss-resolved': 1, failed: 2, 'timed-out': 3 };

export class SignatureVerifier {
  private readonly cache: ImageFactsCache<RequirementVerdict>;
  /** The requirements cache keys refer to, by id; ids are unique across policy reloads. */
  private readonly requirements = new Map<number, SignatureRequirement>();

  constructor(client: RegistryClient, now: () => Date = () => new Date()) {
    this.cache = new ImageFactsCache(async (key) => {
      const space = key.indexOf(' ');
      const requirement = this.requirements.get(Number(key.slice(0, space)));
      if (!requirement) throw new Error('the policy changed during the lookup');
      const parsed = parseImageReference(key.slice(space + 1));
      if (!parsed.ok || !parsed.ref.digest) throw new Error(`cannot verify ${key.slice(space + 1)}: ${parsed.ok ? 'no digest' : parsed.problem}`);
      const found = await fetchArtifacts(client, parsed.ref, parsed.ref.digest, requirement.attestations.length > 0);
      return verifyRequirement(requirement, parsed.ref.digest, found, now());
    }, CACHE_OPTIONS);
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Verifies every subject against each of its requirements, waiting at most `budgetMs`. */
  async verify(subjects: ReadonlyMap<string, VerificationSubject>, budgetMs: number): Promise<Map<string, VerificationResult>> {
    const keysOf = new Map<string, string[]>();
    for (const [image, { ref, digest, requirements }] of subjects) {
      const name = `${ref.registry}/${ref.repository}@${digest}`;
      keysOf.set(
        image,
        requirements.map((r) => {
          if (this.requirements.size > 1_000) this.requirements.clear(); // a stream of policy reloads must not pin old ones
          this.requirements.set(r.id, r);
          return `${r.id} ${name}`;
        }),
      );
    }
    const lookups = await this.cache.prefetch([...keysOf.values()].flat(), budgetMs);
    const results = new Map<string, VerificationResult>();
    for (const [image, keys] of keysOf) {
      const verdicts: RequirementVerdict[] = [];
      let outcome: LookupOutcome = 'hit';
      let reason: string | undefined;
      for (const key of keys) {
        const lookup = lookups.get(key)!;
        if (OUTCOME_RANK[lookup.outcome] > OUTCOME_RANK[outcome]) outcome = lookup.outcome;
        if (lookup.outcome === 'timed-out') reason ??= 'the registry did not answer within the lookup budget';
        else if (lookup.outcome === 'failed') reason ??= `the registry failed: ${lookup.error}`;
        else verdicts.push(lookup.facts);
      }
      const { digest } = subjects.get(image)!;
      results.set(image, { outcome, verification: reason ? { status: 'unavailable', reason } : { status: 'checked', digest, verdicts } });
    }
    return results;
  }
}
