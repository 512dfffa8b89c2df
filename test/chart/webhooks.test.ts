// The webhook configurations the chart renders: what is judged, where it is sent, and which
// namespaces each route selects, for both cluster-wide modes and for an out-of-cluster server.
import { expect } from 'chai';
import { find, render, type RenderedObject } from './helm.js';

interface RuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope: string;
}

interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  failurePolicy: string;
  timeoutSeconds: number;
  reinvocationPolicy?: string;
  clientConfig: { url?: string; caBundle?: string; service?: { name: string; namespace: string; path: string; port: number } };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  rules: RuleWithOperations[];
  matchConditions: { name: string; expression: string }[];
}

function webhooks(objects: RenderedObject[], kind: 'Validating' | 'Mutating'): Webhook[] {
  return find(objects, `${kind}WebhookConfiguration`).webhooks as Webhook[];
}

function route(objects: RenderedObject[], kind: 'Validating' | 'Mutating', name: 'enforce' | 'audit'): Webhook {
  const endpoint = kind === 'Validating' ? 'validate' : 'mutate';
  const hook = webhooks(objects, kind).find((w) => w.name === `${name}.${endpoint}.gapguard.io`);
  if (!hook) throw new Error(`no ${name} webhook in the ${kind} configuration`);
  return hook;
}

/** group/resource -> operations, over all rules of a webhook. */
function judged(hook: Webhook): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const rule of hook.rules) {
    expect(rule.apiVersions).to.deep.equal(['v1']);
    expect(rule.scope).to.equal('Namespaced');
    for (const group of rule.apiGroups) for (const resource of rule.resources) out[`${group || 'core'}/${resource}`] = rule.operations;
  }
  return out;
}

function selector(hook: Webhook, key: string) {
  return hook.namespaceSelector.matchExpressions.filter((e) => e.key === key);
}

const BOTH = ['CREATE', 'UPDATE'];
const CONTROLLERS = {
  'core/replicationcontrollers': BOTH,
  'core/podtemplates': BOTH,
  'apps/deployments': BOTH,
  'apps/statefulsets': BOTH,
  'apps/daemonsets': BOTH,
  'batch/jobs': BOTH,
  'batch/cronjobs': BOTH,
};

