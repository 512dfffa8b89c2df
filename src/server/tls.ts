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
}

export interface ServingCredentials {
  options: SecureContextOptions;
  notAfter: Date;
}

/** TLS 1.2 or newer, for the first context and every reload alike. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export function readCredentials(files: TlsFiles): ServingCredentials {
  try {
    const cert = readFileSync(files.certFile);
    const options: SecureContextOptions = {
      cert,
      key: readFileSync(files.keyFile),
      minVersion: MIN_TLS_VERSION,
      ...(files.clientCaFile ? { ca: readFileSync(files.clientCaFile) } : {}),
    };
    createSecureContext(options);
    return { options, notAfter: new Date(new X509Certificate(cert).validTo) };
  } catch (err) {
    const names = [files.certFile, files.keyFile, files.clientCaFile].filter(Boolean).join(', ');
    throw new Error(`cannot use the TLS files ${names}: ${(err as Error).message}`);
  }
}
