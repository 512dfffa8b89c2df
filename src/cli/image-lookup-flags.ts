// The registry flags `serve`, `scan`, `fix` and `audit` share: --resolve-images turns lookups on (they are off
// by default, so nothing reaches the network unasked); the others say how to reach the registries.
// Errors name the flag, the file and the registry, never a credential.
import { readFileSync } from 'node:fs';
import { canonicalRegistryHost } from '../images/reference.js';
import type { ImageLookupConfig } from '../registry/lookups.js';

export class RegistryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryConfigError';
  }
}

export const IMAGE_LOOKUP_OPTIONS = {
  'resolve-images': { type: 'boolean', default: false },
  'registry-ca': { type: 'string' },
  'registry-plain-http': { type: 'string' },
  'registry-auth': { type: 'string' },
  'image-lookup-budget': { type: 'string' },
} as const;

/** scan, fix and audit wait for their registry lookups longer than an admission request can. */
export const OFFLINE_LOOKUP_BUDGET_MS = 30_000;

const DEPENDENT_FLAGS = ['registry-ca', 'registry-plain-http', 'registry-auth', 'image-lookup-budget'] as const;
const MAX_BUDGET_MS = 600_000;

export function imageLookupUsage(defaultBudgetMs: number): string {
  return `  --resolve-images                    look images up in their registries: build times for
                                      stale-image, tag digests for the digest-pin fix
  --registry-ca FILE                  extra CA certificates (PEM) trusted for registries
  --registry-auth FILE                registry credentials, docker config.json format ("auths")
  --registry-plain-http HOST[,HOST]   speak plain HTTP to these registries (development only)
  --image-lookup-budget MS            longest wait for registry facts (default ${defaultBudgetMs})
`;
}

type Credentials = ImageLookupConfig['credentials'];

/** The host a docker config.json key names: `https://index.docker.io/v1/` is docker.io. */
function registryHost(key: string): string {
  return canonicalRegistryHost(key.replace(/^https?:\/\//, '').split('/')[0]!);
}

/** `{"auths": {"host": {"auth": base64(user:password)} | {"username", "password"}}}`. */
function readRegistryAuth(file: string): Credentials {
  const where = `--registry-auth ${file}`;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // JSON.parse quotes the text around an error, and the text holds passwords: say only that it is not JSON.
    throw new RegistryConfigError(code ? `${where}: cannot read: ${code}` : `${where}: not valid JSON`);
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new RegistryConfigError(`${where}: no "auths" object (the docker config.json format, as in a kubernetes.io/dockerconfigjson Secret)`);
  }
  const credentials: Credentials = {};
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    let username: unknown = e.username;
    let password: unknown = e.password;
    if (typeof e.auth === 'string' && e.auth !== '') {
      const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new RegistryConfigError(`${where}: auths["${key}"].auth is not the base64 of username:password`);
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (typeof username !== 'string' || !username || typeof password !== 'string') {
      throw new RegistryConfigError(`${where}: auths["${key}"] has neither "auth" nor "username" and "password" (identity tokens and credential helpers are not supported)`);
    }
    credentials[registryHost(key)] = { username, password };
  }
  return credentials;
}

function readCa(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RegistryConfigError(`--registry-ca ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new RegistryConfigError(`--registry-ca ${file}: no PEM certificate in it`);
  return text;
}

/** The lookup configuration the flags describe, or undefined without --resolve-images. Reads the CA and auth files. */
export function imageLookupConfig(values: Record<string, string | boolean | undefined>, defaultBudgetMs: number): ImageLookupConfig | undefined {
  if (!values['resolve-images']) {
    const stray = DEPENDENT_FLAGS.find((flag) => values[flag] !== undefined);
    if (stray) throw new RegistryConfigError(`--${stray} has no effect without --resolve-images`);
    return undefined;
  }
  const budgetText = values['image-lookup-budget'];
  const budgetMs = typeof budgetText === 'string' ? (/^\d+$/.test(budgetText) ? Number(budgetText) : NaN) : defaultBudgetMs;
  if (!(budgetMs >= 1 && budgetMs <= MAX_BUDGET_MS)) {
    throw new RegistryConfigError(`--image-lookup-budget must be a whole number of milliseconds from 1 to ${MAX_BUDGET_MS}, not "${String(budgetText)}"`);
  }
  const plainHttp = typeof values['registry-plain-http'] === 'string' ? values['registry-plain-http'].split(',').map((h) => canonicalRegistryHost(h.trim())).filter(Boolean) : [];
  const ca = values['registry-ca'];
  const auth = values['registry-auth'];
  return {
    budgetMs,
    plainHttp,
    ...(typeof ca === 'string' ? { ca: readCa(ca) } : {}),
    credentials: typeof auth === 'string' ? readRegistryAuth(auth) : {},
  };
}
