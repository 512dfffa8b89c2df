// The position-keeping YAML reader: the `yaml` package's documents (comments, order and byte
// ranges kept, so `fix` can edit one in place and findings can name a line), read into values by
// the same kubectl rules as the fast reader (kube-rules.ts). nodeAt walks a value's path through
// the document as kubectl would resolve it: through aliases to their anchors and through `<<`
// merge keys to the mapping a merged value comes from.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node, Pair, ParsedNode, Scalar, YAMLMap } from 'yaml';
import { ALIAS_COPY_LIMIT, AliasBudget, KubeYamlError, MERGE_KEY, MappingBuilder, keyString, resolvePlain, resolveTagged } from './kube-rules.js';

let yamlModule: typeof Yaml | undefined;

/**
 * The `yaml` package, loaded on first use: it takes longer to load than a small scan takes to run.
 * A bundler (the image's esbuild) sees the plain `require` and bundles the package; compiled ESM
 * has no `require` and asks createRequire.
 */
export function yaml(): typeof Yaml {
  yamlModule ??= (typeof require === 'function' ? require('yaml') : createRequire(import.meta.url)('yaml')) as typeof Yaml;
  return yamlModule;
}

/** Two keys clash unless one of them is a plain `<<` (several merge keys are allowed). */
function sameKey(a: unknown, b: unknown): boolean {
  if (!yaml().isScalar(a) || !yaml().isScalar(b)) return a === b;
  if (isMergeKey(a) || isMergeKey(b)) return false;
  return a.value === b.value && (a.type === 'PLAIN') === (b.type === 'PLAIN');
}

function isMergeKey(key: unknown): boolean {
  return yaml().isScalar(key) && key.type === 'PLAIN' && !key.tag && key.value === MERGE_KEY;
}

/** Parse options: strings only (kube-rules resolves plain scalars), duplicate keys are errors. */
function documentOptions(lineCounter?: LineCounter, prettyErrors = true) {
  return { schema: 'failsafe' as const, uniqueKeys: sameKey, prettyErrors, ...(lineCounter ? { lineCounter } : {}) };
}

export function parseKubeDocuments(text: string, lineCounter?: LineCounter): Document.Parsed[] {
  return yaml().parseAllDocuments(text, documentOptions(lineCounter)) as Document.Parsed[];
}

/** One document; `prettyErrors: false` keeps the place out of error messages (the caller names the line). */
export function parseKubeDocument(text: string, lineCounter?: LineCounter, prettyErrors = true): Document.Parsed {
  return yaml().parseDocument(text, documentOptions(lineCounter, prettyErrors));
}

function offsetOf(node: unknown): number {
  return (node as ParsedNode | undefined)?.range?.[0] ?? 0;
}

/** A scalar's value as kubectl reads it: by its tag, or resolved when plain, or its text when quoted. */
function scalarValue(node: Scalar, offset: number): unknown {
  const text = node.value === null || node.value === undefined ? '' : String(node.value);
  if (node.tag) return resolveTagged(node.tag, text, offset);
  return node.type === 'PLAIN' ? resolvePlain(text) : text;
}

/** The document's value as kubectl reads it; throws KubeYamlError (with an offset) on what kubectl would not read. */
export function kubeValue(doc: Document): unknown {
  const budget = new AliasBudget(ALIAS_COPY_LIMIT);
  const anchors = new Map<Node, unknown>();
  const read = (node: unknown): unknown => {
    let value: unknown;
    if (node === null || node === undefined) return null;
    if (yaml().isAlias(node)) {
      const target = node.resolve(doc);
      if (!target || !anchors.has(target)) throw new KubeYamlError(`alias *${node.source} names no anchor before it`, offsetOf(node));
      return budget.copy(anchors.get(target), offsetOf(node));
    }
    if (yaml().isScalar(node)) {
      value = scalarValue(node, offsetOf(node));
    } else if (yaml().isSeq(node)) {
      value = node.items.map(read);
    } else if (yaml().isMap(node)) {
      const builder = new MappingBuilder();
      for (const pair of node.items) {
        const v = read(pair.value);
        if (isMergeKey(pair.key)) builder.merge(v, offsetOf(pair.key));
        else builder.set(keyString(read(pair.key), offsetOf(pair.key)), v, offsetOf(pair.key));
      }
      value = builder.value;
    } else {
      throw new KubeYamlError('unexpected YAML node', offsetOf(node));
    }
    if ((node as Node).anchor) anchors.set(node as Node, value);
    return value;
  };
  return read(doc.contents);
}

/**
 * What kubectl reads from a document parsed with positions, or its first problem and the line of
 * it (in the parsed text): the parser's first error (its message's first line; the rest is the
 * excerpt), or what kube-rules refuses. Scan, fix and policy errors name lines this way.
 */
export function readPositioned(doc: Document, lines: LineCounter): { value: unknown } | { problem: string; line: number } {
  const error = doc.errors[0];
  if (error) return { problem: error.message.split('\n')[0]!, line: error.linePos?.[0]?.line ?? lines.linePos(error.pos[0]).line };
  try {
    return { value: kubeValue(doc) };
  } catch (err) {
    if (!(err instanceof KubeYamlError)) throw err;
    return { problem: err.message, line: lines.linePos(err.offset).line };
  }
}

function resolved(doc: Document, node: unknown): unknown {
  return yaml().isAlias(node) ? node.resolve(doc) : node;
}

function keyMatches(doc: Document, key: unknown, name: string): boolean {
  if (isMergeKey(key)) return false;
  const k = resolved(doc, key);
  if (!yaml().isScalar(k)) return false;
  const value = scalarValue(k, 0);
  try {
    return keyString(value, 0) === name;
  } catch {
    return false;
  }
}

/**
 * Where a mapping's key gets its value from, as kubectl resolves it: the last explicit pair or
 * merge that sets it wins (go-yaml reads in order; in a merge sequence the earlier mapping wins).
 */
export function pairFor(doc: Document, map: YAMLMap, name: string): Pair | undefined {
  let found: Pair | undefined;
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) {
      const source = resolved(doc, pair.value);
      const sources = yaml().isSeq(source) ? [...source.items].reverse() : [source];
      for (const s of sources) {
        const m = resolved(doc, s);
        if (yaml().isMap(m)) found = pairFor(doc, m, name) ?? found;
      }
    } else if (keyMatches(doc, pair.key, name)) {
      found = pair;
    }
  }
  return found;
}

/** The node a value path leads to, following aliases and merge keys; undefined where the path leaves the document. */
export function nodeAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  let node = resolved(doc, doc.contents);
  for (const segment of path) {
    if (yaml().isSeq(node)) node = /^\d+$/.test(String(segment)) ? resolved(doc, node.items[Number(segment)]) : undefined;
    else if (yaml().isMap(node)) {
      const pair = pairFor(doc, node, String(segment));
      node = pair ? resolved(doc, pair.value) : undefined;
    } else return undefined;
  }
  return yaml().isPair(node) ? undefined : (node as Node | undefined);
}
