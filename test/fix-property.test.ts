// The fix property, on generated workloads (test/generators/pods.ts): `fix` either leaves a finding
// unfixed with its reason in the remediation, or its patch leaves no fixable finding behind and
// keeps what the API server checks of the fields fixes write. The same workloads go through the
// real kube-apiserver with a server-side dry-run in e2e/fix-dry-run.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments, stringify } from 'yaml';
import { evaluate } from '../src/engine/engine.js';
import type { Finding } from '../src/engine/types.js';
import type { KubeObject } from '../src/workloads/locate.js';
import { parseQuantity } from '../src/workloads/quantity.js';
import { sampleWorkloads, workloadArbitrary, yamlWithSharedSettings } from './generators/pods.js';
import { makeContext, repoRoot } from './helpers.js';

type Json = Record<string, any>;
const key = (f: Finding) => `${f.rule} @ ${f.path}`;

function podSpecOf(obj: KubeObject): Json {
  const spec = obj.spec as Json;
  return obj.kind === 'Pod' ? spec : spec.template.spec;
}

const quantity = (q: unknown): number => (q == null ? 0 : parseQuantity(q as string | number)!);

/**
 * The API server's rules on the fields fixes write, as they stand after defaulting (a missing
 * request takes its limit): request <= limit; pod-level requests cover the containers' and pod-level
 * limits cover the pod request and every container limit; allowPrivilegeEscalation: false never
 * next to privileged or SYS_ADMIN; no Linux-only field on a Windows pod.
 */
function apiRuleBreaks(obj: KubeObject): string[] {
  const spec = podSpecOf(obj);
  const breaks: string[] = [];
  const containers: Json[] = [...(spec.initContainers ?? []), ...spec.containers];
  for (const c of containers) {
    for (const r of ['cpu', 'memory']) {
      const limit = c.resources?.limits?.[r];
      const request = c.resources?.requests?.[r] ?? limit;
      if (limit != null && quantity(request) > quantity(limit)) breaks.push(`${c.name}: ${r} request above its limit`);
    }
    const sc = c.securityContext ?? {};
    const sysAdmin = (sc.capabilities?.add ?? []).some((cap: string) => /^(CAP_)?SYS_ADMIN$/i.test(cap));
    if (sc.allowPrivilegeEscalation === false && (sc.privileged === true || sysAdmin)) breaks.push(`${c.name}: allowPrivilegeEscalation false with privileged or SYS_ADMIN`);
    if (spec.os?.name === 'windows' && (sc.capabilities || sc.seccompProfile || sc.allowPrivilegeEscalation !== undefined || sc.privileged !== undefined)) {
      breaks.push(`${c.name}: a Linux-only field on a Windows pod`);
    }
  }
  for (const r of ['cpu', 'memory']) {
    const effective = (c: Json) => quantity(c.resources?.requests?.[r] ?? c.resources?.limits?.[r]);
    const needed = Math.max((spec.containers as Json[]).reduce((sum, c) => sum + effective(c), 0), ...(spec.initContainers ?? []).map(effective));
    const podRequest = spec.resources?.requests?.[r];
    const podLimit = spec.resources?.limits?.[r];
    if (podRequest != null && quantity(podRequest) < needed) breaks.push(`pod ${r} request below the containers' requests`);
    if (podLimit != null && quantity(podLimit) < Math.max(quantity(podRequest), ...containers.map((c) => quantity(c.resources?.limits?.[r])))) {
      breaks.push(`pod ${r} limit below the pod request or a container limit`);
    }
  }
  return breaks;
}

