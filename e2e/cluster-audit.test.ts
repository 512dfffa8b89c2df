// `gapguard audit` against the suite's real kube-apiserver, run as a user runs it: the built CLI
// with a kubeconfig. Objects are made with kubectl in namespaces labelled gapguard.io/mode=audit,
// so the suite's webhook lets them in unchanged; a Pod's status is patched through the status
// subresource to stand in for a kubelet (there is none).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startRegistry, type RunningRegistry } from '../test/registry/registry-server.js';
import { apply, createNamespace, eventually, getJson, kubeconfigWith } from './support/kube.js';
import { cleanPodSpec, cronJob, deployment, pod, type PodSpec } from './support/objects.js';
import { repoRoot } from './support/paths.js';
import { run, type RunResult } from './support/run.js';
import { env, kubectl } from './support/suite.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');
const DAY_MS = 24 * 60 * 60 * 1000;

interface Finding {
  gap: string;
  rule: string;
  action: string;
  path: string;
  message: string;
}
interface Result {
  source: string;
  kind: string;
  namespace: string;
  name: string;
  mode?: string;
  findings: Finding[];
  notes?: string[];
}
interface Report {
  results: Result[];
  skipped: { source: string; kind: string; name: string; reason: string }[];
  errors: { source: string; message: string }[];
}

function audit(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run(process.execPath, [BIN, 'audit', ...args], { timeoutMs });
}

