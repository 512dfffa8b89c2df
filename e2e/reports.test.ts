// The background audit against the suite's real kube-apiserver and controller-manager: the suite's
// release upgraded with the chart's backgroundAudit (wgpolicyk8s reports, the Lease, the dashboard)
// on its 2 replicas, which use the chart's ServiceAccount, bound by the chart's RBAC, so the grants
// are tested too; the report CRDs are the chart's. Checks that reports appear, follow changes, are
// written only on change, go away with a namespace, an `off` label or gapguard's uninstall (its
// ClusterRole owns them); that the namespaces the chart's webhooks leave out (kube-system, the
// release namespace, webhook.excludedNamespaces) are never reported, and one added to them loses its
// report; that a policy reload alone changes the reports; that the lease moves to the other replica
// when the leader dies; the gauges; and the dashboard in a real Chromium.
import { expect } from 'chai';
import { openBrowser, type Browser } from '../test/browser.js';
import { https } from './support/https-get.js';
import { sleep } from './support/gapguard.js';
import { apply, createNamespace, eventually, setMode } from './support/kube.js';
import { deployment, pod } from './support/objects.js';
import { env, kubectl, RELEASE, RELEASE_NAMESPACE } from './support/suite.js';

interface Report {
  metadata: { resourceVersion: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  summary: { pass: number; fail: number; warn: number };
  results: { policy: string; rule: string; result: string; message: string; resources: { kind: string; name: string; namespace?: string }[]; properties: Record<string, string> }[];
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function report(namespace: string): Promise<Report | undefined> {
  const out = await ok(['-n', namespace, 'get', 'policyreports.wgpolicyk8s.io', 'gapguard', '--ignore-not-found', '-o', 'json']);
  return out.trim() ? (JSON.parse(out) as Report) : undefined;
}

async function clusterReport(): Promise<Report | undefined> {
  const out = await ok(['get', 'clusterpolicyreports.wgpolicyk8s.io', 'gapguard', '--ignore-not-found', '-o', 'json']);
  return out.trim() ? (JSON.parse(out) as Report) : undefined;
}

async function holder(): Promise<string | undefined> {
  const out = await ok(['-n', RELEASE_NAMESPACE, 'get', 'lease', RELEASE, '--ignore-not-found', '-o', 'jsonpath={.spec.holderIdentity}']);
  return out.trim() || undefined;
}

function privileged(spec: Record<string, any>): void {
  // The API server refuses privileged with allowPrivilegeEscalation false.
  spec.containers[0].securityContext.privileged = true;
  spec.containers[0].securityContext.allowPrivilegeEscalation = true;
}

describe('background audit: reports, leader election, metrics, dashboard', function () {
  this.timeout(300_000);
  let nsA: string;
  let nsB: string;
  /** Judged at first, then added to webhook.excludedNamespaces. */
  let nsC: string;
  /** Excluded by the chart whatever the values: the privileged Pod put in each is never reported. */
  const alwaysExcluded = ['kube-system', RELEASE_NAMESPACE];
  let browser: Browser | undefined;
  let dashboard: { url: string; close(): void } | undefined;

  const metrics = async (name: string): Promise<string> => {
    const replica = (await env().gapguard.replicas()).find((r) => r.name === name);
    if (!replica) throw new Error(`no replica ${name}`);
    return (await https(replica.target, '/metrics', env().gapguard.caPem)).body;
  };
  const replicaNames = async (): Promise<string[]> => (await env().gapguard.replicas()).map((r) => r.name);

  before(async function () {

    nsA = await createNamespace('rep-a', 'audit');
    await ok(['-n', nsA, 'apply', '-f', '-'], JSON.stringify(deployment('web', privileged, 2)));
    nsB = await createNamespace('rep-b', 'audit');
    await apply(nsB, pod('calm'));
    await apply(nsB, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    nsC = await createNamespace('rep-c', 'audit');
    await apply(nsC, pod('soon-excluded', privileged));
    for (const ns of alwaysExcluded) await apply(ns, pod('reports-excluded', privileged));

    await env().gapguard.configure({ backgroundAudit: true });
    await ok(['wait', '--for=condition=established', '--timeout=60s', 'crd/policyreports.wgpolicyk8s.io', 'crd/clusterpolicyreports.wgpolicyk8s.io']);
  });

  after(async () => {
    await browser?.close();
    dashboard?.close();
    for (const ns of [nsA, nsB, nsC]) if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    for (const ns of alwaysExcluded) await kubectl(['-n', ns, 'delete', 'pod', 'reports-excluded', '--wait=false', '--ignore-not-found']);
    // The suite's settings; the last test uninstalled the release.
    const g = env().gapguard;
    if (await g.installed()) await g.configure();
    else await g.install();
  });

  it('writes one report per namespace, the Deployment reported once (not its ReplicaSet and Pods), and the rollout answer per Namespace', async () => {
    const a = await eventually('the report of namespace A', async () => {
      const r = await report(nsA);
      return r && r.results.some((x) => x.rule === 'privileged/privileged-container') ? r : undefined;
    }, 60_000);
    const privilegedResults = a.results.filter((x) => x.rule === 'privileged/privileged-container');
    expect(privilegedResults.map((x) => `${x.resources[0]!.kind}/${x.resources[0]!.name}`)).to.deep.equal(['Deployment/web']);
    expect(privilegedResults[0]!.properties).to.include({ enforce: 'deny', path: 'spec.template.spec.containers[0].securityContext.privileged' });
    expect(a.summary.fail).to.equal(a.results.filter((x) => x.result === 'fail').length);
    expect(a.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).to.deep.equal([`ClusterRole/${RELEASE}`]);
    const b = await eventually('the report of namespace B', () => report(nsB));
    expect(b.summary).to.include({ fail: 0, warn: 0, pass: 1 });
    const cluster = await eventually('the cluster report', async () => {
      const r = await clusterReport();
      return r && r.results.some((x) => x.resources[0]!.name === nsB) ? r : undefined;
    });
    const answer = (ns: string) => cluster.results.find((x) => x.resources[0]!.name === ns)!;
    expect(answer(nsA)).to.include({ result: 'fail', rule: 'ready-for-enforce' });
    expect(answer(nsA).message).to.match(/^not ready for enforce: 1 workload\(s\) would be denied/);
    expect(answer(nsB)).to.include({ result: 'pass' });
    expect(answer(nsC)).to.include({ result: 'fail' });
    // The namespaces the chart's webhooks never send are neither reported nor counted.
    for (const ns of alwaysExcluded) {
      expect(await report(ns), ns).to.equal(undefined);
      expect(cluster.results.some((x) => x.resources[0]!.name === ns), ns).to.equal(false);
    }
  });

  it('only the lease holder writes; both replicas export the same bounded gauges', async () => {
    const leader = await eventually('a lease holder', holder);
    const names = await replicaNames();
    expect(names).to.have.length(2);
    expect(names).to.include(leader);
    for (const name of names) {
      const text = await metrics(name);
      expect(text, name).to.include(`gapguard_leader ${name === leader ? 1 : 0}`);
      expect(text).to.match(new RegExp(`gapguard_running_findings\\{namespace="${nsA}",gap="privileged"\\} [1-9]`));
      expect(text).to.include(`gapguard_namespace_ready_for_enforce{namespace="${nsA}"} 0`);
      expect(text).to.include(`gapguard_namespace_ready_for_enforce{namespace="${nsB}"} 1`);
      expect(text).to.include(`gapguard_running_workloads{namespace="${nsA}",verdict="deny"} 1`);
      for (const ns of alwaysExcluded) expect(text).not.to.include(`namespace="${ns}"`);
    }
    const writes = (name: string) => metrics(name).then((t) => Number(/gapguard_report_writes_total\{operation="apply",result="success"\} (\d+)/.exec(t)?.[1] ?? 0));
    const follower = names.find((n) => n !== leader)!;
    expect(await writes(leader)).to.be.greaterThan(0);
    expect(await writes(follower)).to.equal(0);
  });

  it('follows a change, and rewrites only the report whose content changed', async () => {
    const before = (await report(nsA))!.metadata.resourceVersion;
    await apply(nsB, pod('loud', privileged));
    const b = await eventually('namespace B reporting the new Pod', async () => {
      const r = await report(nsB);
      return r && r.results.some((x) => x.resources[0]!.name === 'loud' && x.rule === 'privileged/privileged-container') ? r : undefined;
    });
    expect(b.summary.fail).to.be.greaterThan(0);
    await eventually('namespace B not ready in the cluster report', async () => {
      const r = await clusterReport();
      return r?.results.find((x) => x.resources[0]!.name === nsB)?.result === 'fail' ? true : undefined;
    });
    await sleep(2500);
    expect((await report(nsA))!.metadata.resourceVersion, 'namespace A unchanged, not rewritten').to.equal(before);
  });

  it('shows the dashboard in Chromium: the namespaces\' gaps and the ready-for-enforce answer', async () => {
    browser = await openBrowser();
    dashboard = await env().gapguard.dashboard((await holder())!);
    const { page } = browser;
    await page.goto(`${dashboard.url}/`);
    const headers = (await page.locator('thead tr').first().innerText()).split('\t').map((s) => s.trim());
    const rowA = (await page.getByRole('row', { name: new RegExp(`^${nsA}`) }).innerText()).split('\t').map((s) => s.trim());
    expect(rowA[headers.indexOf('mode')]).to.equal('audit');
    expect(Number(rowA[headers.indexOf('privileged')])).to.be.greaterThan(0);
    expect(rowA[headers.indexOf('if switched to enforce')]).to.include('1 denied');
    await browser.screenshot('dashboard-overview');
    await page.getByRole('link', { name: nsA, exact: true }).click();
    const section = await page.getByRole('region', { name: `Namespace ${nsA}` }).innerText();
    expect(section).to.match(/Not ready for enforce\s+1 workload\(s\) would be denied/);
    expect(section).to.match(/Enforce would deny:\s+Deployment web/);
    expect(section).to.include('spec.template.spec.containers[0].securityContext.privileged');
    await browser.screenshot('dashboard-namespace');
    // The clean namespace, reached from the keyboard.
    await page.goto(`${dashboard.url}/`);
    await kubectl(['-n', nsB, 'delete', 'pod', 'loud', '--wait=false']);
    await eventually('namespace B ready again on the dashboard', async () => {
      await page.reload();
      const row = await page.getByRole('row', { name: new RegExp(`^${nsB}`) }).innerText();
      return row.includes('ready for enforce') ? true : undefined;
    });
    await page.getByRole('link', { name: nsB, exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/namespaces\//);
    expect(await page.getByRole('region', { name: `Namespace ${nsB}` }).innerText()).to.include('Ready for enforce');
    await browser.screenshot('dashboard-ready');
    expect(browser.requests.every((u) => u.startsWith(`${dashboard!.url}/`))).to.equal(true);
  });

  it('judges again when the policy is reloaded, with no workload changed', async () => {
    const g = env().gapguard;
    const privilegedResult = async (): Promise<string | undefined> =>
      (await report(nsA))?.results.find((x) => x.rule === 'privileged/privileged-container' && x.resources[0]!.name === 'web')?.result;
    expect(await privilegedResult()).to.equal('fail');
    const servers = await g.instances();
    await g.configure({ backgroundAudit: true, policy: { gaps: { privileged: { action: 'warn' } } } });
    await eventually('the privileged result a warning after the reload', async () => ((await privilegedResult()) === 'warn' ? true : undefined), 30_000);
    await g.configure({ backgroundAudit: true });
    await eventually('the privileged result a failure again', async () => ((await privilegedResult()) === 'fail' ? true : undefined), 30_000);
    if (g.where === 'in-cluster') expect(await g.instances(), 'the same replicas: a reload, not a restart').to.deep.equal(servers);
  });

  it('moves the lease to the other replica within seconds when the leader is killed, and the new leader writes', async () => {
    const leader = (await holder())!;
    const other = (await replicaNames()).find((n) => n !== leader)!;
    const killedAt = Date.now();
    await env().gapguard.kill(leader);
    await eventually('the other replica holding the lease', async () => ((await holder()) === other ? true : undefined), 30_000, 200);
    const seconds = (Date.now() - killedAt) / 1000;
    process.stderr.write(`      (lease taken over ${seconds.toFixed(1)} s after the leader was killed)\n`);
    expect(seconds).to.be.below(15);
    await apply(nsA, pod('late', privileged));
    await eventually('the new leader reporting a new Pod', async () => {
      const r = await report(nsA);
      return r?.results.some((x) => x.resources[0]!.name === 'late') ? true : undefined;
    }, 30_000);
    expect(await metrics(other)).to.include('gapguard_leader 1');
  });

  it('removes the report of a namespace added to webhook.excludedNamespaces', async () => {
    expect(await report(nsC)).not.to.equal(undefined);
    await env().gapguard.configure({ backgroundAudit: true, excludedNamespaces: [nsC] });
    await eventually('namespace C report gone', async () => ((await report(nsC)) === undefined ? true : undefined), 30_000);
    await eventually('namespace C gone from the cluster report', async () => {
      const r = await clusterReport();
      return r && !r.results.some((x) => x.resources[0]!.name === nsC) ? true : undefined;
    });
  });

  it('removes the report of a namespace labelled off, and of a namespace deleted', async () => {
    await setMode(nsA, 'off');
    await eventually('namespace A report gone', async () => ((await report(nsA)) === undefined ? true : undefined), 30_000);
    await ok(['delete', 'namespace', nsB, '--wait=false']);
    await eventually('namespace B gone from the cluster report', async () => {
      const r = await clusterReport();
      return r && !r.results.some((x) => x.resources[0]!.name === nsB || x.resources[0]!.name === nsA) ? true : undefined;
    }, 60_000);
  });

  it('leaves no report behind when gapguard goes away (its ClusterRole owns them)', async () => {
    await setMode(nsA, 'audit');
    await eventually('namespace A reported again', () => report(nsA), 30_000);
    await env().gapguard.uninstall();
    expect((await kubectl(['get', 'clusterrole', RELEASE])).code, 'the ClusterRole uninstalled').to.not.equal(0);
    await eventually('every gapguard report garbage-collected', async () => {
      const out = await ok(['get', 'policyreports.wgpolicyk8s.io,clusterpolicyreports.wgpolicyk8s.io', '-A', '-l', 'app.kubernetes.io/managed-by=gapguard', '-o', 'name']);
      return out.trim() === '' ? true : undefined;
    }, 60_000);
  });
});
