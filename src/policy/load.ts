// Loads a YAML policy file and merges it over the embedded default (policy/default.yaml). Every
// field is validated; an error names the field, the file and the line, and nothing falls back
// silently: a typo in a policy must not switch a gap off unnoticed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document, LineCounter, Node } from 'yaml';
import { GAP_IDS, type Action, type GapId } from '../engine/types.js';
import { capabilityName } from '../gaps/capabilities.js';
import { ALL_CHECKS } from '../gaps/index.js';
import { packageRoot } from '../paths.js';
import { isObject } from '../workloads/locate.js';
import { nodeAt, pairFor, parseKubeDocument, readPositioned, yaml } from '../yaml/document.js';
import { documentsOf, isRefusal } from '../yaml/fast.js';
import { parseQuantity } from '../workloads/quantity.js';
import { compileSignatureRequirements } from '../signatures/policy.js';
import type { SignatureRequirement } from '../signatures/types.js';
import type { Exemption, GapSettings, Policy, ReviewLimits } from './types.js';

export class PolicyError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(`${source}${line ? `:${line}` : ''}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'PolicyError';
  }
}

type Path = (string | number)[];
type Raw = Record<string, unknown>;

const ACTIONS: readonly Action[] = ['deny', 'warn', 'off'];
const RULES_OF = new Map<GapId, readonly string[]>(ALL_CHECKS.map((c) => [c.gap, c.rules]));

/** Fields each gap section accepts beyond action, fix and rules, with their validators. */
const GAP_PARAMS: Record<GapId, Record<string, (v: unknown) => string | undefined>> = {
  'docker-socket': { socketPaths: listOf(absolutePath) },
  privileged: {},
  'run-as-root': { allowedCapabilities: listOf(nonEmptyString) },
  'env-secrets': {},
  'unverified-image': {
    allowedRegistries: listOf(nonEmptyString),
    wellKnownImages: listOf(nonEmptyString),
    typosquatMaxDistance: intIn(0, 3),
    unpinnedVersionTags: oneOf('warn', 'deny'),
  },
  'flat-network': {},
  'resource-limits': { defaultLimits: limits },
  'stale-image': { maxImageAgeDays: intIn(1, 36500), maxRunningAgeDays: intIn(1, 36500) },
};

/** Each review limit with the range it may be set to: large enough for any real pod, small enough to bound a review. */
const LIMIT_RANGES: Record<keyof ReviewLimits, [number, number]> = {
  maxContainers: [1, 1000],
  maxVolumes: [1, 5000],
  maxEnvEntries: [1, 20_000],
  maxContainerListEntries: [1, 20_000],
  maxLabels: [1, 10_000],
  maxStringLength: [256, 1024 * 1024],
  maxEnvNameLength: [32, 64 * 1024],
  maxEnvValuesLength: [1024, 3 * 1024 * 1024],
  maxFindings: [1, 10_000],
  maxMessageBytes: [1024, 1024 * 1024],
  maxPatchBytes: [1024, 1024 * 1024],
};

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? undefined : 'must be a non-empty string';
}
function absolutePath(v: unknown): string | undefined {
  return typeof v === 'string' && v.startsWith('/') ? undefined : 'must be an absolute path';
}
function oneOf(...values: string[]) {
  return (v: unknown): string | undefined => (values.includes(v as string) ? undefined : `must be ${values.join(' or ')}`);
}
function listOf(item: (v: unknown) => string | undefined) {
  return (v: unknown): string | undefined => {
    if (!Array.isArray(v)) return 'must be a list';
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i]);
      if (problem) return `item ${i} ${problem}`;
    }
    return undefined;
  };
}
function intIn(min: number, max: number) {
  return (v: unknown): string | undefined =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `must be a whole number from ${min} to ${max}`;
}
function limits(v: unknown): string | undefined {
  if (!isObject(v)) return 'must be a mapping with cpu and memory';
  for (const key of Object.keys(v)) {
    if (key !== 'cpu' && key !== 'memory') return `unknown resource "${key}" (cpu, memory)`;
    const q = v[key];
    if ((typeof q !== 'string' && typeof q !== 'number') || parseQuantity(q) === undefined || parseQuantity(q)! <= 0) {
      return `${key} must be a positive Kubernetes quantity such as 500m or 512Mi`;
    }
  }
  return undefined;
}

/** The policy text parsed with positions, for the line of an error (parsed only when one is found). */
interface Positions {
  doc: Document;
  lines: LineCounter;
}

function positionsOf(text: string): Positions {
  const lines = new (yaml().LineCounter)();
  return { doc: parseKubeDocument(text, lines, false), lines };
}

class Validator {
  /** The signature requirements, compiled while validating (it reads their key files) when the policy names any. */
  signatures: SignatureRequirement[] | undefined;

  constructor(
    private readonly source: string,
    private readonly positions: (() => Positions) | undefined,
  ) {}

  fail(path: Path, problem: string): never {
    let line: number | undefined;
    // Walk up to the nearest field that exists in the file; a mapping entry is located by its key,
    // so the line is the one the author wrote the field name on, not where its value starts.
    const positions = this.positions?.();
    for (let p = path; positions && line === undefined; p = p.slice(0, -1)) {
      const node = this.keyNode(positions.doc, p) ?? nodeAt(positions.doc, p);
      if (node?.range) line = positions.lines.linePos(node.range[0]).line;
      if (p.length === 0) break;
    }
    throw new PolicyError(this.source, path.join('.'), line, problem);
  }

  private keyNode(doc: Document, path: Path): Node | undefined {
    if (!path.length) return undefined;
    const parent = nodeAt(doc, path.slice(0, -1));
    if (!yaml().isMap(parent)) return undefined;
    const key = pairFor(doc, parent, String(path[path.length - 1]))?.key;
    return yaml().isNode(key) ? key : undefined;
  }

  keys(v: Raw, path: Path, allowed: readonly string[]): void {
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown field (expected one of: ${allowed.join(', ')})`);
    }
  }

  policy(raw: unknown): void {
    if (!isObject(raw)) this.fail([], 'a policy must be a YAML mapping');
    this.keys(raw, [], ['mode', 'limits', 'gaps', 'exemptions']);
    if (raw.mode !== undefined && raw.mode !== 'enforce' && raw.mode !== 'audit') this.fail(['mode'], 'must be enforce or audit');
    if (raw.limits !== undefined) this.limits(raw.limits);
    if (raw.gaps !== undefined) {
      if (!isObject(raw.gaps)) this.fail(['gaps'], 'must be a mapping of gap ids');
      for (const [gap, section] of Object.entries(raw.gaps)) this.gap(gap, section);
    }
    if (raw.exemptions !== undefined) {
      if (!Array.isArray(raw.exemptions)) this.fail(['exemptions'], 'must be a list');
      raw.exemptions.forEach((ex, i) => this.exemption(ex, ['exemptions', i]));
    }
  }

  private limits(v: unknown): void {
    if (!isObject(v)) this.fail(['limits'], 'must be a mapping of limit names');
    this.keys(v, ['limits'], Object.keys(LIMIT_RANGES));
    for (const [name, [min, max]] of Object.entries(LIMIT_RANGES)) {
      const problem = v[name] === undefined ? undefined : intIn(min, max)(v[name]);
      if (problem) this.fail(['limits', name], problem);
    }
  }

  private gap(gap: string, section: unknown): void {
    const path = ['gaps', gap];
    if (!(GAP_IDS as readonly string[]).includes(gap)) this.fail(path, `unknown gap id (known: ${GAP_IDS.join(', ')})`);
    const params = GAP_PARAMS[gap as GapId];
    if (!isObject(section)) this.fail(path, 'must be a mapping');
    // signatures is checked by its own compiler, which locates errors in its nested fields.
    const nested = gap === 'unverified-image' ? ['signatures'] : [];
    this.keys(section, path, ['action', 'fix', 'rules', ...Object.keys(params), ...nested]);
    this.actionAndFix(section, path);
    if (gap === 'unverified-image' && section.signatures !== undefined) {
      this.signatures = compileSignatureRequirements(section.signatures, [...path, 'signatures'], (p, problem) => this.fail(p, problem));
    }
    for (const [name, validate] of Object.entries(params)) {
      if (section[name] === undefined) continue;
      const problem = validate(section[name]);
      if (problem) this.fail([...path, name], problem);
    }
    if (section.rules === undefined) return;
    if (!isObject(section.rules)) this.fail([...path, 'rules'], 'must be a mapping of rule ids');
    const known = RULES_OF.get(gap as GapId) ?? [];
    for (const [rule, settings] of Object.entries(section.rules)) {
      const rulePath = [...path, 'rules', rule];
      if (!known.includes(rule)) this.fail(rulePath, `unknown rule of ${gap} (known: ${known.join(', ')})`);
      if (!isObject(settings)) this.fail(rulePath, 'must be a mapping with action and/or fix');
      this.keys(settings, rulePath, ['action', 'fix']);
      this.actionAndFix(settings, rulePath);
    }
  }

  private actionAndFix(v: Raw, path: Path): void {
    // Policies are read as kubectl and helm read YAML (1.1), where a plain `off` is the boolean false.
    if (v.action === false) v.action = 'off';
    if (v.action !== undefined && !ACTIONS.includes(v.action as Action)) this.fail([...path, 'action'], 'must be deny, warn or off');
    if (v.fix !== undefined && typeof v.fix !== 'boolean') this.fail([...path, 'fix'], 'must be true or false');
  }

  private exemption(ex: unknown, path: Path): void {
    if (!isObject(ex)) this.fail(path, 'must be a mapping with match, gaps and reason');
    this.keys(ex, path, ['match', 'gaps', 'reason', 'expires']);
    if (typeof ex.reason !== 'string' || ex.reason.trim() === '') this.fail([...path, 'reason'], 'is required: say why the gap is waived');
    if (!Array.isArray(ex.gaps) || ex.gaps.length === 0) this.fail([...path, 'gaps'], 'must list at least one gap id');
    ex.gaps.forEach((g, i) => {
      if (!(GAP_IDS as readonly unknown[]).includes(g)) this.fail([...path, 'gaps', i], `unknown gap id "${String(g)}"`);
    });
    if (ex.match !== undefined) {
      if (!isObject(ex.match)) this.fail([...path, 'match'], 'must be a mapping');
      const fields = ['namespaces', 'serviceAccounts', 'names', 'images'];
      this.keys(ex.match, [...path, 'match'], fields);
      for (const f of fields) {
        const problem = ex.match[f] === undefined ? undefined : listOf(nonEmptyString)(ex.match[f]);
        if (problem) this.fail([...path, 'match', f], problem);
      }
    }
    if (ex.expires !== undefined && parseExpiry(ex.expires) === undefined) {
      this.fail([...path, 'expires'], 'must be a date written YYYY-MM-DD');
    }
  }
}

