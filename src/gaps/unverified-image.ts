/**
 * unverified-image: images pulled without verification.
 *
 * Reads, for every container (init, regular, ephemeral): `image`.
 * Context: `policy.unverifiedImage` (allowedRegistries, wellKnownImages, typosquatMaxDistance,
 * unpinnedVersionTags), `imageFacts(image).digest` for the digest-pin fix and `admissionPinning`.
 *
 * Rules:
 * - `unverified-image/not-pinned`: no valid `@sha256:<64 hex>` digest.
 *   - `latest`, no tag, a reference that cannot be parsed (high): the policy's action (deny), no
 *     fix: pinning whatever `latest` is today would only freeze an unknown version.
 *   - a version tag (medium). Fix, when the registry gave the tag's digest: `name:tag@sha256:...`,
 *     keeping the author's tag. At admission with pinning on, a resolved tag is patched (so the
 *     pod is allowed) and an unresolved one gets the policy's action (deny). Anywhere else the
 *     finding is only a warning unless `unpinnedVersionTags: deny`.
 * - `unverified-image/typosquat` (high): the whole name, registry host included, is a few edits away
 *   from a well-known one of another publisher.
 * - `unverified-image/registry-not-allowed` (high, only with a registry allow-list): the image comes
 *   from a registry (or registry path) outside the list, compared by whole host and path segments.
 * - `unverified-image/not-signed`, `attestation-missing`, `attestation-stale` and
 *   `verification-unavailable` (only for images under a signature requirement of the policy): judged
 *   on `imageFacts(image).verification` by src/signatures/rules.ts.
 */
import type { CheckFinding, EvalContext, FixIntent, GapCheck } from '../engine/types.js';
import { canonicalRegistryHost, floatingTag, isDigest, parseImageReference, repositoryName, type ImageReference, type ParsedImage } from '../images/reference.js';
import { findTyposquatTarget, type TyposquatMatch } from '../images/typosquat.js';
import { memoize } from '../memo.js';
import type { Policy } from '../policy/types.js';
import { SIGNATURE_RULES, signatureFindings } from '../signatures/rules.js';
import type { ContainerRef } from '../workloads/types.js';

const GAP = 'unverified-image';
const NOT_PINNED = 'unverified-image/not-pinned';
const TYPOSQUAT = 'unverified-image/typosquat';
const REGISTRY_NOT_ALLOWED = 'unverified-image/registry-not-allowed';

const PIN_ADVICE =
  'Pin the image by digest (name:tag@sha256:<digest>, the digest the registry serves for the tag): a digest pin ' +
  'fails loudly if the content changes. Pull from a private registry with enforced scanning and verify signatures ' +
  'where the publisher signs.';

interface AllowedRegistry {
  host: string;
  /** Leading repository path segments the entry requires (`registry.example.com/team` -> ['team']). */
  segments: string[];
}

function compileAllowList(entries: readonly string[]): AllowedRegistry[] {
  return entries.map((entry) => {
    const [host = '', ...segments] = entry.trim().replace(/\/+$/, '').split('/');
    return { host: canonicalRegistryHost(host), segments };
  });
}

/** Whole host (port included) and whole leading path segments: never a string prefix. */
function registryAllowed(ref: ImageReference, allowed: readonly AllowedRegistry[]): boolean {
  const host = ref.registry;
  let segments: string[] | undefined;
  for (const entry of allowed) {
    if (entry.host !== host) continue;
    if (entry.segments.length === 0) return true;
    segments ??= ref.repository.split('/');
    if (entry.segments.length <= segments.length && entry.segments.every((s, i) => s === segments![i])) return true;
  }
  return false;
}

/** What the gap concludes about one image under one policy, whichever container uses it. */
interface ImageVerdict {
  parsed: ParsedImage;
  squat: TyposquatMatch | undefined;
  /** False when the policy has a registry allow-list and the image is not shown to be on it. */
  allowed: boolean;
}

const judges = new WeakMap<Policy, (image: string) => ImageVerdict>();

/** The policy's image judge, memoized per image: pods name the same few images over and over. */
function imageJudge(policy: Policy): (image: string) => ImageVerdict {
  let judge = judges.get(policy);
  if (!judge) {
    const allowList = compileAllowList(policy.unverifiedImage.allowedRegistries);
    judge = memoize((image: string): ImageVerdict => {
      const parsed = parseImageReference(image);
      if (!parsed.ok) return { parsed, squat: undefined, allowed: allowList.length === 0 };
      return {
        parsed,
        squat: findTyposquatTarget(parsed.ref, policy),
        allowed: allowList.length === 0 || registryAllowed(parsed.ref, allowList),
      };
    });
    judges.set(policy, judge);
  }
  return judge;
}

function imageFinding(
  c: ContainerRef,
  rule: string,
  severity: CheckFinding['severity'],
  message: string,
  remediation: string,
  fix?: FixIntent[],
): CheckFinding {
  const finding: CheckFinding = { gap: GAP, rule, severity, path: [...c.path, 'image'], message, remediation, container: c };
  if (fix) finding.fix = fix;
  return finding;
}

