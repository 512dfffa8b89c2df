// The quickstart's certificates: a local CA and a serving certificate for localhost, 127.0.0.1 and
// ::1 signed by it, kept in a directory so that a restart reuses them and `curl --cacert` keeps
// working. The serving certificate is renewed (by the same CA) well before it expires; the CA only
// when it is itself near expiry.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

const DAY_MS = 86_400_000;
const CA_VALID_DAYS = 5 * 365;
const SERVING_VALID_DAYS = 365;
/** Certificates with less than this left are replaced. */
export const RENEW_WITHIN_DAYS = 30;

export interface CertificateFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

interface Pem {
  cert: string;
  key: string;
}

function readPem(certFile: string, keyFile: string): Pem | undefined {
  try {
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch {
    return undefined;
  }
}

/** Whether a certificate and key pair is usable for another RENEW_WITHIN_DAYS, and issued by `issuer` when given. */
function stillGood(pem: Pem | undefined, now: Date, issuer?: X509Certificate): pem is Pem {
  if (!pem) return false;
  try {
    const cert = new X509Certificate(pem.cert);
    if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_WITHIN_DAYS * DAY_MS) return false;
    if (!cert.checkPrivateKey(createPrivateKey(pem.key))) return false;
    return issuer === undefined || (cert.checkIssued(issuer) && cert.verify(issuer.publicKey));
  } catch {
    return false;
  }
}

/** Writes through a temporary file and a rename, so a watcher never reads half a file. */
function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

async function generateCa(now: Date): Promise<Pem> {
  // A name of its own: a client that trusts an older gapguard CA too would otherwise look up the
  // issuer by name, find the wrong one and fail the signature check.
  const ca = await generate([{ name: 'commonName', value: `gapguard local CA ${randomBytes(4).toString('hex')}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + CA_VALID_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

async function generateServing(ca: Pem, now: Date): Promise<Pem> {
  const serving = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + SERVING_VALID_DAYS * DAY_MS),
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: serving.cert, key: serving.private };
}

/**
 * Makes sure `dir` holds a CA (ca.crt, ca.key) and a serving certificate (tls.crt, tls.key) valid
 * for at least RENEW_WITHIN_DAYS more days, generating what is missing or near expiry.
 */
export async function ensureSelfSignedCertificate(dir: string, now = new Date()): Promise<CertificateFiles & { generated: boolean }> {
  const files = { caFile: join(dir, 'ca.crt'), caKeyFile: join(dir, 'ca.key'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existingCa = readPem(files.caFile, files.caKeyFile);
  let ca: Pem;
  let generated = false;
  if (stillGood(existingCa, now)) {
    ca = existingCa;
  } else {
    ca = await generateCa(now);
    writeAtomically(files.caKeyFile, ca.key, 0o600);
    writeAtomically(files.caFile, ca.cert, 0o644);
    generated = true;
  }
  if (!stillGood(readPem(files.certFile, files.keyFile), now, new X509Certificate(ca.cert))) {
    const serving = await generateServing(ca, now);
    // The key first: a reload that sees the new key with the old certificate fails and keeps the
    // old pair; the certificate's arrival then triggers the reload that succeeds.
    writeAtomically(files.keyFile, serving.key, 0o600);
    writeAtomically(files.certFile, serving.cert, 0o644);
    generated = true;
  }
  return { caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile, generated };
}
