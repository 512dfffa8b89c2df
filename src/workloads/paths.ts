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
  for (const seg of path) out += '/' + String(seg).replace(/~/g, '~0').replace(/\//g, '~1');
  return out;
}
