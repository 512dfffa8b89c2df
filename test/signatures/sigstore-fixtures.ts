// Real signing material for the signature tests: key pairs imported into cosign's format, a test
// certificate authority (root and intermediate) that issues Fulcio-style leaf certificates (email
// subject, OIDC issuer extension), the Sigstore trusted_root.json that trusts it, and the cosign
// binary (scripts/install-cosign.sh) run against the test registry.
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { repoRoot } from '../helpers.js';

const run = promisify(execFile);
x509.cryptoProvider.set(webcrypto as Crypto);

let cosignPath: string | undefined;

/** The cosign binary, built (once, cached under ~/.cache/gapguard-tools) by scripts/install-cosign.sh. */
export function cosignBinary(): string {
  cosignPath ??= execFileSync(join(repoRoot, 'scripts/install-cosign.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  return cosignPath;
}

export class Workdir {
  readonly dir = mkdtempSync(join(tmpdir(), 'gapguard-sign-'));
  file(name: string, content: string | Buffer): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CosignKey {
  /** cosign's encrypted private key file (empty password). */
  privateKey: string;
  /** The PEM public key, as a policy names it. */
  publicKeyPem: string;
  publicKeyFile: string;
}

/** A key pair of the given type, imported into cosign's key format. */
export async function cosignKey(work: Workdir, name: string, type: 'ecdsa' | 'ed25519' | 'rsa'): Promise<CosignKey> {
  const pair =
    type === 'ecdsa'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  const pem = work.file(`${name}.pem`, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  await run(cosignBinary(), ['import-key-pair', '--key', pem, '--output-key-prefix', join(work.dir, name)], { env: { ...process.env, COSIGN_PASSWORD: '' }, cwd: work.dir });
  const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return { privateKey: join(work.dir, `${name}.key`), publicKeyPem, publicKeyFile: work.file(`${name}.pub.pem`, publicKeyPem) };
}

let roots = 0;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  trustedRootFile: string;
  /** Issues a leaf certificate for `subject` (an email) from `issuer`, with its key in cosign's format. */
  issue(name: string, options: { subject: string; issuer: string; notBefore?: Date; notAfter?: Date }): Promise<{ key: string; certificate: string; chain: string }>;
}

/** The Fulcio OIDC issuer extension (v2): a DER UTF8String. */
function issuerExtension(issuer: string): x509.Extension {
  const value = Buffer.from(issuer, 'utf8');
  if (value.length > 127) throw new Error('test issuer too long for a short-form DER length');
  return new x509.Extension('1.3.6.1.4.1.57264.1.8', false, Buffer.concat([Buffer.from([0x0c, value.length]), value]));
}

/** A root and an intermediate CA, and the trusted_root.json that trusts them (no logs). */
export async function testCa(work: Workdir): Promise<TestCa> {
  const now = Date.now();
  const rootKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=gapguard test root, O=gapguard',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    keys: rootKeys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey)],
  });
  const interKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const intermediate = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=gapguard test intermediate, O=gapguard',
    issuer: root.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const der = (c: x509.X509Certificate) => Buffer.from(c.rawData).toString('base64');
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: 'gapguard', commonName: 'gapguard test intermediate' },
        uri: 'https://fulcio.test.invalid',
        certChain: { certificates: [{ rawBytes: der(intermediate) }, { rawBytes: der(root) }] },
        validFor: { start: new Date(now - DAY).toISOString() },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  };
  let serial = 16;
  return {
    trustedRootFile: work.file(`trusted_root-${++roots}.json`, JSON.stringify(trustedRoot)),
    async issue(name, { subject, issuer, notBefore, notAfter }) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicKey = await webcrypto.subtle.importKey('spki', pair.publicKey.export({ type: 'spki', format: 'der' }), EC, true, ['verify']);
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16),
        subject: '',
        issuer: intermediate.subject,
        notBefore: notBefore ?? new Date(now - DAY),
        notAfter: notAfter ?? new Date(now + 2 * DAY),
        publicKey,
        signingKey: interKeys.privateKey,
        signingAlgorithm: EC,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
          new x509.SubjectAlternativeNameExtension([{ type: 'email', value: subject }], true),
          await x509.AuthorityKeyIdentifierExtension.create(interKeys.publicKey),
          issuerExtension(issuer),
        ],
      });
      const pem = work.file(`${name}.key.pem`, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
      await run(cosignBinary(), ['import-key-pair', '--key', pem, '--output-key-prefix', join(work.dir, name)], { env: { ...process.env, COSIGN_PASSWORD: '' }, cwd: work.dir });
      return {
        key: join(work.dir, `${name}.key`),
        certificate: work.file(`${name}.crt`, leaf.toString('pem')),
        chain: work.file(`${name}.chain.pem`, `${intermediate.toString('pem')}\n${root.toString('pem')}\n`),
      };
    },
  };
}

/** Runs cosign with the test registry's CA trusted and no password on keys; returns stdout. */
export async function cosign(args: string[], registryCaFile: string): Promise<string> {
  try {
    const { stdout } = await run(cosignBinary(), args, {
      env: { ...process.env, COSIGN_PASSWORD: '', SSL_CERT_FILE: registryCaFile, COSIGN_EXPERIMENTAL: '0', TUF_ROOT: join(tmpdir(), 'gapguard-cosign-tuf') },
      timeout: 120_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cosign ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}