describe('fix property: generated workloads', function () {
  this.timeout(120_000);

  it('the patch leaves no fixable finding and breaks none of the API rules fixes touch (engine, 400 workloads)', () => {
    fc.assert(
      fc.property(workloadArbitrary, (obj) => {
        expect(apiRuleBreaks(obj), 'the generated input is valid').to.deep.equal([]);
        const ctx = makeContext();
        const before = evaluate(obj, ctx)!;
        for (const f of before.findings.filter((x) => !x.fixable)) expect(f.remediation, key(f)).to.be.a('string').and.not.equal('');
        const fixed = jsonpatch.applyPatch(structuredClone(obj), before.patch).newDocument;
        const after = evaluate(fixed, ctx)!;
        expect(after.findings.filter((f) => f.fixable).map(key), 'fixable findings left').to.deep.equal([]);
        expect(after.patch, 'a second round').to.deep.equal([]);
        expect(apiRuleBreaks(fixed), 'API rules after the fix').to.deep.equal([]);
      }),
      { numRuns: 400, seed: 9 },
    );
  });

  it('gapguard fix writes YAML that parses to the patched objects, and a rescan finds nothing fixable (CLI)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-fix-property-'));
    try {
      const workloads = sampleWorkloads(60, 9);
      const input = join(dir, 'generated.yaml');
      writeFileSync(input, workloads.map((w) => stringify(w)).join('---\n'));
      const bin = join(repoRoot, 'dist/src/cli/main.js');
      const fixedRun = spawnSync(process.execPath, [bin, 'fix', input], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(fixedRun.status, fixedRun.stderr).to.equal(0);
      const written = parseAllDocuments(fixedRun.stdout).map((d) => d.toJS() as KubeObject);
      const ctx = makeContext();
      expect(written).to.deep.equal(workloads.map((w) => jsonpatch.applyPatch(structuredClone(w), evaluate(w, ctx)!.patch).newDocument));
      const output = join(dir, 'fixed.yaml');
      writeFileSync(output, fixedRun.stdout);
      const scan = spawnSync(process.execPath, [bin, 'scan', '--output', 'json', output], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const report = JSON.parse(scan.stdout) as { results: { name: string; findings: { rule: string; path: string; fixable: boolean }[] }[] };
      expect(report.results).to.have.length(60);
      const left = report.results.flatMap((r) => r.findings.filter((f) => f.fixable).map((f) => `${r.name}: ${f.rule} @ ${f.path}`));
      expect(left).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gapguard fix on the same workloads written with anchors, aliases and merge keys: the merged result has nothing fixable left and keeps the API rules (CLI)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-fix-property-'));
    try {
      const texts = sampleWorkloads(60, 10).map(yamlWithSharedSettings);
      expect(texts.filter((t) => t.includes('<<: *first')).length, 'merge keys in the sample').to.be.above(10);
      expect(texts.filter((t) => t.includes('*shared-security')).length, 'aliases in the sample').to.be.above(3);
      // As kubectl reads them (sigs.k8s.io/yaml over go-yaml: merge keys resolved).
      const asKubectl = (yaml: string) => parseAllDocuments(yaml, { merge: true }).map((d) => d.toJS() as KubeObject);
      for (const obj of asKubectl(texts.join('---\n'))) expect(apiRuleBreaks(obj), 'the generated input is valid').to.deep.equal([]);
      const input = join(dir, 'shared.yaml');
      writeFileSync(input, texts.join('---\n'));
      const bin = join(repoRoot, 'dist/src/cli/main.js');
      const fixedRun = spawnSync(process.execPath, [bin, 'fix', input], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(fixedRun.status, fixedRun.stderr).to.equal(0);
      const fixedObjects = asKubectl(fixedRun.stdout);
      expect(fixedObjects).to.have.length(60);
      for (const obj of fixedObjects) expect(apiRuleBreaks(obj), `${String((obj.metadata as Json).name)} after the fix`).to.deep.equal([]);
      const output = join(dir, 'fixed.yaml');
      writeFileSync(output, fixedRun.stdout);
      const scan = spawnSync(process.execPath, [bin, 'scan', '--output', 'json', output], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const report = JSON.parse(scan.stdout) as { results: { name: string; findings: { rule: string; path: string; fixable: boolean }[] }[] };
      const left = report.results.flatMap((r) => r.findings.filter((f) => f.fixable).map((f) => `${r.name}: ${f.rule} @ ${f.path}`));
      expect(left).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