async function auditJson(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await audit(['--kubeconfig', env().kubeconfig, '--output', 'json', ...args]);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`audit printed no JSON (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

function inNamespace(report: Report, ns: string): Result[] {
  return report.results.filter((r) => r.namespace === ns);
}

function rulesOf(result: Result | undefined): string[] {
  expect(result, 'the object is reported').not.to.equal(undefined);
  return result!.findings.map((f) => f.rule).sort();
}

function privileged(spec: PodSpec): void {
  spec.containers[0].securityContext.privileged = true;
  spec.containers[0].securityContext.allowPrivilegeEscalation = true;
}

function template(spec: PodSpec, app: string): Record<string, unknown> {
  return { metadata: { labels: { app } }, spec };
}

async function ok(r: Promise<RunResult>): Promise<RunResult> {
  const result = await r;
  expect(result.code, result.stderr).to.equal(0);
  return result;
}

interface PodMeta {
  metadata: { name: string };
}

/** The Pods of a namespace once there are at least `count` of them. */
async function podsOf(ns: string, count: number): Promise<PodMeta[]> {
  return eventually(`${count} Pods in ${ns}`, async () => {
    const list = await getJson<{ items: PodMeta[] }>(ns, 'pods', '');
    return list.items.length >= count ? list.items : undefined;
  });
}

/** Stands in for the kubelet: the Pod's one container has been running since `startedAt`. */
async function markRunning(ns: string, name: string, container: string, startedAt: Date): Promise<void> {
  const image = 'registry.k8s.io/pause:3.10';
  const status = {
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: container,
          image,
          imageID: 'registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z') } },
        },
      ],
    },
  };
  await ok(kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]));
}


/** One line, no stack trace. */
function expectOneLine(stderr: string): void {
  expect(stderr.trim().split('\n'), stderr).to.have.length(1);
  expect(stderr).not.to.match(/\n\s+at /);
}

describe('gapguard audit (cluster)', function () {
  let dir: string;
  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-audit-'));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('what runs in a cluster', function () {
    let ns: string;
    let open: string;
    let off: string;
    let first: { code: number; report: Report; stderr: string };

    before(async function () {
      ns = await createNamespace('audit-kinds', 'audit');
      open = await createNamespace('audit-open', 'audit');
      off = await createNamespace('audit-off', 'off');
      // A default-deny policy in ns: the clean Pod there has nothing to report; `open` has none.
      await ok(apply(ns, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }));
      const spec = (): PodSpec => {
        const s = cleanPodSpec();
        privileged(s);
        return s;
      };
      const job = { ...spec(), restartPolicy: 'Never' };
      await ok(apply(ns, deployment('web', privileged, 2)));
      await ok(apply(ns, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } }, template: template(spec(), 'db') } }));
      await ok(apply(ns, { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template(spec(), 'agent') } }));
      await ok(apply(ns, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template: template(job, 'migrate') } }));
      await ok(apply(ns, cronJob('nightly', privileged)));
      await ok(apply(ns, { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy' }, spec: { replicas: 1, selector: { app: 'legacy' }, template: template(spec(), 'legacy') } }));
      await ok(apply(ns, { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'tpl' }, template: template(spec(), 'tpl') }));
      await ok(apply(ns, pod('clean')));
      await ok(apply(open, pod('clean')));
      await ok(apply(off, pod('root', privileged)));
      // web (2), db, migrate and legacy Pods from their controllers, and the clean one.
      await podsOf(ns, 6);
      first = await auditJson([]);
    });

    it('reports every controller kind with the same verdicts as scan, in the default all-namespaces audit', function () {
      const { code, report } = first;
      expect(code, first.stderr).to.equal(1);
      const mine = inNamespace(report, ns);
      for (const [kind, name] of [
        ['Deployment', 'web'],
        ['StatefulSet', 'db'],
        ['DaemonSet', 'agent'],
        ['Job', 'migrate'],
        ['CronJob', 'nightly'],
        ['ReplicationController', 'legacy'],
        ['PodTemplate', 'tpl'],
      ]) {
        const result = mine.find((r) => r.kind === kind && r.name === name);
        expect(rulesOf(result), `${kind} ${name}`).to.include('privileged/privileged-container');
        expect(result!.findings.find((f) => f.rule === 'privileged/privileged-container')!.action).to.equal('deny');
        expect(result).to.include({ source: 'cluster:gapguard-e2e', mode: 'audit' });
      }
      // The NetworkPolicy is seen: the clean Pod of ns has no finding at all.
      expect(mine.find((r) => r.kind === 'Pod' && r.name === 'clean')!.findings).to.deep.equal([]);
      expect(report.errors).to.deep.equal([]);
    });

    it('judges flat-network with every NetworkPolicy known: a namespace without any is a finding', function () {
      expect(rulesOf(inNamespace(first.report, open).find((r) => r.name === 'clean'))).to.deep.equal(['flat-network/no-network-policy']);
    });

    it('reports a gap of a template once: Pods and ReplicaSets with nothing of their own are skipped, naming their owner', function () {
      const mine = inNamespace(first.report, ns);
      expect(mine.filter((r) => r.kind === 'ReplicaSet' || (r.kind === 'Pod' && r.name !== 'clean')), 'owned objects reported').to.deep.equal([]);
      const skipped = first.report.skipped.filter((s) => /^same findings as its owner \w+ /.test(s.reason) && s.reason.includes(` ${ns}/`));
      const reasons = skipped.map((s) => `${s.kind} -> ${s.reason.replace(/^same findings as its owner (\w+) .*$/, '$1')}`).sort();
      expect(reasons).to.deep.equal(['Pod -> Job', 'Pod -> ReplicaSet', 'Pod -> ReplicaSet', 'Pod -> ReplicationController', 'Pod -> StatefulSet', 'ReplicaSet -> Deployment']);
    });

    it('pages through lists (limit/continue) to the same report', async function () {
      const paged = await auditJson(['--namespace', ns, '--chunk-size', '1']);
      const whole = await auditJson(['--namespace', ns]);
      expect(paged.code, paged.stderr).to.equal(1);
      expect(paged.report).to.deep.equal(whole.report);
      expect(paged.report.results.length + paged.report.skipped.length, "14 objects: 8 made by kubectl, 6 by controllers").to.equal(14);
    });

    it('skips namespaces labelled gapguard.io/mode=off, as admission does', function () {
      expect(inNamespace(first.report, off)).to.deep.equal([]);
      expect(first.report.skipped).to.deep.include({ source: 'cluster:gapguard-e2e', kind: 'Pod', name: 'root', reason: `namespace "${off}" is labelled gapguard.io/mode=off` });
    });

    it('leaves out --excluded-namespaces entirely (not judged, reported or skipped), as the background audit does', async function () {
      const without = await auditJson(['--excluded-namespaces', `${ns},${off}`]);
      expect(without.report.errors).to.deep.equal([]);
      expect(without.report.results.filter((r) => r.namespace === ns || r.namespace === off), 'results in excluded namespaces').to.deep.equal([]);
      expect(without.report.skipped.filter((s) => s.reason.includes(`"${off}"`) || s.reason.includes(` ${ns}/`)), 'skipped objects of excluded namespaces').to.deep.equal([]);
      // Only what was named is left out.
      expect(inNamespace(without.report, open).map((r) => r.name)).to.deep.equal(['clean']);

      const contradiction = await audit(['--kubeconfig', env().kubeconfig, '-n', ns, '--excluded-namespaces', ns]);
      expect(contradiction.code).to.equal(2);
      expect(contradiction.stderr).to.contain(`--namespace ${ns} is among --excluded-namespaces: nothing would be audited`);
      const bad = await audit(['--kubeconfig', env().kubeconfig, '--excluded-namespaces', 'kube-system,Not_A_Name']);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain('--excluded-namespaces must list namespace names separated by commas, not "Not_A_Name"');
    });

    it('audits one namespace with --namespace, and prints the table and SARIF of scan', async function () {
      const one = await auditJson(['--namespace', open]);
      expect(one.code, one.stderr).to.equal(0);
      expect(one.report.results.map((r) => `${r.kind} ${r.namespace}/${r.name}`)).to.deep.equal([`Pod ${open}/clean`]);

      const table = await audit(['--kubeconfig', env().kubeconfig, '-n', ns]);
      expect(table.code, table.stderr).to.equal(1);
      expect(table.stdout).to.contain(`Deployment ${ns}/web  (cluster:gapguard-e2e, namespace mode audit)`).and.to.match(/DENY\s+critical|DENY\s+high/);

      const sarif = await audit(['--kubeconfig', env().kubeconfig, '-n', ns, '-o', 'sarif']);
      expect(sarif.code, sarif.stderr).to.equal(1);
      const results = (JSON.parse(sarif.stdout) as { runs: { results: { ruleId: string; locations: { logicalLocations: { fullyQualifiedName: string }[] }[] }[] }[] }).runs[0]!.results;
      expect(results.map((r) => r.locations[0]!.logicalLocations[0]!.fullyQualifiedName)).to.include(
        `Deployment/${ns}/web/spec.template.spec.containers[0].securityContext.privileged`,
      );
    });
  });

  describe('running staleness', function () {
    let ns: string;
    let owned: string;

    before(async function () {
      ns = await createNamespace('audit-stale', 'audit');
      await ok(apply(ns, deployment('api')));
      await ok(apply(ns, pod('fresh')));
      const pods = await podsOf(ns, 2);
      owned = pods.find((p) => p.metadata.name.startsWith('api-'))!.metadata.name;
      await markRunning(ns, owned, 'app', new Date(Date.now() - 40 * DAY_MS));
      await markRunning(ns, 'fresh', 'app', new Date(Date.now() - 2 * DAY_MS));
    });

    it('finds a container running longer than maxRunningAgeDays on the same digest, on the Pod only', async function () {
      const { code, report, stderr } = await auditJson(['-n', ns]);
      expect(code, stderr).to.equal(0);
      const pod = report.results.find((r) => r.kind === 'Pod' && r.name === owned);
      // The Pod shares its template's flat-network finding with the Deployment; the running age is its own.
      expect(rulesOf(pod)).to.deep.equal(['stale-image/long-running']);
      const f = pod!.findings[0]!;
      expect(f).to.include({ gap: 'stale-image', action: 'warn', path: 'status.containerStatuses[0].state.running.startedAt' });
      expect(f.message).to.contain('Container "app"').and.contain('40 days').and.contain('sha256:ee6521f290b2').and.contain('30-day');
      expect(pod!.notes!.join('\n')).to.match(/1 finding\(s\) it shares with its owner ReplicaSet .*\/api-\w+ are reported there/);
      expect(rulesOf(report.results.find((r) => r.name === 'fresh'))).not.to.include('stale-image/long-running');
      expect(rulesOf(report.results.find((r) => r.kind === 'Deployment' && r.name === 'api'))).to.deep.equal(['flat-network/no-network-policy']);
    });

    it('follows the policy: maxRunningAgeDays, or the rule turned off', async function () {
      const longer = join(dir, 'stale-50.yaml');
      writeFileSync(longer, 'gaps:\n  stale-image:\n    maxRunningAgeDays: 50\n');
      const relaxed = await auditJson(['-n', ns, '--policy', longer]);
      expect(relaxed.report.results.flatMap((r) => r.findings.map((f) => f.rule))).not.to.include('stale-image/long-running');

      const stricter = join(dir, 'stale-1.yaml');
      writeFileSync(stricter, 'gaps:\n  stale-image:\n    maxRunningAgeDays: 1\n');
      expect(rulesOf((await auditJson(['-n', ns, '--policy', stricter])).report.results.find((r) => r.name === 'fresh'))).to.include('stale-image/long-running');

      const offFile = join(dir, 'stale-off.yaml');
      writeFileSync(offFile, 'gaps:\n  stale-image:\n    rules:\n      stale-image/long-running: {action: off}\n');
      const off = await auditJson(['-n', ns, '--policy', offFile]);
      expect(off.report.results.flatMap((r) => r.findings.map((f) => f.rule))).not.to.include('stale-image/long-running');
    });
  });

  describe('image build times (--resolve-images, real docker-registry)', function () {
    let ns: string;
    let reg: RunningRegistry;

    before(async function () {
      reg = await startRegistry();
      await reg.push('shop/api', 'old', { created: new Date(Date.now() - 400 * DAY_MS).toISOString() });
      ns = await createNamespace('audit-images', 'audit');
      await ok(apply(ns, deployment('api', (spec) => (spec.containers[0].image = `${reg.host}/shop/api:old`))));
    });
    after(async function () {
      await reg?.stop();
    });

    const rulesOfApi = (report: Report) => rulesOf(report.results.find((r) => r.kind === 'Deployment' && r.name === 'api'));

    it('finds an image built longer ago than maxImageAgeDays, which the audit cannot see without lookups', async function () {
      const offline = await auditJson(['-n', ns]);
      expect(rulesOfApi(offline.report)).not.to.include('stale-image/old-image');
      const { report, stderr } = await auditJson(['-n', ns, '--resolve-images', '--registry-ca', reg.caFile]);
      const api = report.results.find((r) => r.kind === 'Deployment' && r.name === 'api')!;
      expect(rulesOfApi(report), stderr).to.include('stale-image/old-image');
      expect(api.findings.find((f) => f.rule === 'stale-image/old-image')!.message).to.contain('built 400 days ago');
    });

    it('notes an image whose registry is down, and judges the rest as without lookups', async function () {
      const host = reg.host;
      await reg.stop();
      const offline = await auditJson(['-n', ns]);
      // No --registry-ca: stop() removed the registry's files with it, and no handshake gets that far.
      const { code, report } = await auditJson(['-n', ns, '--resolve-images', '--image-lookup-budget', '5000']);
      expect(code).to.equal(offline.code);
      expect(rulesOfApi(report)).to.deep.equal(rulesOfApi(offline.report));
      const api = report.results.find((r) => r.kind === 'Deployment' && r.name === 'api')!;
      expect(api.notes!.join('\n')).to.contain(`no registry facts for "${host}/shop/api:old"`);
    });
  });

  describe('RBAC', function () {
    let ns: string;
    let kubeconfig: string;
    let token: string;

    before(async function () {
      ns = await createNamespace('audit-rbac', 'audit');
      await ok(kubectl(['-n', ns, 'create', 'serviceaccount', 'auditor']));
      token = (await ok(kubectl(['-n', ns, 'create', 'token', 'auditor', '--duration=1h']))).stdout.trim();
      kubeconfig = kubeconfigWith(dir, 'auditor', { token });
    });

    it('without rights: exit 2, one line naming the user and every missing grant, no token', async function () {
      const r = await audit(['--kubeconfig', kubeconfig, '-o', 'json']);
      expect(r.code).to.equal(2);
      expectOneLine(r.stderr);
      expect(r.stderr)
        .to.contain(`forbidden in all namespaces for system:serviceaccount:${ns}:auditor`)
        .and.contain('list pods, list podtemplates, list replicationcontrollers, list deployments.apps, list replicasets.apps, list statefulsets.apps, list daemonsets.apps, list jobs.batch, list cronjobs.batch, list networkpolicies.networking.k8s.io, list namespaces')
        .and.not.contain(token);
      expect((JSON.parse(r.stdout) as Report).errors).to.have.length(1);
    });

    it('with part of the rights: names only what is missing (get namespaces for one namespace)', async function () {
      await ok(kubectl(['-n', ns, 'create', 'role', 'pods-only', '--verb=get,list', '--resource=pods,deployments.apps']));
      await ok(kubectl(['-n', ns, 'create', 'rolebinding', 'pods-only', '--role=pods-only', `--serviceaccount=${ns}:auditor`]));
      const r = await eventually('the Role to apply', async () => {
        const res = await audit(['--kubeconfig', kubeconfig, '-n', ns]);
        return res.stderr.includes('list pods') ? undefined : res;
      });
      expect(r.code).to.equal(2);
      expectOneLine(r.stderr);
      expect(r.stderr).to.contain(`forbidden in namespace "${ns}"`).and.contain('list podtemplates').and.contain('get namespaces').and.not.contain('deployments.apps');
    });

    it('with the ClusterRole of docs/cluster-audit-rbac.yaml: a clean run', async function () {
      // The example as documented, with its ServiceAccount moved into this test's namespace.
      const manifest = readFileSync(join(repoRoot, 'docs/cluster-audit-rbac.yaml'), 'utf8').replaceAll('namespace: gapguard-system', `namespace: ${ns}`);
      await ok(kubectl(['apply', '-f', '-'], manifest));
      const granted = (await ok(kubectl(['-n', ns, 'create', 'token', 'gapguard-auditor', '--duration=1h']))).stdout.trim();
      const config = kubeconfigWith(dir, 'gapguard-auditor', { token: granted });
      const r = await eventually('the ClusterRole to apply', async () => {
        const res = await audit(['--kubeconfig', config, '-o', 'json']);
        return res.code === 2 ? undefined : res;
      });
      expect(r.stderr).to.equal('');
      expect((JSON.parse(r.stdout) as Report).errors).to.deep.equal([]);
    });
  });

  describe('an API server that cannot be used', function () {
    let silent: Server;
    let silentPort: number;

    before(async function () {
      // Accepts connections and never answers: the audit must give up, not hang.
      silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentPort = (silent.address() as { port: number }).port;
    });
    after(function () {
      silent.close();
    });

    it('unreachable: exit 2 at once, one line naming the server', async function () {
      const closed = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const { port } = s.address() as { port: number };
          s.close(() => resolve(port));
        });
      });
      const started = Date.now();
      const r = await audit(['--kubeconfig', kubeconfigWith(dir, 'closed', { server: `https://127.0.0.1:${closed}` })]);
      expect(r.code).to.equal(2);
      expectOneLine(r.stderr);
      expect(r.stderr).to.equal(`gapguard audit: cannot talk to the API server https://127.0.0.1:${closed} (context "closed"): connect ECONNREFUSED 127.0.0.1:${closed}\n`);
      expect(r.stdout).to.equal('');
      expect(Date.now() - started).to.be.below(10_000);
    });

    it('silent: gives up after --request-timeout', async function () {
      const started = Date.now();
      const r = await audit(['--kubeconfig', kubeconfigWith(dir, 'silent', { server: `https://127.0.0.1:${silentPort}` }), '--request-timeout', '2'], 30_000);
      expect(r.code).to.equal(2);
      expectOneLine(r.stderr);
      expect(r.stderr).to.contain(`https://127.0.0.1:${silentPort}`).and.contain('no answer within 2 s');
      expect(Date.now() - started).to.be.below(15_000);
    });

    it('a token the API server does not know: 401, exit 2, the token never printed', async function () {
      const r = await audit(['--kubeconfig', kubeconfigWith(dir, 'stranger', { token: 'not-a-known-token-5f2c' })]);
      expect(r.code).to.equal(2);
      expectOneLine(r.stderr);
      expect(r.stderr).to.contain('rejected the credentials (HTTP 401 Unauthorized)').and.not.contain('not-a-known-token-5f2c');
    });

    it('a bad kubeconfig: missing, broken YAML (its token not quoted back), unknown context', async function () {
      const missing = await audit(['--kubeconfig', join(dir, 'nope.kubeconfig')]);
      expect(missing.code, missing.stderr).to.equal(2);
      expect(missing.stderr).to.equal(`gapguard audit: cannot load kubeconfig ${join(dir, 'nope.kubeconfig')}: no such file\n`);

      const broken = join(dir, 'broken.kubeconfig');
      writeFileSync(broken, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: s3cret-in-broken-yaml\n   oops: [\n');
      const bad = await audit(['--kubeconfig', broken]);
      expect(bad.code, bad.stderr).to.equal(2);
      expectOneLine(bad.stderr);
      expect(bad.stderr).to.match(/cannot load kubeconfig .*broken\.kubeconfig: invalid YAML at line \d+/).and.not.contain('s3cret');

      const context = await audit(['--kubeconfig', env().kubeconfig, '--context', 'elsewhere']);
      expect(context.code, context.stderr).to.equal(2);
      expect(context.stderr).to.equal(`gapguard audit: kubeconfig ${env().kubeconfig} has no context "elsewhere" (it has: gapguard-e2e)\n`);
    });
  });
});
