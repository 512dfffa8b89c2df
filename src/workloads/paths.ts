import type { Segment } from './types.js';

/** `spec.template.spec.containers[1].securityContext` — the form findings carry. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** RFC 6901 JSON Pointer, as JSON Patch wants it. */
export function toPointer(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    const text = String(seg);
    // Most segments need no escaping; skipping the regexes there is measurable on the admission path.
    out += '/' + (text.includes('~') || text.includes('/') ? text.replace(/~/g, '~0').replace(/\//g, '~1') : text);
  }
  return out;
}

/** The inverse of formatPath: `a.b[2].c` -> ['a', 'b', 2, 'c']. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
