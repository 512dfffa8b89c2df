// The signature rules of unverified-image: what a container's image owes each signature requirement
// it falls under, judged on the verification the lookups brought (checks never do I/O). Each
// finding says which requirement failed, why, and the cosign command that would satisfy it.
import type { CheckFinding, EvalContext } from '../engine/types.js';
import type { ImageReference } from '../images/reference.js';
import type { ContainerRef } from '../workloads/types.js';
import { requirementsFor } from './policy.js';
import type { SignatureRequirement } from './types.js';

export const NOT_SIGNED = 'unverified-image/not-signed';
export const ATTESTATION_MISSING = 'unverified-image/attestation-missing';
export const ATTESTATION_STALE = 'unverified-image/attestation-stale';
export const VERIFICATION_UNAVAILABLE = 'unverified-image/verification-unavailable';
export const SIGNATURE_RULES = [NOT_SIGNED, ATTESTATION_MISSING, ATTESTATION_STALE, VERIFICATION_UNAVAILABLE] as const;

const DAY_MS = 86_400_000;

type Finding = Pick<CheckFinding, 'rule' | 'severity' | 'message' | 'remediation'> & { detail?: string };

function signerAdvice(r: SignatureRequirement): string {
  const ways: string[] = [];
  if (r.keys.length) ways.push(`with the private key matching ${r.keys.map((k) => k.source).join(' or ')} (--key)`);
  for (const id of r.keyless) ways.push(`keylessly as ${id.subject ?? `an identity matching /${id.subjectPattern!.source}/`} from ${id.issuer}`);
  return ways.join(', or ');
}

function signCommand(r: SignatureRequirement, target: string, attest?: string): string {
  const key = r.keys.length ? ' --key <cosign.key>' : '';
  const log = r.transparencyLog ? '' : ' --use-signing-config=false --tlog-upload=false';
  return attest ? `cosign attest${key}${log} --type ${attest} --predicate <file> ${target}` : `cosign sign${key}${log} ${target}`;
}

function requirementFindings(r: SignatureRequirement, ctx: EvalContext, subject: string, image: string, target: (digest?: string) => string): Finding[] {
  const facts = ctx.imageFacts(image);
  const verification = facts?.verification;
  const name = `signature requirement "${r.name}"`;
  if (!verification || verification.status === 'unavailable') {
    const why = verification?.reason ?? 'registry lookups are off (run with --resolve-images; in the chart, imageLookups.enabled)';
    return [
      {
        rule: VERIFICATION_UNAVAILABLE,
        severity: 'high',
        message: `${subject} must be signed under ${name}, but its signature could not be checked: ${why}. An image that cannot be shown to be signed is not admitted as signed.`,
        remediation: `Its signature could not be checked: ${why}. Make the registry reachable from gapguard within the lookup budget (docs/image-lookups.md); once checked, the verdict is cached by digest.`,
        detail: `requirement "${r.name}": signature not checked`,
      },
    ];
  }
  const verdict = verification.verdicts.find((v) => v.requirement.id === r.id);
  const digest = verification.digest;
  if (!verdict) {
    return [{ rule: VERIFICATION_UNAVAILABLE, severity: 'high', message: `${subject} was not checked against ${name} (the policy changed during the lookup).`, remediation: 'Retry the request.' }];
  }
  const findings: Finding[] = [];
  if (!verdict.signer) {
    const why = verdict.problems.length ? `the signatures found were refused: ${verdict.problems.join('; ')}` : 'no cosign signature is attached to it (neither a .sig tag nor a Sigstore bundle)';
    findings.push({
      rule: NOT_SIGNED,
      severity: 'high',
      message: `${subject} at ${digest} has no valid signature for ${name}: ${why}.`,
      remediation: `${why[0]!.toUpperCase()}${why.slice(1)}. Sign the digest ${signerAdvice(r)}: ${signCommand(r, target(digest))}.`,
      detail: `requirement "${r.name}": ${verdict.problems.length ? 'signature refused' : 'not signed'}`,
    });
  }
  for (const wanted of r.attestations) {
    const found = verdict.attestations.find((a) => a.predicateType === wanted.predicateType);
    const attest = signCommand(r, target(digest), wanted.predicateType);
    if (!found?.time && !found?.undated) {
      findings.push({
        rule: ATTESTATION_MISSING,
        severity: 'high',
        message: `${subject} at ${digest} has no ${wanted.predicateType} attestation signed by an accepted signer of ${name}.`,
        remediation: `Attest the digest ${signerAdvice(r)}: ${attest}.`,
        detail: `requirement "${r.name}": no ${wanted.predicateType} attestation`,
      });
      continue;
    }
    if (wanted.maxAgeDays === undefined) continue;
    const ageDays = found.time ? Math.floor((ctx.now.getTime() - found.time.getTime()) / DAY_MS) : undefined;
    if (ageDays !== undefined && ageDays <= wanted.maxAgeDays) continue;
    const age = ageDays === undefined ? 'of unknown age (neither its predicate nor a log entry dates it)' : `${ageDays} days old`;
    findings.push({
      rule: ATTESTATION_STALE,
      severity: 'medium',
      message: `${subject} at ${digest}: its newest ${wanted.predicateType} attestation is ${age}; ${name} accepts at most ${wanted.maxAgeDays} days.`,
      remediation: `The newest ${wanted.predicateType} attestation is ${age}, over ${wanted.maxAgeDays} days. Re-run the scan or build and attest again: ${attest}.`,
      detail: `requirement "${r.name}": ${ageDays === undefined ? 'attestation undated' : `attestation ${ageDays} days old`}`,
    });
  }
  return findings;
}

/** The signature findings of one container's image (already parsed). */
export function signatureFindings(c: ContainerRef, image: string, ref: ImageReference, ctx: EvalContext): Finding[] {
  const requirements = requirementsFor(ctx.policy.unverifiedImage.signatures, image);
  if (requirements.length === 0) return [];
  const subject = `Container "${c.name}" image "${image}"`;
  const target = (digest?: string) => `${ref.registry}/${ref.repository}@${digest ?? '<digest>'}`;
  return requirements.flatMap((r) => requirementFindings(r, ctx, subject, image, target));
}
