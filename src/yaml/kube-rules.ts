// How kubectl and helm turn YAML into JSON (sigs.k8s.io/yaml over go-yaml v2), shared by both of
// gapguard's YAML readers (the fast one for judging, the position-keeping one for fix and policy):
// YAML 1.1 plain scalars (yes/no/on/off/y/n are booleans, 0777 is octal, timestamps stay strings),
// `<<` merge keys applied in document order (a later key, merged or not, wins; within a merge
// sequence the earlier mapping wins), aliases copied into a tree as JSON would carry them, and
// mapping keys turned into strings. The one deliberate difference: a key written twice in one
// mapping is an error here (kubectl keeps the last), so an input that reads two ways is refused.

/** A problem in the YAML text; `offset` points into the text that was read. */
export class KubeYamlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'KubeYamlError';
  }
}

const WORDS = new Map<string, unknown>([
  ['~', null], ['null', null], ['Null', null], ['NULL', null],
  ['y', true], ['Y', true], ['yes', true], ['Yes', true], ['YES', true],
  ['true', true], ['True', true], ['TRUE', true], ['on', true], ['On', true], ['ON', true],
  ['n', false], ['N', false], ['no', false], ['No', false], ['NO', false],
  ['false', false], ['False', false], ['FALSE', false], ['off', false], ['Off', false], ['OFF', false],
  ['.inf', Infinity], ['.Inf', Infinity], ['.INF', Infinity], ['+.inf', Infinity], ['+.Inf', Infinity], ['+.INF', Infinity],
  ['-.inf', -Infinity], ['-.Inf', -Infinity], ['-.INF', -Infinity], ['.nan', NaN], ['.NaN', NaN], ['.NAN', NaN],
]);

// Go's strconv.ParseInt(s, 0, 64) syntax, after go-yaml removed every underscore.
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const GO_UINT = /^(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
// go-yaml v2's yamlStyleFloat.
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function goInteger(text: string): bigint {
  const negative = text[0] === '-';
  let digits = text[0] === '-' || text[0] === '+' ? text.slice(1) : text;
  const prefix = digits.slice(0, 2).toLowerCase();
  if (prefix === '0o') digits = '0o' + digits.slice(2);
  else if (prefix !== '0x' && prefix !== '0b' && digits.length > 1 && digits[0] === '0') digits = '0o' + digits.slice(1);
  const value = BigInt(digits);
  return negative ? -value : value;
}

/** The value go-yaml v2 gives an untagged plain scalar. */
export function resolvePlain(text: string): unknown {
  if (text === '') return null;
  const c = text.charCodeAt(0);
  const numeric = (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46;
  // Only words of null/bool/inf/nan and numbers resolve; everything else is a string.
  if (!numeric) return text.length <= 5 && WORDS.has(text) ? WORDS.get(text) : text;
  if (text.length <= 6 && WORDS.has(text)) return WORDS.get(text);
  const plain = text.includes('_') ? text.replace(/_/g, '') : text;
  if (GO_INT.test(plain)) {
    const value = goInteger(plain);
    if (value >= -INT64_MAX - 1n && value <= INT64_MAX) return Number(value);
    if (GO_UINT.test(plain) && value <= UINT64_MAX) return Number(value);
  }
  if (YAML_FLOAT.test(plain)) {
    const value = Number(plain);
    if (Number.isFinite(value)) return value;
  }
  return text;
}

/** The prefix of YAML's core tags: `!!int` is `tag:yaml.org,2002:int`. */
export const CORE = 'tag:yaml.org,2002:';

/** The value of a scalar with an explicit tag (full form), as go-yaml v2 decodes it into an interface. */
export function resolveTagged(tag: string, text: string, offset: number): unknown {
  switch (tag) {
    case `${CORE}str`:
    case `${CORE}binary`:
    case `${CORE}timestamp`:
    case '!':
      return text;
    case `${CORE}null`:
    case `${CORE}bool`:
    case `${CORE}int`:
    case `${CORE}float`: {
      const value = resolvePlain(text);
      const type = value === null ? 'null' : typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? (Number.isInteger(value) && !/[.eE]/.test(text) ? 'int' : 'float') : 'str';
      const wanted = tag.slice(CORE.length);
      if (type === wanted || (wanted === 'float' && type === 'int')) return value;
      throw new KubeYamlError(`cannot read "${text.slice(0, 40)}" as !!${wanted}`, offset);
    }
    default:
      // go-yaml leaves scalars with tags it does not know as their text.
      return text;
  }
}

/** The string a mapping key becomes in JSON (sigs.k8s.io/yaml); null and collection keys are refused. */
export function keyString(key: unknown, offset: number): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (typeof key === 'number') {
    if (Number.isNaN(key)) return '.nan';
    if (key === Infinity) return '.inf';
    if (key === -Infinity) return '-.inf';
    return String(key);
  }
  throw new KubeYamlError(`a mapping key must be a string, number or boolean, not ${key === null ? 'null' : Array.isArray(key) ? 'a sequence' : 'a mapping'}`, offset);
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // A `__proto__` key is data, never the object's prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** Builds one mapping pair by pair with kubectl's merge-key rules and gapguard's duplicate-key check. */
export class MappingBuilder {
  readonly value: Record<string, unknown> = {};
  /** Keys whose value a merge gave (an explicit key may replace those); most mappings have none. */
  private merged: Set<string> | undefined;

  /** An explicit `key: value` pair. */
  set(key: string, value: unknown, offset: number): void {
    if (hasOwn(this.value, key) && !this.merged?.delete(key)) throw new KubeYamlError(`duplicate mapping key "${key.slice(0, 80)}"`, offset);
    setKey(this.value, key, value);
  }

  /** A `<<` pair: a mapping, or a sequence of mappings of which the earlier wins; later pairs win over it. */
  merge(source: unknown, offset: number): void {
    const sources = Array.isArray(source) ? [...source].reverse() : [source];
    for (const s of sources) {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) {
        throw new KubeYamlError('a merge key (<<) needs a mapping or a sequence of mappings', offset);
      }
      for (const [key, value] of Object.entries(s)) {
        setKey(this.value, key, value);
        // A key merged in after an explicit one replaces it (go-yaml v2 reads in order); a later
        // explicit key may again replace the merged one.
        (this.merged ??= new Set()).add(key);
      }
    }
  }
}

/** `<<` as a plain key is a merge; quoted, it is an ordinary key. */
export const MERGE_KEY = '<<';

/**
 * Counts the nodes an alias copies, so a small document cannot expand into a huge one ("billion
 * laughs"). kubectl's go-yaml refuses "excessive aliasing" in the same spirit.
 */
export class AliasBudget {
  private left: number;
  constructor(limit: number) {
    this.left = limit;
  }
  copy(value: unknown, offset: number): unknown {
    return copyTree(value, () => {
      if (--this.left < 0) throw new KubeYamlError('document expands too far through aliases (excessive aliasing)', offset);
    });
  }
}

/** Nodes one document may copy through aliases: generous for real manifests, far below a memory blow-up. */
export const ALIAS_COPY_LIMIT = 1_000_000;

function copyTree(value: unknown, count?: () => void): unknown {
  count?.();
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => copyTree(v, count));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setKey(out, k, copyTree(v, count));
  return out;
}
