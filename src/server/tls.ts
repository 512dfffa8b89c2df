// Serving credentials read from files. Each (re)load is checked by building a secure context from
// it, so a key that does not match its certificate, or half-written files, are refused and the
// credentials in use stay in force.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCaFile?: string;
  /** OpenSSL cipher list (TLS 1.2 suites and TLS 1.3 suite names); DEFAULT_CIPHERS without it. */
  ciphers?: string;
}

export interface ServingCredentials {
  options: SecureContextOptions;
  notAfter: Date;
}

/** TLS 1.2 or newer, for the first context and every reload alike. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * The suites offered by default: TLS 1.3's, and for TLS 1.2 only forward-secret ECDHE with AEAD
 * ciphers (no CBC, no SHA-1 MAC, no static RSA key exchange), the set Mozilla's "intermediate"
 * profile keeps. Every kube-apiserver (Go's crypto/tls) offers them.
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function readCredentials(files: TlsFiles): ServingCredentials {
  try {
    const cert = readFileSync(files.certFile);
    const options: SecureContextOptions = {
      cert,
      key: readFileSync(files.keyFile),
      minVersion: MIN_TLS_VERSION,
      ciphers: files.ciphers ?? DEFAULT_CIPHERS,
      honorCipherOrder: true,
      ...(files.clientCaFile ? { ca: readFileSync(files.clientCaFile) } : {}),
    };
    createSecureContext(options);
    return { options, notAfter: new Date(new X509Certificate(cert).validTo) };
  } catch (err) {
    const names = [files.certFile, files.keyFile, files.clientCaFile].filter(Boolean).join(', ');
    throw new Error(`cannot use the TLS files ${names}: ${(err as Error).message}`);
  }
}
