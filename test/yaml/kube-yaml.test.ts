// YAML read as kubectl reads it, by every reader gapguard has: the fast reader scan judges with,
// the position-keeping reader fix and line lookups use, the CLI (scan, fix), and the policy
// loader. One corpus (test/fixtures/kube-yaml/*.yaml) with what kubectl makes of each file
// (*.json, written by `kubectl label --local -f FILE -o json`); the test asks the kubectl that
// scripts/install-helm.sh installs again, so the expected values are kubectl's, not ours.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { positionedDocuments } from '../../src/cli/input.js';
import { parsePolicy } from '../../src/policy/load.js';
import { kubeValue, parseKubeDocuments } from '../../src/yaml/document.js';
import { readKubeYaml } from '../../src/yaml/fast.js';
import { repoRoot } from '../helpers.js';

const CORPUS = join(repoRoot, 'test/fixtures/kube-yaml');
const BIN = join(repoRoot, 'dist/src/cli/main.js');
const cases = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function expected(name: string): unknown {
  return JSON.parse(readFileSync(join(CORPUS, name.replace(/\.yaml$/, '.json')), 'utf8'));
}

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', cwd: repoRoot });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function kubectlPath(): string {
  const tools = process.env.GAPGUARD_TOOLS || join(homedir(), '.cache/gapguard-tools');
  const kubectl = join(tools, 'bin', 'kubectl');
  if (!existsSync(kubectl)) throw new Error(`kubectl is not installed at ${kubectl}: run scripts/install-helm.sh`);
  return kubectl;
}

interface Finding {
  rule: string;
  path: string;
}

function findings(stdout: string): Finding[] {
  const report = JSON.parse(stdout) as { results: { findings: Finding[] }[] };
  return report.results.flatMap((r) => r.findings);
}

describe('YAML read as kubectl reads it (one corpus, every reader)', () => {
  it('has a corpus', () => {
    expect(cases.length).to.be.greaterThan(5);
  });

  for (const name of cases) {
    describe(name, () => {
      const text = readFileSync(join(CORPUS, name), 'utf8');

      it('is what kubectl reads (the recorded value is kubectl’s own)', function () {
        this.timeout(20_000);
        const out = execFileSync(kubectlPath(), ['label', '--local', '-f', join(CORPUS, name), 'gapguard-oracle=1', '-o', 'json'], { encoding: 'utf8' });
        const value = JSON.parse(out) as { metadata: { labels: Record<string, string> } };
        delete value.metadata.labels['gapguard-oracle'];
        if (Object.keys(value.metadata.labels).length === 0) delete (value.metadata as { labels?: unknown }).labels;
        expect(value).to.deep.equal(expected(name));
      });

      it('the fast reader (scan) reads the same', () => {
        expect(readKubeYaml(text)).to.deep.equal([expected(name)]);
      });

      it('the position-keeping reader (fix, lines) reads the same', () => {
        expect(parseKubeDocuments(text).map(kubeValue)).to.deep.equal([expected(name)]);
        const problems: { source: string; message: string }[] = [];
        expect(positionedDocuments({ name, text }, problems).map((d) => d.value)).to.deep.equal([expected(name)]);
        expect(problems).to.deep.equal([]);
      });
    });
  }

  it('the policy loader resolves anchors and merge keys, and reads a plain `off` as kubectl does (false, the action off)', () => {
    const policy = parsePolicy(
      [
        'gaps:',
        '  privileged: {action: off}',
        '  resource-limits: {action: warn, fix: yes}',
        'exemptions:',
        '  - match: &match {namespaces: [legacy]}',
        '    gaps: [privileged]',
        '    reason: first',
        '  - match: {<<: *match, names: [old-app]}',
        '    gaps: [run-as-root]',
        '    reason: shared match through a merge key',
      ].join('\n'),
      'anchors-policy.yaml',
    );
    expect(policy.gaps.privileged.action).to.equal('off');
    expect(policy.gaps['resource-limits'].fix).to.equal(true);
    expect(policy.exemptions[1].match).to.deep.include({ namespaces: ['legacy'], names: ['old-app'] });
  });
});

