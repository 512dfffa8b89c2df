/**
 * env-secrets: secrets in environment variables.
 *
 * Reads, for every container (init, regular, ephemeral): `env[].name`, `env[].value`,
 * `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`.
 *
 * Rules:
 * - `env-secrets/literal-secret` (high): a literal `value` that is a credential: either the name
 *   says credential (DB_PASSWORD, apiKey, REDIS_AUTH, run together or abbreviated: CLIENTSECRET,
 *   DBPASS, ADMIN_PW ...) and the value looks like one (not empty, a boolean, a number, a file path,
 *   a URL without a password, only `$(VAR)` references, or for auth names a mechanism such as
 *   htpasswd), or the value has a known credential format whatever the name (AWS key id, every
 *   GitHub/GitLab/Slack/Stripe token prefix, PEM key, JWT, URL, DSN or connection string with a
 *   password ...). A `*_FILE` name holds a path (POSIX or Windows); under any other credential name
 *   a value that merely starts with `/` (one bare segment) is still a candidate.
 * - `env-secrets/secret-reference` (medium): a Secret delivered through the environment
 *   (`valueFrom.secretKeyRef`, `envFrom[].secretRef`); the environment leaks through inspect
 *   output, /proc/<pid>/environ and crash dumps, where a `secret` volume would not.
 *
 * Messages name the variable and the container, never the value. No fix: moving a secret into a
 * volume needs the application to read a file.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import { memoize } from '../memo.js';
import type { ContainerRef, EnvVar } from '../workloads/types.js';

const GAP = 'env-secrets';
const LITERAL_SECRET = 'env-secrets/literal-secret';
const SECRET_REFERENCE = 'env-secrets/secret-reference';

/** Name word parts that mean the variable holds a credential. */
const CREDENTIAL_WORDS = new Set([
  'password', 'passwd', 'pwd', 'pass', 'passphrase', 'htpasswd',
  'secret', 'secrets', 'token', 'tokens', 'credential', 'credentials', 'creds',
  'apikey', 'apikeys', 'privatekey', 'accesskey', 'secretkey',
]);
/** Endings of run-together names that hold a credential: CLIENTSECRET, APITOKEN, DBPASS, ADMINPWD. */
const RUN_TOGETHER_ENDINGS = ['secret', 'secrets', 'token', 'tokens', 'apikey', 'pwd', 'pass'];
/** English words that end in `pass` without being one. */
const NOT_A_PASS = new Set(['bypass', 'compass', 'encompass', 'surpass', 'overpass', 'underpass', 'trespass']);
/** Abbreviations that name a password only as the last word: ADMIN_PW, SMTP_PW (PW_TEST_* is Playwright's). */
const LAST_WORD_ABBREVIATIONS = new Set(['pw', 'pword']);
/** The shell's working directories, not passwords. */
const SHELL_DIRECTORIES = new Set(['pwd', 'oldpwd']);
/** Last words that say the value is a path to the credential, not the credential: DB_PASSWORD_FILE. */
const PATH_SUFFIXES = new Set(['file', 'files']);
/** Words that make a following `key` a credential: API_KEY, PRIVATE_KEY, accessKey ... */
const KEY_KINDS = new Set([
  'api', 'private', 'access', 'signing', 'encryption', 'master', 'account', 'shared', 'session',
  'client', 'app', 'license', 'service',
]);
/** `auth` names either hold a credential (REDIS_AUTH) or pick a mechanism (REGISTRY_AUTH=htpasswd). */
const AUTH_WORDS = new Set(['auth', 'authorization']);
/** Values that pick an authentication mechanism rather than hold a credential. */
const AUTH_MECHANISMS = new Set([
  'none', 'anonymous', 'basic', 'bearer', 'digest', 'htpasswd', 'token', 'oauth', 'oauth2', 'oidc', 'openid', 'ldap',
  'saml', 'jwt', 'kerberos', 'ntlm', 'iam', 'mtls', 'tls', 'x509', 'cert', 'certificate', 'apikey', 'api-key',
  'password', 'plain', 'login', 'sasl', 'scram-sha-256', 'scram-sha-512', 'sso',
]);
/**
 * A last word part that says the variable describes a credential rather than holding one:
 * SECRET_NAME, TOKEN_URL, AUTH_TYPE, PASSWORD_MIN_LENGTH. `file` is not among them: a *_FILE
 * variable is fine when it holds a path, which the value test sees.
 */
