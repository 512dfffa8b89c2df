// The `signatures` section of unverified-image in the policy: which images must be signed, by
// whom, and with which attestations. Keys and trusted roots are read and parsed here, once per
// policy load, so a wrong key file or a broken trusted_root.json stops the policy from loading
// (the server keeps the last good one) instead of failing every admission later.
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';
import type { TrustMaterial } from '@sigstore/verify';
import { imageMatch } from '../engine/match.js';
import { isObject } from '../workloads/locate.js';
import type { AttestationRequirement, KeylessIdentity, PublicKeySigner, SignatureRequirement } from './types.js';

type Path = (string | number)[];
export type Fail = (path: Path, problem: string) => never;

const REQUIREMENT_FIELDS = ['name', 'images', 'keys', 'keyless', 'trustedRoot', 'transparencyLog', 'attestations'];
let nextId = 1;

function fields(v: unknown, path: Path, allowed: readonly string[], fail: Fail): Record<string, unknown> {
  if (!isObject(v)) fail(path, `must be a mapping with ${allowed.join(', ')}`);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail([...path, k], `unknown field (expected one of: ${allowed.join(', ')})`);
  return v;
}

function list(v: unknown, path: Path, fail: Fail): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(path, 'must be a list');
  return v;
}

function text(v: unknown, path: Path, fail: Fail): string {
  if (typeof v !== 'string' || v.trim() === '') fail(path, 'must be a non-empty string');
  return v.trim();
}