/** The end of the given day in UTC: an exemption is valid through its expiry date. */
function parseExpiry(v: unknown): Date | undefined {
  const text = v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'string' ? v : '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const d = new Date(`${text}T23:59:59.999Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text ? undefined : d;
}

/** Lists replace, mappings merge. */
function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** A policy file read and validated: its raw mapping, and its signature requirements when it names any. */
interface Parsed {
  raw: Raw;
  signatures: SignatureRequirement[] | undefined;
}

function compile(raw: Raw, signatures: SignatureRequirement[]): Policy {
  const gapsRaw = raw.gaps as Record<GapId, Raw>;
  const gaps = {} as Record<GapId, GapSettings>;
  for (const gap of GAP_IDS) {
    const s = gapsRaw[gap]!;
    gaps[gap] = {
      action: s.action as Action,
      fix: s.fix as boolean,
      rules: (s.rules as GapSettings['rules'] | undefined) ?? {},
    };
  }
  const image = gapsRaw['unverified-image'];
  const limitsRaw = gapsRaw['resource-limits'].defaultLimits as Record<string, string | number>;
  const stale = gapsRaw['stale-image'];
  const exemptions: Exemption[] = ((raw.exemptions as Raw[] | undefined) ?? []).map((ex, index) => {
    const expires = ex.expires === undefined ? undefined : parseExpiry(ex.expires);
    return {
      index,
      match: (ex.match as Exemption['match'] | undefined) ?? {},
      gaps: ex.gaps as GapId[],
      reason: (ex.reason as string).trim(),
      ...(expires ? { expires } : {}),
    };
  });
  return {
    mode: raw.mode as Policy['mode'],
    limits: { ...(raw.limits as ReviewLimits) },
    gaps,
    dockerSocket: { socketPaths: gapsRaw['docker-socket'].socketPaths as string[] },
    runAsRoot: { allowedCapabilities: (gapsRaw['run-as-root'].allowedCapabilities as string[]).map(capabilityName) },
    unverifiedImage: {
      allowedRegistries: image.allowedRegistries as string[],
      wellKnownImages: image.wellKnownImages as string[],
      typosquatMaxDistance: image.typosquatMaxDistance as number,
      signatures,
      unpinnedVersionTags: image.unpinnedVersionTags as 'warn' | 'deny',
    },
    resourceLimits: { defaultLimits: { cpu: String(limitsRaw.cpu), memory: String(limitsRaw.memory) } },
    staleImage: { maxImageAgeDays: stale.maxImageAgeDays as number, maxRunningAgeDays: stale.maxRunningAgeDays as number },
    exemptions,
  };
}