const DESCRIPTIVE_SUFFIXES = new Set([
  'name', 'names', 'user', 'username', 'login', 'url', 'uri', 'endpoint', 'host', 'hostname', 'server', 'port',
  'domain', 'issuer', 'audience', 'realm', 'scope', 'scopes', 'header', 'type', 'mode', 'method', 'provider',
  'enabled', 'disabled', 'required', 'policy', 'algorithm', 'length', 'min', 'max', 'size', 'ttl', 'expiry',
  'expiration', 'lifetime', 'timeout', 'duration', 'interval', 'rotation', 'version', 'format', 'field', 'prefix',
  'count', 'limit', 'path', 'dir', 'directory',
]);
/** Underscores and dashes, camelCase and acronym boundaries (APIKey), letters next to digits. */
const WORD_BOUNDARY = /[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/;

/** What a variable name says about its value. */
type NameKind = 'credential' | 'auth' | 'other';

interface NameReading {
  kind: NameKind;
  /** A `*_FILE` name: a path is what it should hold. */
  holdsPath: boolean;
}

function namesCredential(word: string, index: number, words: readonly string[]): boolean {
  return (
    CREDENTIAL_WORDS.has(word) ||
    // Run-together spellings: DBPASSWORD, rootpasswd, CLIENTSECRET, APITOKEN, DBPASS.
    word.includes('password') ||
    word.includes('passwd') ||
    (RUN_TOGETHER_ENDINGS.some((ending) => word.endsWith(ending)) && !NOT_A_PASS.has(word)) ||
    (LAST_WORD_ABBREVIATIONS.has(word) && index === words.length - 1) ||
    ((word === 'key' || word === 'keys') && index > 0 && KEY_KINDS.has(words[index - 1]!))
  );
}

function classifyName(name: string): NameReading {
  const words = name.split(WORD_BOUNDARY).filter((w) => w !== '').map((w) => w.toLowerCase());
  const last = words[words.length - 1];
  if (last === undefined || DESCRIPTIVE_SUFFIXES.has(last) || SHELL_DIRECTORIES.has(name.toLowerCase())) return { kind: 'other', holdsPath: false };
  const holdsPath = PATH_SUFFIXES.has(last);
  let kind: NameKind = 'other';
  for (let i = 0; i < words.length; i++) {
    if (namesCredential(words[i]!, i, words)) return { kind: 'credential', holdsPath };
    if (AUTH_WORDS.has(words[i]!)) kind = 'auth';
  }
  return { kind, holdsPath };
}

/** Variable names repeat across pods: classify each once. */
const readName = memoize(classifyName);

const BOOLEAN_OR_NUMBER = /^(?:true|false|yes|no|on|off|enabled?|disabled?|none|null|[+-]?\d+(?:\.\d+)?(?:ms|s|m|h|d)?)$/i;
const POSIX_PATH = /^(?:\/|\.{1,2}\/|~\/)[\w.@-]*(?:\/[\w.@-]*)*$/;
/** `C:\secrets\db.txt`, `C:/secrets/db.txt`, `\\server\share\db.txt`. */
const WINDOWS_PATH = /^(?:[A-Za-z]:[\\/]|\\\\[^\\/\s]+[\\/])[^<>"|?*\0-\x1f]*$/;
/**
 * A POSIX path beyond doubt: relative, two segments or more (/run/secrets/db), or a file name
 * with an extension (/key.json). A single bare segment (/Xk9pQ2) may be a password that merely
 * starts with `/`.
 */
const UNMISTAKABLE_PATH = /^(?:\.{1,2}\/|~\/|\/[^/]*\/.|\/[^/]*\.[A-Za-z][A-Za-z0-9]{0,7}$)/;

function isPath(value: string, holdsPath: boolean): boolean {
  if (holdsPath) return POSIX_PATH.test(value) || WINDOWS_PATH.test(value);
  return POSIX_PATH.test(value) && UNMISTAKABLE_PATH.test(value);
}
/**
 * `$(DB_PASSWORD)`, `$(USER):$(PASS)`, `Bearer $(TOKEN)`: the secret lives elsewhere. One space
 * after the scheme word, so that a run of spaces can be read only one way (no backtracking blow-up).
 */
const REFERENCES_ONLY = /^(?:(?:Bearer|Basic|Token) )?(?:\$\([A-Za-z_][\w.-]*\)|\$\{[A-Za-z_]\w*\}|[\s:/@;,=.-])+$/;
// The scheme is bounded like the one in CREDENTIAL_FORMATS: a long value without `://` is ruled out in 32 characters.
const URL_WITHOUT_USERINFO = /^[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s@]*$/;

/** Whether a value under a name read this way could itself be the credential. */
function couldBeCredential({ kind, holdsPath }: NameReading, value: string): boolean {
  const v = value.trim();
  if (kind === 'other' || v === '' || (kind === 'auth' && AUTH_MECHANISMS.has(v.toLowerCase()))) return false;
  return !BOOLEAN_OR_NUMBER.test(v) && !isPath(v, holdsPath) && !REFERENCES_ONLY.test(v) && !URL_WITHOUT_USERINFO.test(v);
}

interface CredentialFormat {
  label: string;
  /** A fixed part every match contains: ordinary values are ruled out by one cheap scan for these. */
  marker: string;
  pattern: string;
}

/**
 * Credential formats recognised whatever the variable is called. Every pattern starts where a run
 * of its characters starts (a lookbehind) or has bounded repetition, so scanning is linear even on
 * a hostile multi-megabyte value.
 */
const CREDENTIAL_FORMATS: readonly CredentialFormat[] = [
  { label: 'an AWS access key id', marker: 'AKIA|ASIA|ABIA|ACCA', pattern: '(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])' },
  // GitHub: personal (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server (ghs_), refresh
  // (ghr_) and fine-grained personal tokens (github_pat_).
  { label: 'a GitHub token', marker: 'gh[pousr]_|github_pat_', pattern: '(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22})' },
  // GitLab's token prefixes table: personal/project/group access, OAuth application secret, deploy,
  // runner authentication, CI/CD job, pipeline trigger, feed, incoming mail, agent, SCIM, feature
  // flags client, the legacy runner registration token, and the session cookie.
  {
    label: 'a GitLab token',
    marker: 'gl(?:pat|oas|dt|rt|cbt|ptt|ft|imt|agent|soat|ffct)-|GR1348941|_gitlab_session=',
    pattern:
      '(?<![A-Za-z0-9_-])(?:gl(?:pat|oas|dt|rt|cbt|ptt|ft|imt|agent|soat|ffct)-[A-Za-z0-9_-]{20}|GR1348941[A-Za-z0-9_-]{20})|_gitlab_session=[0-9a-z]{32}',
  },
  // Slack: bot, user, workspace, refresh and legacy session tokens, configuration tokens and their
  // rotated forms (xoxe.xoxp-, xoxe-), app-level tokens (xapp-).
  {
    label: 'a Slack token',
    marker: 'xox[abeprs][.-]|xapp-',
    pattern: '(?<![A-Za-z0-9])(?:xox[abprs]-|xoxe(?:\\.xox[bp])?-|xapp-)[A-Za-z0-9-]{10}',
  },
  { label: 'a Slack webhook URL', marker: 'hooks\\.slack\\.com', pattern: 'https://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9]{8}' },
  // Stripe: secret and restricted keys, live and test, and webhook signing secrets. Publishable
  // keys (pk_) are meant to be public.
  {
    label: 'a Stripe secret key',
    marker: '_live_|_test_|whsec_',
    pattern: '(?<![A-Za-z0-9_])(?:[rs]k_(?:live|test)_|whsec_)[A-Za-z0-9]{20}',
  },
  { label: 'a Google API key', marker: 'AIza', pattern: '(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}' },
  { label: 'an npm token', marker: 'npm_', pattern: '(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}' },
  { label: 'a SendGrid API key', marker: 'SG\\.', pattern: '(?<![A-Za-z0-9_-])SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}' },
  { label: 'an Azure storage key', marker: 'Key=', pattern: '(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{20}' },
  { label: 'a PEM private key', marker: '-----BEGIN ', pattern: '-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY' },
  { label: 'a JSON Web Token', marker: 'eyJ', pattern: '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\\.eyJ[A-Za-z0-9_-]{4,}\\.' },
  { label: 'a URL with a password', marker: '://', pattern: '(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\\s/:@]*:(?!\\$[({])[^\\s/@]+@' },
  // Go's MySQL driver: user:password@tcp(host:3306)/db, no scheme.
  {
    label: 'a DSN with a password',
    marker: '@(?:tcp6?|unix)\\(',
    pattern: '(?<![^\\s"\'=,;(])[^\\s:@/"\'(=,;]{0,64}:(?![$%<{*])[^\\s@/"\']{1,128}@(?:tcp6?|unix)\\(',
  },
  // ADO.NET, ODBC and JDBC key=value strings: Server=db;User Id=sa;Password=...; A value that is a
  // reference or a placeholder ($(VAR), ${VAR}, %s, <password>, ***) or starts with `/` (PWD=/app,
  // the working directory) is not one.
  {
    label: 'a connection string with a password',
    marker: '[Pp](?:[Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[Ww][Dd])[ \\t]*=',
    pattern: '(?<![A-Za-z0-9])[Pp](?:[Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[Ww][Dd])[ \\t]{0,8}=[ \\t]{0,8}["\']?(?![$%<{*/;"\'\\s])[^\\s;]',
  },
];
const FORMAT_MARKERS = new RegExp(CREDENTIAL_FORMATS.map((f) => f.marker).join('|'));
const FORMAT_SCAN = new RegExp(CREDENTIAL_FORMATS.map((f, i) => `(?<f${i}>${f.pattern})`).join('|'));

/** The label of the credential format found in `value`, if any. */
function credentialFormat(value: string): string | undefined {
  if (!FORMAT_MARKERS.test(value)) return undefined;
  const groups = FORMAT_SCAN.exec(value)?.groups;
  if (!groups) return undefined;
  return CREDENTIAL_FORMATS.find((_, i) => groups[`f${i}`] !== undefined)?.label;
}

const UNNAMED = '<unnamed>';
const LEAK_SURFACE = 'the pod spec, docker/crictl inspect output, /proc/<pid>/environ and crash dumps';
const LITERAL_REMEDIATION =
  'Store the credential in a Secret and mount it as a `secret` volume (tmpfs-backed files, e.g. under /run/secrets); ' +
  'many images read a <NAME>_FILE variable that points at such a file. Rotate the credential: it is exposed ' +
  'wherever this manifest has been.';

function secretVolumeRemediation(name: string): string {
  return (
    `Mount Secret "${name}" as a \`secret\` volume (tmpfs-backed files, e.g. at /run/secrets/${name}) and have the ` +
    'application read the file (many images accept a <NAME>_FILE variable) instead of the environment.'
  );
}

function literalSecret(c: ContainerRef, env: EnvVar, index: number, value: string): CheckFinding | undefined {
  const format = credentialFormat(value);
  const variable = env.name ?? `env[${index}]`;
  let what: string;
  if (format) what = `${variable} to a literal value in the format of ${format}`;
  else if (typeof env.name === 'string' && couldBeCredential(readName(env.name), value)) what = `${variable}, named like a credential, to a literal value`;
  else return undefined;
  return {
    gap: GAP,
    rule: LITERAL_SECRET,
    severity: 'high',
    path: [...c.path, 'env', index, 'value'],
    message: `Container "${c.name}" sets env var ${what}: anyone who can read ${LEAK_SURFACE} reads it.`,
    remediation: LITERAL_REMEDIATION,
    container: c,
  };
}

function checkContainer(c: ContainerRef, findings: CheckFinding[]): void {
  const { env, envFrom } = c.container;
  if (env) {
    for (let i = 0; i < env.length; i++) {
      const e = env[i];
      if (!e) continue;
      if (typeof e.value === 'string') {
        const finding = literalSecret(c, e, i, e.value);
        if (finding) findings.push(finding);
        continue;
      }
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = ref.name ?? UNNAMED;
      findings.push({
        gap: GAP,
        rule: SECRET_REFERENCE,
        severity: 'medium',
        path: [...c.path, 'env', i, 'valueFrom'],
        message:
          `Container "${c.name}" receives env var ${e.name ?? `env[${i}]`} from key "${ref.key ?? ''}" of Secret "${secret}" ` +
          `(valueFrom.secretKeyRef): in the environment it leaks through ${LEAK_SURFACE}.`,
        remediation: secretVolumeRemediation(secret),
        container: c,
      });
    }
  }
  if (envFrom) {
    for (let i = 0; i < envFrom.length; i++) {
      const ref = envFrom[i]?.secretRef;
      if (!ref) continue;
      const secret = ref.name ?? UNNAMED;
      findings.push({
        gap: GAP,
        rule: SECRET_REFERENCE,
        severity: 'medium',
        path: [...c.path, 'envFrom', i, 'secretRef'],
        message:
          `Container "${c.name}" loads every key of Secret "${secret}" into its environment (envFrom.secretRef): ` +
          `in the environment they leak through ${LEAK_SURFACE}.`,
        remediation: secretVolumeRemediation(secret),
        container: c,
      });
    }
  }
}

export const envSecrets: GapCheck = {
  gap: GAP,
  rules: [LITERAL_SECRET, SECRET_REFERENCE],
  check(pod) {
    const findings: CheckFinding[] = [];
    for (const c of pod.containers) checkContainer(c, findings);
    return findings;
  },
};