function readFile(file: string, path: Path, what: string, fail: Fail): string {
  if (!file.startsWith('/')) fail(path, `must be an absolute path to ${what}`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return fail(path, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** cosign's key types: ECDSA P-256, Ed25519, RSA (2048 bits or more). */
function publicKey(pem: string, path: Path, fail: Fail): KeyObject {
  let key: KeyObject;
  try {
    // node:crypto is loaded only for a policy that names a key: a scan without one starts without it.
    const load = typeof require === 'function' ? require : createRequire(import.meta.url);
    key = (load('node:crypto') as typeof import('node:crypto')).createPublicKey(pem);
  } catch {
    return fail(path, 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && details.namedCurve === 'prime256v1') return key;
  if (type === 'ed25519') return key;
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) return key;
  const what = type === 'ec' ? `an ECDSA key on ${details.namedCurve}` : type === 'rsa' ? `a ${details.modulusLength}-bit RSA key` : `a ${type} key`;
  return fail(path, `is ${what}; accepted: ECDSA P-256, Ed25519, RSA of 2048 bits or more`);
}

function signerKey(v: unknown, path: Path, fail: Fail): PublicKeySigner {
  const entry = fields(v, path, ['pem', 'file'], fail);
  if ((entry.pem === undefined) === (entry.file === undefined)) fail(path, 'needs exactly one of pem (the key inline) or file (a mounted key)');
  if (entry.pem !== undefined) return { source: `${path.join('.')} (inline)`, key: publicKey(text(entry.pem, [...path, 'pem'], fail), [...path, 'pem'], fail) };
  const file = text(entry.file, [...path, 'file'], fail);
  return { source: file, key: publicKey(readFile(file, [...path, 'file'], 'a PEM public key', fail), [...path, 'file'], fail) };
}

function identity(v: unknown, path: Path, fail: Fail): KeylessIdentity {
  const entry = fields(v, path, ['issuer', 'subject', 'subjectPattern'], fail);
  const issuer = text(entry.issuer, [...path, 'issuer'], fail);
  if ((entry.subject === undefined) === (entry.subjectPattern === undefined)) {
    fail(path, 'needs exactly one of subject (the signer identity, exactly) or subjectPattern (a regular expression for all of it)');
  }
  if (entry.subject !== undefined) return { issuer, subject: text(entry.subject, [...path, 'subject'], fail) };
  const source = text(entry.subjectPattern, [...path, 'subjectPattern'], fail);
  try {
    // Anchored: a pattern must match the whole identity, never a part of a longer, foreign one.
    return { issuer, subjectPattern: new RegExp(`^(?:${source})$`) };
  } catch (err) {
    return fail([...path, 'subjectPattern'], `is not a regular expression: ${(err as Error).message}`);
  }
}

/**
 * The Sigstore libraries that read a trusted root, loaded on first use: they take longer to load
 * than a small scan takes to run, and most policies name no trusted root. A bundler sees the plain
 * `require` calls (through an alias it would not, and the image, which has no node_modules, could
 * not read a trusted root); compiled ESM has no `require` and asks createRequire.
 */
function sigstore(): { TrustedRoot: typeof ProtobufSpecs.TrustedRoot; toTrustMaterial: typeof SigstoreVerify.toTrustMaterial } {
  const [specs, verify] =
    typeof require === 'function'
      ? [require('@sigstore/protobuf-specs') as typeof ProtobufSpecs, require('@sigstore/verify') as typeof SigstoreVerify]
      : [createRequire(import.meta.url)('@sigstore/protobuf-specs') as typeof ProtobufSpecs, createRequire(import.meta.url)('@sigstore/verify') as typeof SigstoreVerify];
  return { TrustedRoot: specs.TrustedRoot, toTrustMaterial: verify.toTrustMaterial };
}

function trustedRoot(v: unknown, path: Path, fail: Fail): NonNullable<SignatureRequirement['trustedRoot']> {
  const file = text(v, path, fail);
  let json: unknown;
  try {
    json = JSON.parse(readFile(file, path, 'a Sigstore trusted_root.json', fail));
  } catch {
    return fail(path, `${file} is not JSON`);
  }
  let material: TrustMaterial;
  try {
    const { TrustedRoot, toTrustMaterial } = sigstore();
    material = toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (err) {
    return fail(path, `${file} is not a Sigstore trusted root: ${(err as Error).message}`);
  }
  if (material.certificateAuthorities.length === 0 && material.tlogs.length === 0) {
    fail(path, `${file} lists no certificate authority and no transparency log`);
  }
  return { source: file, material, hasCtLogs: material.ctlogs.length > 0 };
}

function attestation(v: unknown, path: Path, fail: Fail): AttestationRequirement {
  const entry = fields(v, path, ['predicateType', 'maxAgeDays'], fail);
  const predicateType = text(entry.predicateType, [...path, 'predicateType'], fail);
  if (entry.maxAgeDays === undefined) return { predicateType };
  if (!Number.isInteger(entry.maxAgeDays) || (entry.maxAgeDays as number) < 1 || (entry.maxAgeDays as number) > 36500) {
    fail([...path, 'maxAgeDays'], 'must be a whole number of days from 1 to 36500');
  }
  return { predicateType, maxAgeDays: entry.maxAgeDays as number };
}

function requirement(v: unknown, index: number, base: Path, fail: Fail): SignatureRequirement {
  const path = [...base, index];
  const entry = fields(v, path, REQUIREMENT_FIELDS, fail);
  const name = entry.name === undefined ? `signatures[${index}]` : text(entry.name, [...path, 'name'], fail);
  const images = list(entry.images, [...path, 'images'], fail).map((p, i) => text(p, [...path, 'images', i], fail));
  if (images.length === 0) fail([...path, 'images'], 'must list at least one image pattern (registry/repository[:tag], * globs)');
  const keys = list(entry.keys, [...path, 'keys'], fail).map((k, i) => signerKey(k, [...path, 'keys', i], fail));
  const keyless = list(entry.keyless, [...path, 'keyless'], fail).map((k, i) => identity(k, [...path, 'keyless', i], fail));
  if (keys.length + keyless.length === 0) fail(path, 'needs at least one signer: keys (public keys) or keyless (issuer and subject)');
  const root = entry.trustedRoot === undefined ? undefined : trustedRoot(entry.trustedRoot, [...path, 'trustedRoot'], fail);
  if (entry.transparencyLog !== undefined && typeof entry.transparencyLog !== 'boolean') fail([...path, 'transparencyLog'], 'must be true or false');
  const transparencyLog = entry.transparencyLog !== false;
  if (keyless.length && !root) fail([...path, 'trustedRoot'], 'is required with keyless signers: the certificate authorities come from it');
  if (transparencyLog && !root) {
    fail([...path, 'transparencyLog'], 'true (the default) needs trustedRoot, whose transparency logs are checked; set it to false for signatures made without a log');
  }
  if (keyless.length && root && root.material.certificateAuthorities.length === 0) fail([...path, 'trustedRoot'], `${root.source} lists no certificate authority for keyless signers`);
  const attestations = list(entry.attestations, [...path, 'attestations'], fail).map((a, i) => attestation(a, [...path, 'attestations', i], fail));
  return { id: nextId++, name, images, keys, keyless, ...(root ? { trustedRoot: root } : {}), transparencyLog, attestations };
}

/** Compiles the `signatures` list of the unverified-image gap. Reads key files and trusted roots. */
export function compileSignatureRequirements(raw: unknown, path: Path, fail: Fail): SignatureRequirement[] {
  return list(raw, path, fail).map((entry, i) => requirement(entry, i, path, fail));
}

/** The requirements an image falls under, its patterns matched as exemptions' are: on the parsed reference. */
export function requirementsFor(requirements: readonly SignatureRequirement[], image: string): SignatureRequirement[] {
  return requirements.filter((r) => r.images.some((p) => imageMatch(p, image)));
}