describe('scan judges what kubectl would send', () => {
  it('finds host access hidden behind a merge key', () => {
    const r = run(['scan', '--output', 'json', join(CORPUS, 'merge-host-access.yaml')]);
    expect(r.code).to.equal(1);
    const rules = findings(r.stdout).map((f) => `${f.rule} ${f.path}`);
    expect(rules).to.include('flat-network/host-network spec.template.spec.hostNetwork');
    expect(rules).to.include('docker-socket/host-path spec.template.spec.volumes[0].hostPath.path');
  });

  it('judges YAML 1.1 booleans as the booleans kubectl sends (hostPID: yes), not as input errors', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: yes\n  hostIPC: on\n  hostNetwork: off\n  containers: [{name: a, image: nginx:1.27}]\n';
    const r = run(['scan', '--output', 'json', '-'], pod);
    expect(r.code).to.equal(1);
    const rules = findings(r.stdout).map((f) => `${f.rule} ${f.path}`);
    expect(rules).to.include('privileged/host-pid spec.hostPID');
    expect(rules).to.include('privileged/host-ipc spec.hostIPC');
    expect(rules.filter((x) => x.includes('hostNetwork'))).to.deep.equal([]);
  });

  it('points SARIF findings at the line a merged value comes from', () => {
    const r = run(['scan', '--output', 'sarif', join(CORPUS, 'merge-host-access.yaml')]);
    const sarif = JSON.parse(r.stdout) as { runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    const hostNetwork = sarif.runs[0].results.find((x) => x.ruleId === 'flat-network/host-network')!;
    expect(hostNetwork.locations[0].physicalLocation.region.startLine).to.equal(4); // `hostNetwork: true` under x-host
  });

  it('refuses what kubectl would not read, naming the line', () => {
    const cases: [string, RegExp][] = [
      ['a: &x [1]\nb: *y\n', /<stdin>:2|stdin:2|-:2: invalid YAML: alias \*y names no anchor/],
      ['a: 1\nb: 2\na: 3\n', /-:3: invalid YAML/],
      ['a:\n  <<: 5\n', /-:2: invalid YAML: a merge key \(<<\) needs a mapping/],
      ['? [a]\n: 1\n', /-:1: invalid YAML: a mapping key must be a string/],
    ];
    for (const [text, error] of cases) {
      const r = run(['scan', '-'], text);
      expect(r.code, text).to.equal(2);
      expect(r.stderr, text).to.match(error);
    }
  });

  it('refuses a document that expands without bound through aliases (billion laughs), quickly', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const r = run(['scan', '-'], lines.join('\n') + '\n');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/-:\d+: invalid YAML: document expands too far through aliases/);
  });
});

describe('fix on files with anchors, aliases and merge keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-kube-yaml-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Fixes a file, then scans the fixed text: no fixable finding may be left, and the text must read back. */
  function fixAndRescan(text: string) {
    const file = join(dir, 'in.yaml');
    writeFileSync(file, text);
    const fixed = run(['fix', file]);
    const rescan = run(['scan', '--output', 'json', '-'], fixed.stdout);
    return { fixed, rescan, left: findings(rescan.stdout).filter((f) => (f as Finding & { fixable: boolean }).fixable) };
  }

  it('edits containers that share settings through an alias (no "Expected YAML collection" crash)', () => {
    const { fixed, left } = fixAndRescan(readFileSync(join(CORPUS, 'anchors-aliases.yaml'), 'utf8'));
    expect(fixed.stderr).to.equal('');
    expect(fixed.code).to.equal(0);
    expect(left).to.deep.equal([]);
    expect(fixed.stdout).to.include('securityContext: *sc');
  });

  it('never writes a limit below a request merged in beside it', () => {
    const { fixed, left } = fixAndRescan(readFileSync(join(CORPUS, 'merge-resources.yaml'), 'utf8'));
    expect(fixed.code).to.equal(0);
    expect(left).to.deep.equal([]);
    const pod = readKubeYaml(fixed.stdout)[0] as { spec: { containers: { resources: { limits: Record<string, string>; requests: Record<string, string> } }[] } };
    expect(pod.spec.containers[0].resources.limits.memory).to.equal('1Gi');
    expect(pod.spec.containers[0].resources.requests.memory).to.equal('1Gi');
    expect(fixed.stdout).to.include('<<: *requests');
  });

  it('refuses, with a reason, an edit whose effect would differ once the anchors are resolved', () => {
    // Both Pods of the List share one securityContext; the exempt namespace's Pod must not be
    // changed, so editing the shared node cannot be written.
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: Pod',
      '    metadata: {name: a, namespace: shop}',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: nginx:1.27',
      '          resources: {limits: {cpu: "1", memory: 1Gi}}',
      '          securityContext: &sc {readOnlyRootFilesystem: true}',
      '  - apiVersion: v1',
      '    kind: Pod',
      '    metadata: {name: b, namespace: legacy}',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: nginx:1.27',
      '          resources: {limits: {cpu: "1", memory: 1Gi}}',
      '          securityContext: *sc',
      '',
    ].join('\n');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'exemptions:\n  - match: {namespaces: [legacy]}\n    gaps: [run-as-root, privileged]\n    reason: legacy\n');
    const file = join(dir, 'list.yaml');
    writeFileSync(file, text);
    const r = run(['fix', '--policy', policy, file]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/list\.yaml:4: not fixed: the fix cannot be written without changing other values that share it through a YAML anchor/);
    expect(r.stdout).to.equal(text); // nothing written
  });
});