/** Reads a policy as kubectl reads YAML (kube-rules), fast; positions are parsed only to name an error's line. */
function parseRaw(text: string, source: string): Parsed {
  let raw: unknown;
  try {
    const docs = documentsOf(text, 0);
    if (docs.length > 1) throw new PolicyError(source, '', undefined, 'invalid YAML: a policy file holds one document');
    raw = docs[0]?.value;
  } catch (err) {
    if (err instanceof PolicyError || !isRefusal(err)) throw err;
    const { doc, lines } = positionsOf(text);
    const read = readPositioned(doc, lines);
    if ('problem' in read) throw new PolicyError(source, '', read.line, `invalid YAML: ${read.problem}`);
    throw err;
  }
  // An empty, comment-only, `null` or `~` document is what a file caught mid-write or truncated by
  // mistake looks like: taken as "the embedded default" it would silently drop every setting.
  if (raw === null || raw === undefined) {
    throw new PolicyError(source, '', undefined, 'the policy is empty (no mapping, or null); write {} to mean the embedded default as it is');
  }
  const validator = new Validator(source, () => positionsOf(text));
  validator.policy(raw);
  return { raw: raw as Raw, signatures: validator.signatures };
}

export const DEFAULT_POLICY_FILE = join(packageRoot, 'policy', 'default.yaml');
let defaultParsed: Parsed | undefined;

