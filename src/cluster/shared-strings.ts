// JSON.parse makes a new copy of every string of every object, and the background audit holds
// thousands of objects that repeat the same ones: Pods of one template (images, container names,
// quantities, paths, label values) and their findings (the same message and remedy for every
// replica). What it keeps shares one copy of each string instead.
import { isObject } from '../workloads/locate.js';

/** Shared strings: bounded, and started again when full (objects kept meanwhile keep theirs). */
const SHARED_MAX_CHARS = 4_000_000;
const SHARED_MAX_LENGTH = 4096;
let shared = new Map<string, string>();
let sharedChars = 0;

/** A deep copy of value whose strings are the shared copies. */
export function share(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.length > SHARED_MAX_LENGTH) return value;
    const known = shared.get(value);
    if (known !== undefined) return known;
    if (sharedChars + value.length > SHARED_MAX_CHARS) {
      shared = new Map();
      sharedChars = 0;
    }
    shared.set(value, value);
    sharedChars += value.length;
    return value;
  }
  if (Array.isArray(value)) return value.map(share);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = share(value[key]);
  return out;
}
