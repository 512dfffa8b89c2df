// Certificates for the gapguard server, made with openssl (which cluster-up.sh needs anyway): a CA
// made for the test and a serving certificate signed by it, for the names the kube-apiserver
// checks: the IP of the URL it calls, or the Service's DNS name.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './run.js';

export interface CertificateAuthority {
  certFile: string;
  keyFile: string;
}

export interface ServingPair {
  certFile: string;
  keyFile: string;
}

export async function makeCa(dir: string, name: string): Promise<CertificateAuthority> {
  const ca = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-keyout', ca.keyFile, '-out', ca.certFile, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return ca;
}

/**
 * A serving certificate written as <name>.crt and <name>.key in dir, for the given subjectAltName
 * entries (IP:127.0.0.1 for a server the apiserver reaches by URL; a Service's DNS names).
 */
export async function makeServingPair(dir: string, name: string, ca: CertificateAuthority, altNames: readonly string[] = ['IP:127.0.0.1']): Promise<ServingPair> {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames.join(',')}\n`);
  await runOk('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', pair.keyFile, '-out', csr, '-subj', `/CN=${altNames[0]!.replace(/^[A-Z]+:/, '')}`]);
  await runOk('openssl', [
    'x509', '-req', '-sha256', '-days', '2', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile,
    '-set_serial', `0x${Date.now().toString(16)}`, '-out', pair.certFile, '-extfile', ext,
  ]);
  return pair;
}
