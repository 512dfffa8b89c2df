// The CLI as a user runs it: the built binary under plain Node, exit codes, the JSON contract,
// SARIF shape, `fix` output, and clear errors on bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext, repoRoot } from '../helpers.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');
const FIX = (name: string) => join(repoRoot, 'test/fixtures/cli', name);

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonReport {
  results: { source: string; kind: string; namespace: string; name: string; findings: Record<string, unknown>[] }[];
  skipped: { source: string; kind: string; reason: string }[];
  errors: { source: string; message: string }[];
}

function json(args: string[], input?: string): { code: number | null; report: JsonReport; stderr: string } {
  const r = run(['scan', '--output', 'json', ...args], input);
  return { code: r.code, report: JSON.parse(r.stdout) as JsonReport, stderr: r.stderr };
}

describe('gapguard scan (CLI)', () => {
  it('judges the rest of a file whose documents have kinds named like Object members, and skips those', () => {
    const input = ['constructor', '__proto__', 'toString', 'hasOwnProperty']
      .map((kind, i) => `apiVersion: v1\nkind: ${kind}\nmetadata: {name: odd-${i}}\nspec: {containers: [{name: x, image: nginx}]}\n`)
      .concat('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers: [{name: x, image: nginx, securityContext: {privileged: true}}]\n')
      .join('---\n');
    const { code, report, stderr } = json(['-'], input);
    expect(stderr).to.not.include('internal error');
    expect(code).to.equal(1);
    expect(report.results.map((r) => r.name)).to.deep.equal(['p']);
    expect(report.skipped.map((s) => [s.kind, s.reason])).to.deep.equal(
      ['constructor', '__proto__', 'toString', 'hasOwnProperty'].map((kind) => [kind, `kind ${kind} carries no pod spec`]),
    );
  });

  it('exits 1 when a finding would be denied, with the stable JSON contract', () => {
    const { code, report } = json([FIX('mixed.yaml')]);
    expect(code).to.equal(1);
    expect(Object.keys(report)).to.include('results');
    const rootPod = report.results.find((r) => r.name === 'root-pod')!;
    expect(rootPod).to.include({ kind: 'Pod', namespace: 'shop', source: `${FIX('mixed.yaml')}:2` });
    for (const f of rootPod.findings) {
      expect(Object.keys(f).sort()).to.deep.equal(['action', 'fixable', 'gap', 'message', 'path', 'remediation', 'rule', 'severity']);
    }
    expect(rootPod.findings.map((f) => f.gap)).to.include.members(['run-as-root', 'resource-limits', 'unverified-image']);
    expect(report.results.find((r) => r.name === 'clean')!.findings).to.deep.equal([]);
    expect(report.skipped).to.deep.equal([{ source: `${FIX('mixed.yaml')}:12`, kind: 'ConfigMap', name: 'settings', reason: 'kind ConfigMap carries no pod spec' }]);
  });

  it('exits 0 when findings only warn, and 0 on a clean manifest', () => {
    const warn = json([FIX('warn-only.yaml')]);
    expect(warn.code).to.equal(0);
    expect(warn.report.results[0]!.findings.map((f) => f.rule)).to.include('flat-network/host-network');
    expect(warn.report.results[0]!.findings.every((f) => f.action === 'warn')).to.equal(true);
    expect(run(['scan', join(repoRoot, 'examples/hardened-pod.yaml')]).code).to.equal(0);
    // gapguard's own plain manifests scan clean under the default policy.
    const own = json([join(repoRoot, 'manifests')]);
    expect(own.code).to.equal(0);
    expect(own.report.results.flatMap((r) => r.findings.map((f) => `${f.action} ${f.rule}`))).to.deep.equal([]);
  });

  it('reads stdin, JSON documents and the items of a v1 List', () => {
    const { code, report } = json(['-'], readFileSync(FIX('list.json'), 'utf8'));
    expect(code).to.equal(1);
    expect(report.results.map((r) => r.name)).to.deep.equal(['in-list']);
    expect(report.results[0]!.findings.map((f) => f.rule)).to.include('privileged/privileged-container');
    expect(report.skipped.map((s) => s.kind)).to.deep.equal(['Service']);
  });

  it('judges flat-network only where the input holds the namespace policies, or everywhere with --input-complete', () => {
    const gapsOf = (report: JsonReport, name: string) => report.results.find((r) => r.name === name)!.findings.map((f) => f.rule);
    const partial = json([FIX('netpol.yaml')]).report;
    expect(gapsOf(partial, 'guarded-pod')).not.to.include('flat-network/no-network-policy');
    expect(gapsOf(partial, 'open-pod')).not.to.include('flat-network/no-network-policy');
    const complete = json([FIX('netpol.yaml'), '--input-complete']).report;
    expect(gapsOf(complete, 'guarded-pod')).not.to.include('flat-network/no-network-policy');
    expect(gapsOf(complete, 'open-pod')).to.include('flat-network/no-network-policy');
  });

  it('reads NetworkPolicies as the API server defaults them, and only networking.k8s.io/v1 ones', () => {
    const gapsOf = (report: JsonReport, name: string) => report.results.find((r) => r.name === name)!.findings.map((f) => f.rule);
    const { report } = json([FIX('netpol-semantics.yaml')]);
    // Calico's allow-all is not a Kubernetes policy selecting the pod; the v1 policy beside it does not select it.
    expect(gapsOf(report, 'calico-pod')).to.include('flat-network/no-network-policy');
    expect(gapsOf(report, 'nospec-pod')).not.to.include('flat-network/no-network-policy');
    expect(gapsOf(report, 'emptytypes-pod')).not.to.include('flat-network/no-network-policy');
    // A namespace with only a vendor's policy is unknown, not judged ...
    expect(gapsOf(report, 'vendoronly-pod')).not.to.include('flat-network/no-network-policy');
    // ... until the input is said to hold every policy: then it has none.
    const complete = json([FIX('netpol-semantics.yaml'), '--input-complete']).report;
    expect(gapsOf(complete, 'vendoronly-pod')).to.include('flat-network/no-network-policy');
    expect(report.skipped.map((s) => s.kind)).to.deep.equal(['NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy']);
  });

  it('writes SARIF 2.1.0 with gap/rule ids and file and line locations', () => {
    const r = run(['scan', '--output', 'sarif', FIX('mixed.yaml')]);
    expect(r.code).to.equal(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).to.equal('2.1.0');
    expect(sarif.$schema).to.match(/sarif-2\.1\.0/);
    const run0 = sarif.runs[0];
    expect(run0.tool.driver.name).to.equal('gapguard');
    const ruleIds: string[] = run0.tool.driver.rules.map((x: { id: string }) => x.id);
    expect(ruleIds).to.include('run-as-root/runs-as-root');
    for (const res of run0.results) {
      expect(ruleIds[res.ruleIndex]).to.equal(res.ruleId);
      expect(res.ruleId).to.match(/^[a-z-]+\/[a-z-]+$/);
      expect(['error', 'warning']).to.include(res.level);
      const loc = res.locations[0].physicalLocation;
      expect(loc.artifactLocation.uri).to.equal('test/fixtures/cli/mixed.yaml');
      expect(loc.region.startLine).to.be.within(2, 10);
    }
    // The finding on the container's missing limits points at the container, line 9.
    const limits = run0.results.find((x: { ruleId: string }) => x.ruleId === 'resource-limits/no-memory-limit');
    expect(limits.locations[0].physicalLocation.region.startLine).to.equal(9);
  });

  it('reports invalid YAML with file and line, exits 2, and still scans the other files', () => {
    const r = json([FIX('invalid.yaml'), FIX('mixed.yaml')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/invalid\.yaml:\d+: invalid YAML/);
    expect(r.stderr).not.to.match(/\n\s+at /); // no stack trace
    expect(r.report.errors[0]!.source).to.match(/invalid\.yaml:[789]$/);
    expect(r.report.results.map((x) => x.name)).to.include('root-pod');
  });

  it('names the field and line of a wrongly typed field, and an object without a spec', () => {
    const wrong = run(['scan', FIX('wrong-types.yaml')]);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.include('wrong-types.yaml:12');
    expect(wrong.stderr).to.include('spec.template.spec.containers[0].securityContext.privileged: expected a boolean, got a string');
    const nospec = run(['scan', FIX('no-spec.yaml')]);
    expect(nospec.code).to.equal(2);
    expect(nospec.stderr).to.include('Deployment nospec: Deployment has no pod spec at spec.template.spec');
  });

  it('exits 2 with usage on unknown flags, bad output formats, missing paths and broken policies', () => {
    expect(run(['scan', '--bogus', FIX('mixed.yaml')]).code).to.equal(2);
    const bad = run(['scan', '--output', 'xml', FIX('mixed.yaml')]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--output must be table, json, sarif or html, not "xml"');
    const missing = run(['scan', '/nonexistent/file.yaml']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('/nonexistent/file.yaml: cannot read: ENOENT');
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-policy-'));
    try {
      writeFileSync(join(dir, 'p.yaml'), 'mode: enforce\ngaps:\n  privileged:\n    action: block\n');
      const policy = run(['scan', '--policy', join(dir, 'p.yaml'), FIX('mixed.yaml')]);
      expect(policy.code).to.equal(2);
      expect(policy.stderr).to.include('p.yaml:4: gaps.privileged.action: must be deny, warn or off');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scans a directory of thousands of files', function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-many-'));
    try {
      for (let i = 0; i < 2000; i++) {
        const sub = join(dir, `d${i % 20}`);
        if (i < 20) mkdirSync(sub);
        copyFileSync(FIX('warn-only.yaml'), join(sub, `pod-${i}.yaml`));
      }
      writeFileSync(join(dir, 'README.md'), 'not a manifest');
      const { code, report } = json([dir]);
      expect(code).to.equal(0);
      expect(report.results).to.have.length(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scans a 50 MB file without crashing', function () {
    this.timeout(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-big-'));
    try {
      const doc = readFileSync(FIX('warn-only.yaml'), 'utf8');
      const padding = `# ${'x'.repeat(1000)}\n`.repeat(100);
      const chunk = `---\n${padding}${doc}`;
      const count = Math.ceil((50 * 1024 * 1024) / chunk.length);
      writeFileSync(join(dir, 'big.yaml'), chunk.repeat(count));
      const { code, report } = json([join(dir, 'big.yaml')]);
      expect(code).to.equal(0);
      expect(report.results).to.have.length(count);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gapguard fix (CLI)', () => {
  it('prints the manifests with fixes applied, leaving untouched documents byte for byte', () => {
    const originalText = readFileSync(FIX('mixed.yaml'), 'utf8');
    const r = run(['fix', FIX('mixed.yaml')]);
    expect(r.code).to.equal(0);
    const [, configMap, clean] = originalText.split(/^---\n/m);
    expect(r.stdout).to.include(`---\n${configMap}---\n${clean}`);
    expect(r.stdout).to.include('# keep this comment');
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const pod = docs[0];
    expect(pod.spec.containers[0].securityContext).to.deep.include({ runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(pod.spec.containers[0].resources.limits).to.deep.equal({ cpu: '500m', memory: '512Mi' });
    // The printed document equals the engine's patch applied to the original object.
    const original = parseAllDocuments(originalText)[0]!.toJS() as KubeObject;
    const { patch } = evaluate(original, makeContext())!;
    expect(patch).not.to.deep.equal([]);
    expect(pod).to.deep.equal(jsonpatch.applyPatch(structuredClone(original), patch).newDocument);
    // Rescanning the fixed output: no fixable finding is left.
    const again = json(['-'], r.stdout).report;
    expect(again.results[0]!.findings.filter((f) => f.fixable)).to.deep.equal([]);
  });

  it('only adds fields, and a second fix changes nothing', () => {
    const once = run(['fix', FIX('mixed.yaml')]).stdout;
    const twice = run(['fix', '-'], once).stdout;
    expect(twice).to.equal(once);
    const original = parseAllDocuments(readFileSync(FIX('mixed.yaml'), 'utf8'))[0]!.toJS();
    const fixed = parseAllDocuments(once)[0]!.toJS();
    const ops = jsonpatch.compare(original, fixed);
    expect(ops.every((op) => op.op === 'add')).to.equal(true, 'fix only adds');
  });

  it('writes files back with --in-place, and only those that changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-fix-'));
    try {
      copyFileSync(FIX('mixed.yaml'), join(dir, 'mixed.yaml'));
      copyFileSync(join(repoRoot, 'examples/hardened-pod.yaml'), join(dir, 'hardened.yaml'));
      const r = run(['fix', '--in-place', dir]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal('');
      expect(readFileSync(join(dir, 'hardened.yaml'), 'utf8')).to.equal(readFileSync(join(repoRoot, 'examples/hardened-pod.yaml'), 'utf8'));
      expect(run(['scan', join(dir, 'mixed.yaml'), '--output', 'json']).stdout).not.to.include('"fixable": true');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
