// The chart's background audit values: off by default; on, the RBAC it needs and no more, the serve
// flags (accepted by the real CLI; the excluded namespaces those of the webhooks), the optional CRDs of the chosen report format, the dashboard
// port and the Grafana dashboard, whose queries name only metrics the server exports.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuditMetrics } from '../../src/cluster/audit-metrics.js';
import { Metrics } from '../../src/server/metrics.js';
import { repoRoot } from '../helpers.js';
import { find, render, type RenderedObject } from './helm.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

function container(objects: RenderedObject[]): { args: string[]; env?: { name: string; valueFrom: unknown }[] } {
  return (find(objects, 'Deployment').spec as { template: { spec: { containers: { args: string[]; env?: { name: string; valueFrom: unknown }[] }[] } } }).template.spec.containers[0]!;
}

const on = (extra: Record<string, unknown> = {}) => render({ values: { backgroundAudit: { enabled: true, ...extra } } });

describe('chart: background audit', () => {
  it('is off by default: no CRD, no Lease role, no audit flag', async () => {
    const objects = await render();
    expect(objects.filter((o) => ['CustomResourceDefinition', 'Role', 'RoleBinding'].includes(o.kind))).to.deep.equal([]);
    expect(container(objects).args.filter((a) => a.startsWith('--background') || a.startsWith('--reports'))).to.deep.equal([]);
  });

  it('grants list and watch on every judged kind, writes to its report kinds, reads its own ClusterRole, and holds only its Lease', async () => {
    const objects = await on();
    const rules = find(objects, 'ClusterRole').rules as Rule[];
    expect(rules.slice(2)).to.deep.equal([
      { apiGroups: [''], resources: ['pods', 'podtemplates', 'replicationcontrollers'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['list', 'watch'] },
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
      { apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports', 'clusterpolicyreports'], verbs: ['list', 'create', 'patch', 'delete'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['gapguard'], verbs: ['get'] },
    ]);
    const role = find(objects, 'Role');
    expect(role.metadata.namespace).to.equal('gapguard');
    expect(role.rules).to.deep.equal([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['gapguard'], verbs: ['get', 'update'] },
    ]);
    expect((find(objects, 'RoleBinding').subjects as unknown[])[0]).to.deep.equal({ kind: 'ServiceAccount', name: 'gapguard', namespace: 'gapguard' });
  });

  it('passes flags the server accepts, and POD_NAME as the leader identity', async () => {
    const c = container(await on({ dashboard: { enabled: true, port: 9090 } }));
    const audit = c.args.slice(c.args.indexOf('--background-audit'));
    expect(audit).to.deep.equal([
      '--background-audit',
      '--metrics-max-namespaces=100',
      '--excluded-namespaces=kube-system,gapguard',
      '--leader-lease=gapguard/gapguard',
      '--reports=wgpolicyk8s',
      '--report-owner-clusterrole=gapguard',
      '--dashboard-port=9090',
    ]);
    expect(c.env).to.deep.equal([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    // Every flag parses and validates; only the missing cluster stops it.
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), ...c.args.filter((a) => !a.startsWith('--tls') && !a.startsWith('--policy')), '--no-cluster'], { encoding: 'utf8' });
    expect(r.stderr).to.include('--background-audit needs a cluster: leave out --no-cluster');
    expect(r.status).to.equal(2);
  });

  it('audits none of the namespaces the webhooks leave out: the flag carries the namespaceSelector\'s list', async () => {
    const objects = await render({ namespace: 'security', values: { backgroundAudit: { enabled: true }, webhook: { excludedNamespaces: ['monitoring', 'kube-system'] } } });
    const selector = (find(objects, 'ValidatingWebhookConfiguration').webhooks as { namespaceSelector: { matchExpressions: { key: string; values: string[] }[] } }[])[0]!.namespaceSelector;
    const notSent = selector.matchExpressions.find((e) => e.key === 'kubernetes.io/metadata.name')!.values;
    expect(notSent).to.deep.equal(['kube-system', 'security', 'monitoring']);
    expect(container(objects).args).to.include(`--excluded-namespaces=${notSent.join(',')}`);
  });

  it('adds the audit\'s memory, its thread\'s and per 1,000 Pods, to the memory request and limit, and only when it is on', async () => {
    const memory = (objects: RenderedObject[]) => {
      const r = (find(objects, 'Deployment').spec as { template: { spec: { containers: { resources: { requests: { memory: string }; limits: { memory: string } } }[] } } }).template.spec.containers[0]!.resources;
      return [r.requests.memory, r.limits.memory];
    };
    expect(memory(await render())).to.deep.equal(['128Mi', '256Mi']);
    // The defaults: 100 MiB for the audit's thread, and 2,000 Pods at 25 MiB per 1,000.
    expect(memory(await on())).to.deep.equal(['278Mi', '406Mi']);
    // Any quantity the schema admits; 10,001 Pods begin an 11th thousand. Helm 3 renders the same.
    const values = { backgroundAudit: { enabled: true, sizing: { expectedPods: 10_001, memoryBase: 100, memoryPerThousandPods: 25 } }, resources: { requests: { cpu: '100m', memory: 134217728 }, limits: { cpu: '1', memory: '1.5Gi' } } };
    for (const binary of ['helm', 'helm3'] as const) expect(memory(await render({ values, binary, args: ['--kube-version', 'v1.37.2'] })), binary).to.deep.equal(['503Mi', '1911Mi']);
    expect(memory(await on({ sizing: { expectedPods: 5000, memoryPerThousandPods: 0 } }))).to.deep.equal(['228Mi', '356Mi']);
    expect(memory(await on({ sizing: { expectedPods: 5000, memoryBase: 0, memoryPerThousandPods: 0 } }))).to.deep.equal(['128Mi', '256Mi']);
  });

  it('ships the CRDs of the chosen format, kept on uninstall, and none when asked', async () => {
    const wg = (await on()).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(wg.map((o) => o.metadata.name)).to.deep.equal(['policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io']);
    expect(wg.every((o) => o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep')).to.equal(true);
    const open = await on({ reports: 'openreports' });
    expect(open.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).to.deep.equal(['reports.openreports.io', 'clusterreports.openreports.io']);
    expect((find(open, 'ClusterRole').rules as Rule[]).find((r) => r.apiGroups[0] === 'openreports.io')!.resources).to.deep.equal(['reports', 'clusterreports']);
    expect(container(open).args).to.include('--reports=openreports');
    expect((await on({ installCRDs: false })).filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
    const none = await on({ reports: 'none' });
    expect(none.filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
    expect(container(none).args.filter((a) => a.startsWith('--report'))).to.deep.equal([]);
    expect((find(none, 'ClusterRole').rules as Rule[]).map((r) => r.apiGroups[0])).not.to.include.members(['wgpolicyk8s.io', 'rbac.authorization.k8s.io']);
  });

  it('refuses an unknown report format', async () => {
    const r = await render({ values: { backgroundAudit: { enabled: true, reports: 'kyverno' } } }).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(r).to.match(/backgroundAudit\.reports|reports.*must be one of/);
  });

  it('ships a Grafana dashboard whose queries name only metrics the server exports', async () => {
    const objects = await on({ grafanaDashboard: { enabled: true } });
    const cm = find(objects, 'ConfigMap', 'gapguard-grafana-dashboard');
    expect(cm.metadata.labels).to.include({ grafana_dashboard: '1' });
    const dashboard = JSON.parse((cm.data as Record<string, string>)['gapguard.json']!) as { panels: { targets: { expr: string }[] }[] };
    const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/gapguard_[a-z_]+/g) ?? [])));
    const metrics = new Metrics();
    new AuditMetrics(metrics.registry, 10);
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).flatMap((m) => [m.name, `${m.name}_bucket`]));
    expect(names.size).to.be.greaterThan(6);
    for (const name of names) expect(exported.has(name), name).to.equal(true);
  });
});
