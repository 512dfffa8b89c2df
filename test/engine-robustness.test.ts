// Every field of every failing gap fixture, replaced in turn by a value of each JSON type (and by
// null, as YAML writes a missing value): the engine either judges the object, with a patch that
// applies cleanly, or refuses it with a ShapeError or InputError naming a field. Any other exception is a crash
// that the webhook would answer with a 500 and the scanner with a stack trace.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import { evaluate } from '../src/engine/engine.js';
import { InputError, type KubeObject } from '../src/workloads/locate.js';
import { ShapeError } from '../src/workloads/shape.js';
import { makeContext, readYamlDocs, repoRoot } from './helpers.js';

const REPLACEMENTS: readonly unknown[] = [null, 0, -1, 'x', '', true, [], [null], {}, { '': null }];

function fixtureObjects(): { name: string; object: KubeObject }[] {
  const out: { name: string; object: KubeObject }[] = [];
  const root = join(repoRoot, 'test', 'fixtures');
  for (const gap of readdirSync(root)) {
    let files: string[];
    try {
      files = readdirSync(join(root, gap, 'fail'));
    } catch {
      continue; // not a gap's fixture folder
    }
    for (const file of files) {
      readYamlDocs(join(root, gap, 'fail', file)).forEach((object, i) => out.push({ name: `${gap}/${file}#${i}`, object }));
    }
  }
  return out;
}

/** Every path to a value inside the object, metadata and apiVersion/kind left alone. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const out: (string | number)[][] = [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    if (prefix.length === 0 && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    out.push([...prefix, key], ...paths(child, [...prefix, key]));
  }
  return out;
}

function replaced(object: KubeObject, path: (string | number)[], replacement: unknown): KubeObject {
  const copy = structuredClone(object);
  let node = copy as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = structuredClone(replacement);
  return copy;
}

describe('engine robustness: every field of every failing fixture, of every wrong type', () => {
  const facts = { digest: `sha256:${'ab'.repeat(32)}`, created: new Date('2020-01-01T00:00:00Z') };
  const ctx = { ...makeContext(), networkPolicies: () => [], imageFacts: () => facts };
  const objects = fixtureObjects();

  it('has fixtures to mutate', () => {
    expect(objects.length).to.be.greaterThan(20);
  });

  for (const { name, object } of objects) {
    it(`judges or refuses every mutation of ${name}`, () => {
      let judged = 0;
      let refused = 0;
      for (const path of paths(object)) {
        for (const replacement of REPLACEMENTS) {
          const mutated = replaced(object, path, replacement);
          const where = `${path.join('.')} = ${JSON.stringify(replacement)}`;
          let result;
          try {
            result = evaluate(mutated, ctx);
          } catch (err) {
            expect(err instanceof ShapeError || err instanceof InputError, `${where}: ${(err as Error).stack}`).to.equal(true);
            refused++;
            continue;
          }
          judged++;
          if (!result || result.patch.length === 0) continue;
          const patched = jsonpatch.applyPatch(structuredClone(mutated), result.patch, true, false).newDocument;
          expect(patched, where).to.be.an('object');
        }
      }
      expect(judged + refused).to.be.greaterThan(0);
    });
  }
});
