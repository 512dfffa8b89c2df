// The chart's ValidatingAdmissionPolicy on the gapguard.io/mode namespace label, evaluated by the
// real kube-apiserver: a user who may create and label namespaces, but is not listed in
// modeLabelGuard, can neither create a namespace with the label nor add, change or remove it; a
// listed group can; other labels stay free for everyone.
import { expect } from 'chai';
import { eventually, uniqueName } from './support/kube.js';
import { kubectl } from './support/suite.js';

const USER = 'e2e-namespace-editor';

/** kubectl as a user allowed (by RBAC) to create, label and delete namespaces, in the given groups. */
const as = (args: string[], groups: string[] = [], input?: string) => kubectl([`--as=${USER}`, ...groups.map((g) => `--as-group=${g}`), ...args], input);

const namespaceWith = (name: string, labels: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

describe('gapguard.io/mode label guard (ValidatingAdmissionPolicy)', function () {
  const rbac = uniqueName('e2e-ns-editor');
  const created: string[] = [];

  before(async () => {
    const r = await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: rbac }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }] },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: rbac }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rbac }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }] },
      ],
    }));
    if (r.code !== 0) throw new Error(`cannot grant namespace rights: ${r.stderr}`);
  });

  after(async () => {
    for (const ns of created) await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    await kubectl(['delete', 'clusterrolebinding,clusterrole', rbac, '--ignore-not-found']);
  });

  it('refuses a user outside the listed users and groups every way of setting the label, and nothing else', async () => {
    const refusedCreate = await eventually('the policy to be in force', async () => {
      const name = uniqueName('e2e-off');
      const r = await as(['create', '-f', '-'], [], namespaceWith(name, { 'gapguard.io/mode': 'off' }));
      if (r.code === 0) {
        // Created before the apiserver loaded the policy: remove it and try again.
        await kubectl(['delete', 'namespace', name, '--wait=false']);
        return undefined;
      }
      return r;
    }, 30_000, 500);
    expect(refusedCreate.stderr).to.match(/ValidatingAdmissionPolicy '[^']*mode-label' with binding '[^']*mode-label' denied request: the gapguard\.io\/mode label decides whether gapguard judges a namespace: only users \[\] and members of groups \["system:masters"\] may set, change or remove it/);

    const plain = uniqueName('e2e-plain');
    const create = await as(['create', '-f', '-'], [], namespaceWith(plain, { team: 'shop' }));
    expect(create.code, create.stderr).to.equal(0);
    created.push(plain);
    // Other labels stay free.
    const other = await as(['label', 'namespace', plain, 'cost-center=42']);
    expect(other.code, other.stderr).to.equal(0);
    // Adding the label, in any mode.
    for (const mode of ['off', 'audit', 'enforce']) {
      const add = await as(['label', 'namespace', plain, `gapguard.io/mode=${mode}`]);
      expect(add.code, mode).to.not.equal(0);
      expect(add.stderr).to.include('denied request');
    }
    // A listed group may; then changing and removing it is refused to the others.
    const admin = await as(['label', 'namespace', plain, 'gapguard.io/mode=enforce'], ['system:masters']);
    expect(admin.code, admin.stderr).to.equal(0);
    expect((await as(['label', 'namespace', plain, 'gapguard.io/mode=off', '--overwrite'])).code).to.not.equal(0);
    expect((await as(['label', 'namespace', plain, 'gapguard.io/mode-'])).code).to.not.equal(0);
    // Unrelated updates to a labelled namespace are not refused.
    const unrelated = await as(['label', 'namespace', plain, 'cost-center=43', '--overwrite']);
    expect(unrelated.code, unrelated.stderr).to.equal(0);
    const labels = JSON.parse((await kubectl(['get', 'namespace', plain, '-o', 'jsonpath={.metadata.labels}'])).stdout) as Record<string, string>;
    expect(labels).to.include({ 'gapguard.io/mode': 'enforce', 'cost-center': '43', team: 'shop' });
  });
});