function pinFix(c: ContainerRef, image: string, digest: string | undefined): FixIntent[] | undefined {
  if (digest === undefined || !isDigest(digest)) return undefined;
  return [{ op: 'replace', path: [...c.path, 'image'], value: `${image}@${digest}` }];
}

function notPinned(c: ContainerRef, image: string, ref: ImageReference, ctx: EvalContext): CheckFinding {
  if (floatingTag(ref)) {
    const state = ref.tag === undefined ? 'has no tag (it pulls latest) and no digest' : 'uses the latest tag and no digest';
    return imageFinding(
      c,
      NOT_PINNED,
      'high',
      `Container "${c.name}" image "${image}" ${state}: the registry can serve different content under that name on every pull, ` +
        'so a compromised or replaced image is indistinguishable from the intended one, and nobody knows which version runs.',
      `Name the version you tested (name:1.2.3); gapguard pins a version tag to its digest at admission when registry lookups are on. ${PIN_ADVICE}`,
    );
  }
  const fix = pinFix(c, image, ctx.imageFacts(image)?.digest);
  const unresolved = ctx.admissionPinning === true && fix === undefined;
  const finding = imageFinding(
    c,
    NOT_PINNED,
    'medium',
    `Container "${c.name}" image "${image}" has a tag but no digest` +
      (unresolved
        ? ": its registry did not give the tag's digest in time (see the lookup note), so gapguard cannot pin it, and a tag can be moved to other content."
        : ': the registry can serve different content under the same tag on every pull.'),
    unresolved
      ? 'Check that the tag exists and that gapguard can reach and log in to its registry, then retry; or pin the digest yourself. ' + PIN_ADVICE
      : `${PIN_ADVICE} \`gapguard fix --resolve-images\` writes the digest into the manifest; the webhook pins it at admission when registry lookups are on.`,
    fix,
  );
  // Where nothing will pin the tag at admission, a version tag is a warning unless the policy wants digests everywhere.
  if (!ctx.admissionPinning && ctx.policy.unverifiedImage.unpinnedVersionTags === 'warn') finding.warnOnly = true;
  return finding;
}

export const unverifiedImage: GapCheck = {
  gap: GAP,
  rules: [NOT_PINNED, TYPOSQUAT, REGISTRY_NOT_ALLOWED, ...SIGNATURE_RULES],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const judge = imageJudge(ctx.policy);
    for (const c of pod.containers) {
      const image = c.container.image;
      // Controllers may leave the image to be filled in later; an absent image pulls nothing.
      if (!image) continue;
      const { parsed, squat, allowed } = judge(image);
      if (!parsed.ok) {
        findings.push(
          imageFinding(
            c,
            NOT_PINNED,
            'high',
            `Container "${c.name}" image "${image}" is not a valid image reference: ${parsed.problem}. It cannot be pinned or verified.`,
            `Write the image as [registry/]repository[:tag]@sha256:<64 hex digits>. ${PIN_ADVICE}`,
          ),
        );
        // Without a registry there is nothing to find on the allow-list.
        if (!allowed) {
          findings.push(
            imageFinding(
              c,
              REGISTRY_NOT_ALLOWED,
              'high',
              `Container "${c.name}" image "${image}" names no registry that can be determined, so it is not from an allowed registry.`,
              'Use a valid image reference from a registry in gaps.unverified-image.allowedRegistries.',
            ),
          );
        }
        continue;
      }
      const ref = parsed.ref;
      if (ref.digest === undefined) findings.push(notPinned(c, image, ref, ctx));
      if (squat) {
        findings.push(
          imageFinding(
            c,
            TYPOSQUAT,
            'high',
            `Container "${c.name}" image "${image}" (${repositoryName(ref)}) is ${squat.distance} edit${squat.distance > 1 ? 's' : ''} ` +
              `away from the well-known image ${squat.target}: a look-alike name runs whatever its publisher put in it.`,
            `Check the spelling and use ${squat.target} if that was meant. If this image is intended, ` +
              'add it to gaps.unverified-image.wellKnownImages in the policy.',
          ),
        );
      }
      for (const f of signatureFindings(c, image, ref, ctx)) {
        const finding = imageFinding(c, f.rule, f.severity, f.message, f.remediation);
        if (f.detail) finding.detail = f.detail;
        findings.push(finding);
      }
      if (!allowed) {
        findings.push(
          imageFinding(
            c,
            REGISTRY_NOT_ALLOWED,
            'high',
            `Container "${c.name}" image "${image}" comes from ${repositoryName(ref)}, outside the allowed registries ` +
              `(${ctx.policy.unverifiedImage.allowedRegistries.join(', ')}).`,
            'Mirror the image into an allowed registry, where it is scanned, and pull it from there; or add its ' +
              'registry to gaps.unverified-image.allowedRegistries.',
          ),
        );
      }
    }
    return findings;
  },
};
