// Verifies what fetch.ts found for an image digest against one signature requirement, with the
// Sigstore libraries: @sigstore/bundle reads bundles, @sigstore/verify checks certificate chains,
// transparency-log entries and signatures. What they leave to the caller is done here: turning
// cosign's legacy `.sig`/`.att` layers into bundles, checking that what was signed names this
// digest (the library verifies bytes, not what they mean), and comparing the signer's identity
// exactly (the library would treat a subject as an unanchored regular expression).
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { bundleFromJSON, toDSSEBundle, toMessageSignatureBundle, type Bundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { toSignedEntity, Verifier, type Signer, type TrustMaterial } from '@sigstore/verify';
import type { FoundArtifacts, LegacyLayer } from './fetch.js';
import type { AttestationVerdict, KeylessIdentity, RequirementVerdict, SignatureRequirement } from './types.js';

const IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json';
/** The predicate cosign's bundle-format signatures carry. */
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
const NO_TRUST: Omit<TrustMaterial, 'publicKey'> = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };

/** A signed thing in one common shape, whatever format it came in. */
interface Candidate {
  bundle: Bundle;
  /** The signed bytes of a message signature (the simple-signing payload); DSSE carries its own. */
  artifact?: Buffer;
  /** What the signature is about, after verification: the payload to check the digest in. */
  payload: Buffer;
  format: string;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function pemToDer(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}

/** cosign's Rekor bundle annotation as the transparency-log entry a Sigstore bundle would carry. */
function rekorEntry(json: string): TransparencyLogEntry {
  const rekor = JSON.parse(json) as { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
  const body = Buffer.from(rekor.Payload.body, 'base64');
  const { kind, apiVersion } = JSON.parse(body.toString('utf8')) as { kind: string; apiVersion: string };
  return {
    logIndex: String(rekor.Payload.logIndex),
    logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex') },
    kindVersion: { kind, version: apiVersion },
    integratedTime: String(rekor.Payload.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(rekor.SignedEntryTimestamp, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody: body,
  };
}

function withLegacyMaterial(bundle: Bundle, layer: LegacyLayer): Bundle {
  if (layer.rekorBundle) bundle.verificationMaterial.tlogEntries = [rekorEntry(layer.rekorBundle)];
  return bundle;
}

function material(layer: LegacyLayer): { certificate?: Buffer } {
  return layer.certificate ? { certificate: pemToDer(layer.certificate) } : {};
}

function legacySignature(layer: LegacyLayer): Candidate | string {
  if (!layer.signature) return 'a .sig layer without a signature annotation';
  try {
    const bundle = toMessageSignatureBundle({ digest: sha256(layer.body), signature: Buffer.from(layer.signature, 'base64'), ...material(layer) });
    return { bundle: withLegacyMaterial(bundle, layer), artifact: layer.body, payload: layer.body, format: 'legacy .sig' };
  } catch (err) {
    return `a .sig layer that cannot be read: ${(err as Error).message}`;
  }
}

function legacyAttestation(layer: LegacyLayer): Candidate | string {
  try {
    const envelope = JSON.parse(layer.body.toString('utf8')) as { payloadType?: string; payload?: string; signatures?: { sig?: string }[] };
    const sig = envelope.signatures?.[0]?.sig;
    if (typeof envelope.payload !== 'string' || typeof envelope.payloadType !== 'string' || typeof sig !== 'string') return 'an .att layer that is not a signed DSSE envelope';
    const payload = Buffer.from(envelope.payload, 'base64');
    const bundle = toDSSEBundle({ artifact: payload, artifactType: envelope.payloadType, signature: Buffer.from(sig, 'base64'), ...material(layer) });
    return { bundle: withLegacyMaterial(bundle, layer), payload, format: 'legacy .att' };
  } catch (err) {
    return `an .att layer that cannot be read: ${(err as Error).message}`;
  }
}

/**
 * cosign 3 writes keyless bundles as v0.3 with the whole certificate chain, which the v0.3 schema
 * (and so @sigstore/bundle) allows only as the leaf alone. Only the leaf is used either way: the
 * chain to trust comes from the trusted root, never from the signature.
 */
function leafOnly(json: unknown): unknown {
  const doc = json as { mediaType?: unknown; verificationMaterial?: { x509CertificateChain?: { certificates?: unknown[] } } } | null;
  const chain = doc?.verificationMaterial?.x509CertificateChain?.certificates;
  if (typeof doc?.mediaType !== 'string' || !doc.mediaType.includes('v0.3') || !Array.isArray(chain) || chain.length === 0) return json;
  const { x509CertificateChain: _chain, ...material } = doc.verificationMaterial!;
  return { ...doc, verificationMaterial: { ...material, certificate: chain[0] } };
}

function sigstoreBundle(json: unknown): Candidate | string {
  try {
    const bundle = bundleFromJSON(leafOnly(json));
    if (bundle.content.$case !== 'dsseEnvelope') return 'a bundle without a DSSE envelope (cosign attaches in-toto statements)';
    const envelope = bundle.content.dsseEnvelope;
    return { bundle, payload: envelope.payload, format: 'Sigstore bundle' };
  } catch (err) {
    return `a Sigstore bundle that cannot be read: ${(err as Error).message}`;
  }
}

function describeIdentity(signer: Signer): string {
  return `${signer.identity?.extensions?.issuer ?? '(no issuer)'} ${signer.identity?.subjectAlternativeName ?? '(no subject)'}`;
}

function identityMatches(expected: KeylessIdentity, signer: Signer): boolean {
  const issuer = signer.identity?.extensions?.issuer;
  const subject = signer.identity?.subjectAlternativeName;
  if (issuer !== expected.issuer || subject === undefined) return false;
  return expected.subject !== undefined ? subject === expected.subject : expected.subjectPattern!.test(subject);
}

/**
 * Verifies a candidate's signature against the requirement's signers. Returns who signed, or
 * throws with why not. With `transparencyLog: false` log entries are ignored and a certificate is
 * checked as of `now` (what `cosign verify --insecure-ignore-tlog` does); with it, the log entry
 * must verify against the trusted root's logs and the certificate as of the logged time.
 */
function verifySigner(candidate: Candidate, requirement: SignatureRequirement, now: Date): string {
  const base = toSignedEntity(candidate.bundle, candidate.artifact);
  const entity = requirement.transparencyLog ? base : { ...base, tlogEntries: [], timestamps: [] };
  const root = requirement.trustedRoot;
  const options = { tlogThreshold: requirement.transparencyLog ? 1 : 0, timestampThreshold: requirement.transparencyLog ? 1 : 0 };
  if (entity.key.$case === 'public-key') {
    if (requirement.keys.length === 0) throw new Error('signed with a key, but the requirement accepts only keyless signers');
    for (const { key, source } of requirement.keys) {
      const trust: TrustMaterial = { ...(root?.material ?? NO_TRUST), publicKey: () => ({ publicKey: key, validFor: () => true }) };
      try {
        new Verifier(trust, { ...options, ctlogThreshold: 0 }).verify(entity);
        return `key ${source}`;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // Only the signature step may be redone: timestamps and log entries were verified before it.
        if (code === 'SIGNATURE_ERROR' && signedWithEd25519ph(candidate, key)) return `key ${source}`;
        // A missing or bad log entry or timestamp is the same for every key: say that, not "wrong key".
        if (code !== 'SIGNATURE_ERROR') throw new Error(`${(err as Error).message}${code?.startsWith('TLOG') || code === 'TIMESTAMP_ERROR' ? ' (the requirement needs a transparency-log entry)' : ''}`);
      }
    }
    throw new Error(`signed with a key that is not ${requirement.keys.length > 1 ? 'one of ' : ''}${requirement.keys.map((k) => k.source).join(', ')}, or the signature does not match what it signs`);
  }
  if (requirement.keyless.length === 0 || !root) throw new Error('signed with a certificate, but the requirement accepts only keys');
  const verifier = new Verifier(root.material, { ...options, ctlogThreshold: root.hasCtLogs ? 1 : 0 });
  if (!requirement.transparencyLog) {
    // No logged time to judge the certificate at: judge it now. The library reads the time only
    // from log entries and timestamps, so its timestamp step is replaced for this one call.
    (verifier as unknown as { verifyTimestamps: () => Date[] }).verifyTimestamps = () => [now];
  }
  const signer = verifier.verify(entity);
  const match = requirement.keyless.find((id) => identityMatches(id, signer));
  if (!match) {
    const wanted = requirement.keyless.map((id) => `${id.issuer} ${id.subject ?? `/${id.subjectPattern!.source}/`}`).join('; ');
    throw new Error(`signed by ${describeIdentity(signer)}, not by an accepted identity (${wanted})`);
  }
  return describeIdentity(signer);
}

/**
 * cosign signs with an Ed25519 key as Ed25519ph (RFC 8032: over the SHA-512 of the signed bytes,
 * the payload or the DSSE pre-authentication encoding), which neither @sigstore/verify nor
 * node:crypto verifies: checked with @noble/curves for that case.
 */
function signedWithEd25519ph(candidate: Candidate, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'ed25519') return false;
  const content = candidate.bundle.content;
  const [signed, signature] =
    content.$case === 'messageSignature'
      ? [candidate.artifact, content.messageSignature.signature]
      : [dsse.preAuthEncoding(content.dsseEnvelope.payloadType, content.dsseEnvelope.payload), content.dsseEnvelope.signatures[0]?.sig];
  if (!signed || !signature) return false;
  try {
    return ed25519ph.verify(signature, signed, Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url'));
  } catch {
    return false;
  }
}

interface Statement {
  predicateType: string;
  predicate: unknown;
}

/** The in-toto statement a DSSE payload carries, if it names `digest` among its subjects. */
function statementAbout(payload: Buffer, payloadType: string, digest: string): Statement | string {
  if (payloadType !== IN_TOTO_PAYLOAD) return `a DSSE payload of type ${payloadType}, not an in-toto statement`;
  let statement: { subject?: { digest?: Record<string, unknown> }[]; predicateType?: unknown; predicate?: unknown };
  try {
    statement = JSON.parse(payload.toString('utf8')) as typeof statement;
  } catch {
    return 'an in-toto statement that is not JSON';
  }
  const [algorithm, hex] = digest.split(':') as [string, string];
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((s) => s?.digest?.[algorithm] === hex)) {
    const other = subjects.map((s) => (typeof s?.digest?.[algorithm] === 'string' ? `${algorithm}:${s.digest[algorithm] as string}` : undefined)).find(Boolean);
    return `a valid signature over another image (${other ?? 'no subject digest'}), not ${digest}`;
  }
  if (typeof statement.predicateType !== 'string') return 'an in-toto statement without a predicate type';
  return { predicateType: statement.predicateType, predicate: statement.predicate };
}

/** The simple-signing payload's claim, checked after the signature: it must name this digest. */
function simpleSigningAbout(payload: Buffer, digest: string): true | string {
  let doc: { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } } };
  try {
    doc = JSON.parse(payload.toString('utf8')) as typeof doc;
  } catch {
    return 'a simple-signing payload that is not JSON';
  }
  if (doc.critical?.type !== SIMPLE_SIGNING_TYPE) return `a payload of type ${String(doc.critical?.type)}, not a cosign image signature`;
  const signed = doc.critical.image?.['docker-manifest-digest'];
  return signed === digest ? true : `a valid signature over another image (${String(signed)}), not ${digest}`;
}

/** When a verified attestation's predicate says it was made (scan finished, build finished, custom timestamp). */
function predicateTime(predicate: unknown): Date | undefined {
  const p = (predicate ?? {}) as Record<string, Record<string, unknown> | undefined> & { timestamp?: unknown; runDetails?: { metadata?: Record<string, unknown> } };
  const candidates = [p.metadata?.scanFinishedOn, p.metadata?.buildFinishedOn, p.runDetails?.metadata?.finishedOn, p.timestamp];
  for (const value of candidates) {
    if (typeof value !== 'string') continue;
    const time = new Date(value);
    if (!Number.isNaN(time.getTime())) return time;
  }
  return undefined;
}

/** The log's integrated time of a verified candidate, when a log entry was required and verified. */
function loggedTime(candidate: Candidate, requirement: SignatureRequirement): Date | undefined {
  if (!requirement.transparencyLog) return undefined;
  const seconds = Number(candidate.bundle.verificationMaterial.tlogEntries[0]?.integratedTime);
  return seconds > 0 ? new Date(seconds * 1000) : undefined;
}

function payloadType(candidate: Candidate): string {
  return candidate.bundle.content.$case === 'dsseEnvelope' ? candidate.bundle.content.dsseEnvelope.payloadType : '';
}

/** Judges what was found for `digest` against one requirement. Never throws. */
export function verifyRequirement(requirement: SignatureRequirement, digest: string, found: FoundArtifacts, now: Date): RequirementVerdict {
  const problems: string[] = [];
  const attestations = new Map<string, AttestationVerdict>(requirement.attestations.map((a) => [a.predicateType, { predicateType: a.predicateType }]));
  let signer: string | undefined;

  const consider = (candidate: Candidate | string) => {
    if (typeof candidate === 'string') {
      problems.push(candidate);
      return;
    }
    let who: string;
    try {
      who = verifySigner(candidate, requirement, now);
    } catch (err) {
      problems.push(`${candidate.format}: ${(err as Error).message}`);
      return;
    }
    if (candidate.artifact) {
      const about = simpleSigningAbout(candidate.payload, digest);
      if (about === true) signer ??= who;
      else problems.push(`${candidate.format} by ${who}: ${about}`);
      return;
    }
    const statement = statementAbout(candidate.payload, payloadType(candidate), digest);
    if (typeof statement === 'string') {
      problems.push(`${candidate.format} by ${who}: ${statement}`);
      return;
    }
    if (statement.predicateType === COSIGN_SIGN_PREDICATE) {
      signer ??= who;
      return;
    }
    const wanted = attestations.get(statement.predicateType);
    if (!wanted) return;
    const time = predicateTime(statement.predicate) ?? loggedTime(candidate, requirement);
    if (!time) wanted.undated = true;
    else if (!wanted.time || time > wanted.time) wanted.time = time;
  };

  for (const layer of found.signatures) consider(legacySignature(layer));
  for (const layer of found.attestations) consider(legacyAttestation(layer));
  for (const json of found.bundles) consider(sigstoreBundle(json));
  return { requirement, ...(signer ? { signer } : {}), problems, attestations: [...attestations.values()] };
}
