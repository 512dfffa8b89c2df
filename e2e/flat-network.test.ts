// flat-network/no-network-policy follows the NetworkPolicies the server's informer sees: present
// in a namespace without one that selects the Pod, absent under a default-deny policy, and it
// follows policies created and deleted while the server runs.
import { expect } from 'chai';
import { apply, createNamespace, eventually, warnings } from './support/kube.js';
import { pod } from './support/objects.js';
import { kubectl } from './support/suite.js';

const FINDING = 'flat-network/no-network-policy: metadata.labels';

function networkPolicy(name: string, podSelector: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec: { podSelector, policyTypes: ['Ingress'] } };
}

describe('flat-network', function () {
  async function findingFor(ns: string): Promise<boolean> {
    const r = await apply(ns, pod('probe'), '--dry-run=server');
    expect(r.code, r.stderr).to.equal(0);
    return warnings(r).includes(FINDING);
  }

  it('is reported without a NetworkPolicy and not under a default-deny one', async function () {
    const open = await createNamespace('flat', 'enforce');
    expect(await findingFor(open)).to.equal(true);

    const closed = await createNamespace('flat', 'enforce');
    expect((await apply(closed, networkPolicy('default-deny', {}))).code).to.equal(0);
    await eventually('the default-deny policy to be seen', async () => ((await findingFor(closed)) ? undefined : true));
  });

  it('follows NetworkPolicies created and deleted while the server runs', async function () {
    const ns = await createNamespace('flat', 'enforce');
    expect(await findingFor(ns)).to.equal(true);

    // A policy that selects other Pods leaves this one on the flat network. The server watches all
    // namespaces' policies in one stream, in order: once it has seen a policy created after this
    // one in another namespace, it has seen this one too.
    expect((await apply(ns, networkPolicy('others', { matchLabels: { app: 'other' } }))).code).to.equal(0);
    const sentinel = await createNamespace('flat', 'enforce');
    expect((await apply(sentinel, networkPolicy('default-deny', {}))).code).to.equal(0);
    await eventually('the later policy to be seen', async () => ((await findingFor(sentinel)) ? undefined : true));
    expect(await findingFor(ns)).to.equal(true);

    expect((await apply(ns, networkPolicy('probe-only', { matchLabels: { app: 'probe' } }))).code).to.equal(0);
    await eventually('the finding to go once a policy selects the Pod', async () => ((await findingFor(ns)) ? undefined : true));

    const del = await kubectl(['-n', ns, 'delete', 'networkpolicy', 'probe-only']);
    expect(del.code, del.stderr).to.equal(0);
    await eventually('the finding to come back once the policy is deleted', async () => ((await findingFor(ns)) ? true : undefined));
  });
});