function defaults(): Parsed {
  defaultParsed ??= parseRaw(readFileSync(DEFAULT_POLICY_FILE, 'utf8'), DEFAULT_POLICY_FILE);
  return defaultParsed;
}

/** The embedded default policy. */
export function defaultPolicy(): Policy {
  const { raw, signatures } = defaults();
  return compile(raw, signatures ?? []);
}

/** A policy from YAML text, merged over the default. Throws PolicyError. */
export function parsePolicy(text: string, source = 'policy'): Policy {
  const user = parseRaw(text, source);
  const base = defaults();
  // Lists replace: the user's signatures, when the file names any, else the default's.
  return compile(merge(withoutRulesOfGapsTurnedOff(base.raw, user.raw), user.raw) as Raw, user.signatures ?? base.signatures ?? []);
}

/**
 * A gap the user turns off is off entirely: the default's rule-level actions (say, the warn on
 * privileged/escalation) must not keep parts of it alive. Rules the user sets in the same file
 * still apply.
 */
function withoutRulesOfGapsTurnedOff(base: Raw, user: unknown): Raw {
  const userGaps = isObject(user) && isObject(user.gaps) ? user.gaps : {};
  const gaps: Raw = { ...(base.gaps as Raw) };
  for (const [gap, section] of Object.entries(userGaps)) {
    if (isObject(section) && section.action === 'off') gaps[gap] = { ...(gaps[gap] as Raw), rules: {} };
  }
  return { ...base, gaps };
}

/** The text of a policy file. Throws PolicyError for an unreadable file. */
export function readPolicyText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError(file, '', undefined, `cannot read the policy file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** A policy file, merged over the default. Throws PolicyError (also for an unreadable file). */
export function loadPolicyFile(file: string): Policy {
  return parsePolicy(readPolicyText(file), file);
}
