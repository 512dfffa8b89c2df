// The fixes of docker-socket, privileged, run-as-root and resource-limits together, on every
// failing fixture of those gaps: the engine's patch applies cleanly, removes every fixable finding
// and adds no new one, changes nothing the author set but a limit of zero (which sets no bound), and
// a second round has nothing left to do.
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import { evaluate } from '../src/engine/engine.js';
import type { Finding, GapId } from '../src/engine/types.js';
import type { KubeObject } from '../src/workloads/locate.js';
import { parseQuantity } from '../src/workloads/quantity.js';
import { fixtureDocs } from './gaps/gap-fixtures.js';
import { makeContext } from './helpers.js';

const GAPS: GapId[] = ['docker-socket', 'privileged', 'run-as-root', 'resource-limits'];
const key = (f: Finding) => `${f.rule} @ ${f.path}`;

/** Every scalar the author wrote, by JSON Pointer. Nulls are YAML's "unset" and may be filled. */
function leaves(node: unknown, pointer = '', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(node)) node.forEach((v, i) => leaves(v, `${pointer}/${i}`, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) leaves(v, `${pointer}/${jsonpatch.escapePathComponent(k)}`, out);
  } else if (node !== null) out.push([pointer, node]);
  return out;
}

describe('fixes of the four gaps, applied', () => {
  const docs = GAPS.flatMap((gap) => fixtureDocs(gap, 'fail').map((d) => ({ ...d, gap })));

  for (const doc of docs) {
    it(`${doc.gap}/${doc.file} ${doc.obj.kind} ${doc.name}`, () => {
      const ctx = makeContext();
      const before = evaluate(doc.obj, ctx)!;
      expect(jsonpatch.validate(before.patch, structuredClone(doc.obj)), 'the patch applies').to.equal(undefined);
      const isZeroLimit = (pointer: string) =>
        /\/resources\/limits\/(cpu|memory)$/.test(pointer) && parseQuantity(jsonpatch.getValueByPointer(doc.obj, pointer) as string) === 0;
      const replaced = before.patch.filter((op) => op.op !== 'add');
      expect(replaced.every((op) => op.op === 'replace' && isZeroLimit(op.path)), 'a fix only adds, or replaces a limit of zero').to.equal(true);
      const once = jsonpatch.applyPatch(structuredClone(doc.obj), before.patch).newDocument;

      const after = evaluate(once, ctx)!;
      const beforeKeys = before.findings.map(key);
      const fixedKeys = before.findings.filter((f) => f.fixable).map(key);
      expect(after.findings.map(key).filter((k) => fixedKeys.includes(k)), 'fixable findings left').to.deep.equal([]);
      expect(after.findings.map(key).filter((k) => !beforeKeys.includes(k)), 'new findings').to.deep.equal([]);
      expect(after.findings.filter((f) => f.fixable), 'fixable findings after the fix').to.deep.equal([]);

      for (const [pointer, value] of leaves(doc.obj)) {
        if (!replaced.some((op) => op.path === pointer)) expect(jsonpatch.getValueByPointer(once, pointer), pointer).to.equal(value);
      }
      expect(after.patch, 'second round').to.deep.equal([]);
    });
  }

  it('covers the fixes of every gap that has one, together on one object', () => {
    const fixableGaps = (obj: KubeObject) => new Set(evaluate(obj, makeContext())!.findings.filter((f) => f.fixable).map((f) => f.gap));
    const combined = docs.filter((d) => fixableGaps(d.obj).size === 3);
    expect(combined.map((d) => d.name)).to.include('storefront');
    expect([...fixableGaps(combined[0]!.obj)].sort()).to.deep.equal(['privileged', 'resource-limits', 'run-as-root']);
  });
});
