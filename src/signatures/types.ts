// The vocabulary of signature verification: what the policy requires of an image (signers,
// transparency log, attestations) and what verifying one image digest against it concluded.
import type { KeyObject } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';

export interface PublicKeySigner {
  /** Where the key came from, for messages: `keys[0] (inline)` or the file path. */
  source: string;
  key: KeyObject;
}

export interface KeylessIdentity {
  /** OIDC issuer, compared exactly with the certificate's Fulcio issuer extension. */
  issuer: string;
  /** The certificate's subject (email or URI SAN), exactly; or a pattern that must match all of it. */
  subject?: string;
  subjectPattern?: RegExp;
}

export interface AttestationRequirement {
  /** in-toto predicate type, e.g. https://slsa.dev/provenance/v1. */
  predicateType: string;
  /** Older than this is `attestation-stale`; absent: any age. */
  maxAgeDays?: number;
}

export interface SignatureRequirement {
  /** Unique per compiled policy and across reloads: the verification cache is keyed by it. */
  id: number;
  /** `name` from the policy, else `signatures[i]`. */
  name: string;
  /** Image patterns as exemptions write them (engine/match.ts: parsed references, `*` globs). */
  images: string[];
  keys: PublicKeySigner[];
  keyless: KeylessIdentity[];
  /** The trusted root's certificate authorities and logs, when the requirement names one. */
  trustedRoot?: { source: string; material: TrustMaterial; hasCtLogs: boolean };
  /** A transparency-log entry (with its inclusion proof or promise) must accompany the signature. */
  transparencyLog: boolean;
  attestations: AttestationRequirement[];
}

/** Whether one requirement is met by the signatures and attestations found for a digest. */
export interface RequirementVerdict {
  requirement: SignatureRequirement;
  /** Who signed, when a signature verified (`key /etc/keys/cosign.pub`, `https://issuer alice@example.com`). */
  signer?: string;
  /** Why each signature found was refused; empty with no signer means none was found. */
  problems: string[];
  attestations: AttestationVerdict[];
}

export interface AttestationVerdict {
  predicateType: string;
  /** When the newest verified attestation of the type was made, if one verified. */
  time?: Date;
  /** Verified, but nothing in it or its signature says when it was made. */
  undated?: boolean;
}

/** What verifying an image came to: a verdict per matching requirement, or why it could not run. */
export type ImageVerification =
  | { status: 'checked'; digest: string; verdicts: RequirementVerdict[] }
  | { status: 'unavailable'; reason: string };