describe('chart: webhook configurations', () => {
  let audit: RenderedObject[];
  let enforce: RenderedObject[];
  before(async () => {
    audit = await render();
    enforce = await render({ values: { mode: 'enforce' } });
  });

  it('validates with an enforce webhook failing closed and an audit one failing open, and mutates with enforce only', () => {
    expect(webhooks(audit, 'Validating')).to.have.length(2);
    // Audit's validating call says what enforce would patch: a mutating audit call would only cost time.
    expect(webhooks(audit, 'Mutating').map((w) => w.name)).to.deep.equal(['enforce.mutate.gapguard.io']);
    const closed = [route(audit, 'Validating', 'enforce'), route(audit, 'Mutating', 'enforce')];
    const open = route(audit, 'Validating', 'audit');
    for (const hook of closed) expect(hook).to.include({ failurePolicy: 'Fail', timeoutSeconds: 5 });
    expect(open).to.include({ failurePolicy: 'Ignore', timeoutSeconds: 3 });
    for (const hook of [...closed, open]) {
      expect(hook.admissionReviewVersions).to.deep.equal(['v1']);
      expect(hook.sideEffects).to.equal('None');
    }
  });

  it('sends enforce to paths that always enforce, audit to paths that cap the decision at audit', () => {
    const paths = (objects: RenderedObject[]) =>
      (['Validating', 'Mutating'] as const).flatMap((kind) => webhooks(objects, kind).map((w) => `${w.name} ${w.clientConfig.service!.path}`));
    expect(paths(audit).sort()).to.deep.equal([
      'audit.validate.gapguard.io /validate/audit',
      'enforce.mutate.gapguard.io /mutate/enforce',
      'enforce.validate.gapguard.io /validate/enforce',
    ]);
    const service = route(audit, 'Validating', 'audit').clientConfig.service!;
    expect(service).to.deep.include({ name: 'gapguard', namespace: 'gapguard', port: 443 });
    expect(find(audit, 'Service').metadata.name).to.equal(service.name);
  });

  it('validates Pods, debug containers and every controller kind on CREATE and UPDATE', () => {
    for (const name of ['enforce', 'audit'] as const) {
      expect(judged(route(audit, 'Validating', name))).to.deep.equal({
        'core/pods': BOTH,
        'core/pods/ephemeralcontainers': BOTH,
        'apps/replicasets': BOTH,
        ...CONTROLLERS,
      });
    }
  });

  it('patches Pods on CREATE only and never ReplicaSets or ephemeral containers', () => {
    expect(judged(route(audit, 'Mutating', 'enforce'))).to.deep.equal({ 'core/pods': ['CREATE'], ...CONTROLLERS });
  });

  it('re-runs the enforce patch after later mutating webhooks', () => {
    expect(route(audit, 'Mutating', 'enforce').reinvocationPolicy).to.equal('IfNeeded');
    expect(route(audit, 'Validating', 'enforce')).not.to.have.property('reinvocationPolicy');
  });

  it('never sends kube-system, the release namespace or the configured namespaces', async () => {
    const objects = await render({ namespace: 'security', values: { webhook: { excludedNamespaces: ['monitoring', 'kube-system'] } } });
    for (const kind of ['Validating', 'Mutating'] as const) {
      for (const hook of webhooks(objects, kind)) {
        expect(selector(hook, 'kubernetes.io/metadata.name')).to.deep.equal([
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'security', 'monitoring'] },
        ]);
      }
    }
  });

  it('in global audit mode, enforces only namespaces labelled enforce and audits the rest', () => {
    for (const kind of ['Validating', 'Mutating'] as const) {
      expect(selector(route(audit, kind, 'enforce'), 'gapguard.io/mode')).to.deep.equal([
        { key: 'gapguard.io/mode', operator: 'In', values: ['enforce'] },
      ]);
    }
    expect(selector(route(audit, 'Validating', 'audit'), 'gapguard.io/mode')).to.deep.equal([
      { key: 'gapguard.io/mode', operator: 'NotIn', values: ['enforce', 'off'] },
    ]);
  });

  it('in global enforce mode, audits only namespaces labelled audit and enforces the rest', () => {
    for (const kind of ['Validating', 'Mutating'] as const) {
      expect(selector(route(enforce, kind, 'enforce'), 'gapguard.io/mode')).to.deep.equal([
        { key: 'gapguard.io/mode', operator: 'NotIn', values: ['audit', 'off'] },
      ]);
    }
    expect(selector(route(enforce, 'Validating', 'audit'), 'gapguard.io/mode')).to.deep.equal([
      { key: 'gapguard.io/mode', operator: 'In', values: ['audit'] },
    ]);
  });

  it('skips kubelet mirror Pods and updates that leave the pod spec unchanged, and nothing else', () => {
    for (const kind of ['Validating', 'Mutating'] as const) {
      for (const hook of webhooks(enforce, kind)) {
        expect(hook.matchConditions).to.deep.equal([
          { name: 'not-a-kubelet', expression: "!request.userInfo.username.startsWith('system:node:')" },
          {
            name: 'pod-spec-changed',
            expression:
              "request.operation != 'UPDATE' || (has(object.template) ? object.template != oldObject.template : object.spec != oldObject.spec)",
          },
        ]);
      }
    }
  });

  it('points both configurations at an out-of-cluster URL with its CA bundle, and installs no server', async () => {
    const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const objects = await render({
      values: { server: { enabled: false }, webhook: { url: 'https://127.0.0.1:8443/', caBundle, timeoutSeconds: { enforce: 10, audit: 2 } } },
    });
    const urls = (['Validating', 'Mutating'] as const).flatMap((kind) =>
      webhooks(objects, kind).map((w) => {
        expect(w.clientConfig).not.to.have.property('service');
        expect(w.clientConfig.caBundle).to.equal(caBundle);
        expect(w.timeoutSeconds).to.equal(w.failurePolicy === 'Fail' ? 10 : 2);
        return w.clientConfig.url;
      }),
    );
    expect(urls.sort()).to.deep.equal([
      'https://127.0.0.1:8443/mutate/enforce',
      'https://127.0.0.1:8443/validate/audit',
      'https://127.0.0.1:8443/validate/enforce',
    ]);
    expect(objects.map((o) => o.kind).sort()).to.deep.equal([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'MutatingWebhookConfiguration',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ]);
  });
});
