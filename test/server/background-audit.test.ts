// The background audit of `serve` (cluster/continuous-audit.ts, its reflectors list and watch)
// against the fake API server: it judges only the namespaces the webhooks judge (never one the
// chart excludes, whose objects are not even held; not one labelled off), follows changes through
// the watch, and judges everything again when a reload puts a new policy in force.
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { startContinuousAudit, type ContinuousAudit } from '../../src/cluster/continuous-audit.js';
import { defaultPolicy, parsePolicy } from '../../src/policy/load.js';
import { createLogger } from '../../src/server/log.js';
import { FakeApiServer, namespace, NAMESPACES, PODS, type Obj } from './fake-apiserver.js';
import { eventually } from './harness.js';

function privilegedPod(ns: string, name: string): Obj {
  return {
    metadata: { name, namespace: ns },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
  };
}

describe('background audit (reflectors against a fake API server)', function () {
  this.timeout(30_000);
  let api: FakeApiServer;
  let audit: ContinuousAudit;
  const registry = new Registry();

  const judged = (): string[] =>
    (audit.audit.latest?.view.namespaces ?? []).flatMap((ns) => ns.workloads.map((w) => `${ns.name}/${w.name}`));

  before(async () => {
    api = await new FakeApiServer().start();
    for (const ns of ['kube-system', 'gapguard', 'shop']) {
      api.put(NAMESPACES, namespace(ns));
      api.put(PODS, privilegedPod(ns, 'web'));
    }
    api.put(NAMESPACES, namespace('legacy', 'off'));
    api.put(PODS, privilegedPod('legacy', 'web'));
    audit = await startContinuousAudit({
      kubeConfig: api.kubeConfig(),
      logger: createLogger('error', () => {}),
      registry,
      policy: defaultPolicy(),
      excludedNamespaces: ['kube-system', 'gapguard'],
      maxNamespaces: 10,
      debounceMs: 20,
    });
    await eventually(() => audit.audit.latest !== undefined, 'the first run');
  });
  after(async () => {
    await audit.stop();
    await api.stop();
  });

  it('judges only the namespaces the webhooks judge: excluded ones are not held, one labelled off is skipped', async () => {
    expect(judged()).to.deep.equal(['shop/web']);
    // shop and legacy, each a Namespace and a Pod: nothing of kube-system or gapguard is kept.
    expect(audit.audit.objectCount).to.equal(4);
    const text = await registry.metrics();
    expect(text).to.match(/gapguard_running_findings\{namespace="shop",gap="privileged"\} [1-9]/);
    expect(text).not.to.match(/namespace="(kube-system|gapguard|legacy)"/);
  });

  it('follows the watch: an object arriving in a judged namespace is judged, one in an excluded namespace is not', async () => {
    api.put(PODS, privilegedPod('kube-system', 'late'));
    api.put(PODS, privilegedPod('shop', 'late'));
    await eventually(() => judged().includes('shop/late'), 'the new Pod of shop judged');
    expect(judged()).to.deep.equal(['shop/late', 'shop/web']);
    expect(audit.audit.objectCount).to.equal(5);
  });

  it('judges everything again when a reload puts a new policy in force, with no object changed', async () => {
    const privilegedAction = (): string | undefined =>
      audit.audit.latest?.view.namespaces[0]?.workloads.find((w) => w.name === 'web')?.findings.find((f) => f.rule === 'privileged/privileged-container')?.action;
    expect(privilegedAction()).to.equal('deny');
    audit.setPolicy(parsePolicy('gaps:\n  privileged:\n    action: warn\n'));
    await eventually(() => privilegedAction() === 'warn', 'the Pod judged with the reloaded policy');
  });
});
