// Drives a gap's fixture folders (test/fixtures/<gap>/pass and fail) through the engine. Every
// document in pass/ must yield no finding of the gap; every document in fail/ must yield exactly
// the findings its test lists, as `rule @ path` lines, so a finding on the wrong field or a
// missing one fails. The fail documents must also cover every kind that carries a pod spec.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import { evaluate } from '../../src/engine/engine.js';
import type { EvalContext, Finding, GapId } from '../../src/engine/types.js';
import { JUDGED_KINDS, objectName, type KubeObject } from '../../src/workloads/locate.js';
import { parsePath } from '../../src/workloads/paths.js';
import { makeContext, readYamlDocs, repoRoot } from '../helpers.js';

export interface FixtureDoc {
  /** `fail/bypasses.yaml` */
  file: string;
  name: string;
  obj: KubeObject;
}

export function fixtureDocs(gap: GapId, outcome: 'pass' | 'fail'): FixtureDoc[] {
  const dir = join(repoRoot, 'test', 'fixtures', gap, outcome);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => readYamlDocs(join(dir, file)).map((obj) => ({ file: `${outcome}/${file}`, name: objectName(obj), obj })));
}

/** The gap's findings on one object, through the engine. */
export function findingsOf(obj: KubeObject, gap: GapId, ctx: EvalContext = makeContext()): Finding[] {
  const result = evaluate(obj, ctx);
  expect(result, `${String(obj.kind)} is a judged kind`).not.to.equal(null);
  return result!.findings.filter((f) => f.gap === gap);
}

/** `rule @ path`, sorted: compact to compare, readable in a failure diff. */
export function summary(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.rule} @ ${f.path}`).sort();
}

/** One finding of a rule on one object, failing unless there is exactly one. */
export function theFinding(obj: KubeObject, rule: string, ctx?: EvalContext): Finding {
  const gap = rule.slice(0, rule.indexOf('/')) as GapId;
  const matching = findingsOf(obj, gap, ctx).filter((f) => f.rule === rule);
  expect(matching, `findings of ${rule}`).to.have.length(1);
  return matching[0]!;
}

/** The document of a fixture folder with this metadata.name. */
export function fixture(gap: GapId, outcome: 'pass' | 'fail', name: string): KubeObject {
  const doc = fixtureDocs(gap, outcome).find((d) => d.name === name);
  expect(doc, `fixture ${gap}/${outcome} ${name}`).not.to.equal(undefined);
  return structuredClone(doc!.obj);
}

/** The object after applying the engine's patch to a copy. */
export function withFixes(obj: KubeObject, ctx: EvalContext = makeContext()): KubeObject {
  return jsonpatch.applyPatch(structuredClone(obj), evaluate(obj, ctx)!.patch).newDocument;
}

/** The value at a finding-style path (`spec.containers[0].securityContext`), or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let node = obj;
  for (const segment of parsePath(path)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** Expected `rule @ path` lines per fail document, by metadata.name. */
export type Expectations = Record<string, string[]>;

export function describeFixtures(gap: GapId, expected: Expectations): void {
  describe(`${gap} fixtures`, () => {
    for (const doc of fixtureDocs(gap, 'pass')) {
      it(`pass/ ${doc.obj.kind} ${doc.name}: no ${gap} finding`, () => {
        expect(summary(findingsOf(doc.obj, gap))).to.deep.equal([]);
      });
    }
    const failing = fixtureDocs(gap, 'fail');
    for (const doc of failing) {
      it(`fail/ ${doc.obj.kind} ${doc.name}: exactly the expected findings`, () => {
        expect(expected, `expected findings of ${doc.file} ${doc.name}`).to.have.property(doc.name);
        expect(summary(findingsOf(doc.obj, gap))).to.deep.equal([...expected[doc.name]!].sort());
      });
    }
    it('lists one expectation per fail document, and the documents cover every kind with a pod spec', () => {
      expect(failing.map((d) => d.name).sort()).to.deep.equal(Object.keys(expected).sort());
      expect([...new Set(failing.map((d) => d.obj.kind))].sort()).to.deep.equal([...JUDGED_KINDS].sort());
    });
  });
}
