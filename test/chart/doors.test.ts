// What the chart locks: who reaches the server (its NetworkPolicy), who may set the namespace mode
// label (a ValidatingAdmissionPolicy; its behaviour in a real apiserver is in e2e/mode-label.test.ts),
// client-certificate names, and the priority of the server's pods.
import { expect } from 'chai';
import { chartDir, find, helm, render, template, type RenderedObject } from './helm.js';

interface Ingress {
  ports: { port: string; protocol: string }[];
  from?: Record<string, unknown>[];
}

const ingress = (objects: RenderedObject[]) => (find(objects, 'NetworkPolicy').spec as { ingress: Ingress[] }).ingress;

describe('chart: doors', () => {
  it('admits only the given peers to the webhook port, or every address but the pod network', async () => {
    const apiserver = [{ ipBlock: { cidr: '172.16.0.2/32' } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { app: 'konnectivity-agent' } } }];
    expect(ingress(await render({ values: { networkPolicy: { webhookFrom: apiserver } } }))).to.deep.equal([{ ports: [{ port: 'https', protocol: 'TCP' }], from: apiserver }]);
    expect(ingress(await render({ values: { networkPolicy: { podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] } } }))).to.deep.equal([
      {
        ports: [{ port: 'https', protocol: 'TCP' }],
        from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16'] } }, { ipBlock: { cidr: '::/0', except: ['fd00:10:244::/56'] } }],
      },
    ]);
  });

  it('says in the install notes when the NetworkPolicy admits any source, and refuses a CIDR that is not one', async () => {
    // helm template leaves the notes out; an install dry run prints them.
    const notes = async (...set: string[]) => (await helm(['install', 'gapguard', chartDir, '--dry-run=client', '--namespace', 'gapguard', ...set.flatMap((s) => ['--set', s])])).stdout;
    expect(ingress(await render())).to.deep.equal([{ ports: [{ port: 'https', protocol: 'TCP' }] }]);
    expect(await notes()).to.include('WARNING: the NetworkPolicy admits any source to the webhook port');
    expect(await notes('networkPolicy.podCIDRs={10.244.0.0/16}')).to.include('gapguard.io/mode').and.not.include('WARNING: the NetworkPolicy admits any source');
    const bad = await template({ values: { networkPolicy: { podCIDRs: ['pods'] } } });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/podCIDRs/);
  });

  it('ships the mode-label guard on by default, for the listed users and groups only', async () => {
    const objects = await render({ values: { modeLabelGuard: { users: ['alice'], groups: ['platform-admins'] } } });
    const policy = find(objects, 'ValidatingAdmissionPolicy');
    const spec = policy.spec as { failurePolicy: string; matchConstraints: { resourceRules: unknown[] }; variables: { name: string; expression: string }[]; validations: { expression: string }[] };
    expect(spec.failurePolicy).to.equal('Fail');
    expect(spec.matchConstraints.resourceRules).to.deep.equal([{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['namespaces'] }]);
    expect(spec.variables.find((v) => v.name === 'allowed')!.expression).to.equal(
      'request.userInfo.username in ["alice"] || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ["platform-admins"]))',
    );
    expect(spec.validations[0]!.expression).to.equal('variables.mode == variables.previousMode || variables.allowed');
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding');
    expect(binding.spec).to.deep.equal({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    const byDefault = await render();
    expect((find(byDefault, 'ValidatingAdmissionPolicy').spec as typeof spec).variables.find((v) => v.name === 'allowed')!.expression).to.include('["system:masters"]');
    const off = await render({ values: { modeLabelGuard: { enabled: false } } });
    expect(off.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).to.deep.equal([]);
  });

  it('runs the server at system-cluster-critical priority, with the quota GKE asks for', async () => {
    const objects = await render();
    const deployment = find(objects, 'Deployment').spec as { template: { spec: { priorityClassName?: string } } };
    expect(deployment.template.spec.priorityClassName).to.equal('system-cluster-critical');
    expect(find(objects, 'ResourceQuota').spec).to.deep.equal({
      hard: { pods: 8 },
      scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-cluster-critical'] }] },
    });
    const none = await render({ values: { priorityClassName: '' } });
    expect((find(none, 'Deployment').spec as typeof deployment).template.spec).to.not.have.property('priorityClassName');
    expect(none.filter((o) => o.kind === 'ResourceQuota')).to.deep.equal([]);
  });

  it('passes client-certificate names to the server', async () => {
    const objects = await render({ values: { server: { clientCAConfigMap: 'apiserver-client-ca', clientNames: ['kube-apiserver', 'apiserver-webhook-client'] } } });
    const args = (find(objects, 'Deployment').spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
    expect(args).to.include('--client-name=kube-apiserver,apiserver-webhook-client');
  });
});
