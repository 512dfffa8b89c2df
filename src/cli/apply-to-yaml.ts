// Applies the engine's JSON Patches to a parsed YAML document, so that `gapguard fix` keeps the
// document's comments and key order and changes only what the patch says. Paths are walked as
// kubectl resolves them (through aliases and `<<` merge keys, src/yaml/document.ts). Editing an
// anchored node changes every alias of it, and a key added next to a merge key may meet the merged
// one, so every edit is checked: the edited document, read as kubectl reads it, must equal the
// original value with the patches applied; otherwise nothing is written and a reason is given.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { Document, isMap, isSeq, Pair, visit, type Node } from 'yaml';
import { kubeValue, nodeAt, pairFor } from '../yaml/document.js';
import { KubeYamlError, resolvePlain } from '../yaml/kube-rules.js';
import type { Segment } from '../workloads/types.js';
import type { SourceDocument } from './input.js';

export interface ObjectFix {
  /** Where the patched object sits in the document ([] or ['items', i] in a List). */
  base: readonly Segment[];
  patch: readonly Operation[];
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** A node for a patch value; strings that a YAML 1.1 reader would take for something else are quoted. */
function nodeFor(value: unknown): Node {
  const node = new Document(value).contents as Node;
  visit(node, {
    Scalar(_, scalar) {
      // The document holds strings only (kube-rules resolves plain scalars when it is read back).
      if (typeof scalar.value === 'string') scalar.type = resolvePlain(scalar.value) !== scalar.value ? 'QUOTE_DOUBLE' : 'PLAIN';
      else {
        scalar.value = scalar.value === null ? 'null' : String(scalar.value);
        scalar.type = 'PLAIN';
      }
    },
  });
  return node;
}

class RefusedEdit extends Error {}

function applyOperation(doc: Document, base: readonly Segment[], op: Operation): void {
  if (op.op !== 'add' && op.op !== 'replace') throw new RefusedEdit(`unsupported fix operation ${op.op}`);
  const path = [...base.map(String), ...pointerSegments(op.path)];
  const last = path[path.length - 1];
  const parent = nodeAt(doc, path.slice(0, -1));
  if (isSeq(parent)) {
    if (op.op === 'add' && last === '-') parent.items.push(nodeFor(op.value));
    else if (/^\d+$/.test(last) && Number(last) <= parent.items.length) {
      if (op.op === 'add') parent.items.splice(Number(last), 0, nodeFor(op.value));
      else parent.items[Number(last)] = nodeFor(op.value);
    } else throw new RefusedEdit(`no sequence item ${last} at ${op.path}`);
    return;
  }
  if (!isMap(parent)) throw new RefusedEdit(`${op.path} does not lead through mappings and sequences of the document`);
  const pair = pairFor(doc, parent, last);
  // A key of this very mapping is replaced in place; one merged in from elsewhere, or a new one,
  // becomes a key of this mapping (placed last, so it wins over every merge before it).
  if (pair && parent.items.includes(pair)) pair.value = nodeFor(op.value);
  else parent.items.push(new Pair(nodeFor(last), nodeFor(op.value)));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The document's new text with every object's patch applied, or why it cannot be written: the
 * edit would read differently once aliases and merge keys are resolved (or lead nowhere).
 */
export function fixDocument(document: SourceDocument, fixes: readonly ObjectFix[]): string | { refused: string } {
  const original = document.positions().doc;
  const doc = original.clone();
  // What kubectl must read once the fix is in: the value as read, patched (as a plain tree).
  const expected = JSON.parse(JSON.stringify(document.value)) as unknown;
  try {
    for (const { base, patch } of fixes) {
      let target: unknown = expected;
      for (const s of base) target = (target as Record<string, unknown>)[s];
      jsonpatch.applyPatch(target, jsonpatch.deepClone(patch) as Operation[], false, true);
      for (const op of patch) applyOperation(doc, base, op);
    }
  } catch (err) {
    if (err instanceof RefusedEdit) return { refused: err.message };
    throw err;
  }
  let actual: unknown;
  try {
    actual = kubeValue(doc);
  } catch (err) {
    if (err instanceof KubeYamlError) return { refused: `the edited document would not read back: ${err.message}` };
    throw err;
  }
  if (!sameValue(actual, expected)) {
    return {
      refused:
        'the fix cannot be written without changing other values that share it through a YAML anchor, alias or merge key (or being overridden by one); fix this object by hand',
    };
  }
  return doc.toString();
}
