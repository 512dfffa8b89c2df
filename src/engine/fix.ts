// Turns fix intents into RFC 6902 operations against the original object. Intents that touch the
// same missing parent (say runAsNonRoot and capabilities.drop under an absent securityContext) are
// merged into one `add` of the parent, so the patch applies cleanly in any order-preserving client.
// A value the author set is never overwritten: set-if-absent skips it, append keeps what is there.
import type { Operation } from 'fast-json-patch';
import { isObject } from '../workloads/locate.js';
import { toPointer } from '../workloads/paths.js';
import type { Segment } from '../workloads/types.js';
import type { FixIntent } from './types.js';

interface PendingAdd {
  op: 'add';
  path: string;
  value: unknown;
}

/** Nests `value` under `rest`, e.g. (['a','b'], 1) -> { a: { b: 1 } }. */
function nest(rest: readonly Segment[], value: unknown): unknown {
  let out = value;
  for (let i = rest.length - 1; i >= 0; i--) out = { [rest[i] as string]: out };
  return out;
}

/** A deep copy of a JSON value (fix values are small literals; structuredClone costs more here). */
function clone<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = clone(x);
  return out as T;
}

export function buildPatch(original: unknown, intents: readonly FixIntent[]): Operation[] {
  const ops: Operation[] = [];
  // Adds of missing parents, keyed by pointer, still open to receive more nested values.
  const pending = new Map<string, PendingAdd>();
  const replaced = new Set<string>();

  const setIfAbsent = (path: readonly Segment[], value: unknown): void => {
    let node: unknown = original;
    let depth = 0;
    for (; depth < path.length; depth++) {
      const next: unknown = isObject(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[path[depth]!] : undefined;
      if (next === undefined || next === null) break;
      node = next;
    }
    if (depth === path.length) return; // the author set it
    const missing = path.slice(0, depth + 1);
    const rest = path.slice(depth + 1);
    const pointer = toPointer(missing);
    const open = pending.get(pointer);
    if (!open) {
      const add: PendingAdd = { op: 'add', path: pointer, value: nest(rest, clone(value)) };
      pending.set(pointer, add);
      ops.push(add);
      return;
    }
    // Merge into the pending add without overwriting what an earlier intent put there.
    let target = open.value as Record<string, unknown>;
    for (let i = 0; i < rest.length - 1; i++) {
      const key = rest[i] as string;
      if (!isObject(target[key])) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    const last = rest[rest.length - 1];
    if (last !== undefined && target[last as string] === undefined) target[last as string] = clone(value);
  };

  for (const intent of intents) {
    if (intent.op === 'set-if-absent') {
      setIfAbsent(intent.path, intent.value);
    } else if (intent.op === 'append') {
      let node: unknown = original;
      for (const seg of intent.path) node = isObject(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[seg] : undefined;
      if (Array.isArray(node)) {
        if (!node.includes(intent.value)) ops.push({ op: 'add', path: `${toPointer(intent.path)}/-`, value: clone(intent.value) });
      } else {
        setIfAbsent(intent.path, [intent.value]);
      }
    } else {
      // Several findings can ask for the same replacement (every container of a pod whose pod-level
      // limit is zero): replace once.
      const pointer = toPointer(intent.path);
      if (replaced.has(pointer)) continue;
      replaced.add(pointer);
      ops.push({ op: 'replace', path: pointer, value: clone(intent.value) });
    }
  }
  return ops;
}
