// Applies the engine's JSON Patch to a parsed YAML document in place, so that `gapguard fix` keeps
// the document's comments and key order and changes only what the patch says.
import type { Operation } from 'fast-json-patch';
import { isSeq, type Document } from 'yaml';
import type { Segment } from '../workloads/types.js';

function fromPointer(doc: Document, base: readonly Segment[], pointer: string): Segment[] {
  const path: Segment[] = [...base];
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    // Sequence indexes must be numbers for the yaml API; mapping keys stay strings.
    path.push(isSeq(doc.getIn(path, true)) && /^\d+$/.test(token) ? Number(token) : token);
  }
  return path;
}

/** `base` is where the patched object sits in the document ([] or ['items', i] in a List). */
export function applyPatchToYaml(doc: Document, base: readonly Segment[], patch: readonly Operation[]): void {
  for (const op of patch) {
    if (op.op !== 'add' && op.op !== 'replace') throw new Error(`unsupported fix operation ${op.op}`);
    const path = fromPointer(doc, base, op.path);
    const last = path[path.length - 1];
    if (op.op === 'add' && last === '-') doc.addIn(path.slice(0, -1), doc.createNode(op.value));
    else doc.setIn(path, doc.createNode(op.value));
  }
}
