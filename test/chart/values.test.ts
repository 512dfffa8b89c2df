// helm lint --strict, and values that must not install: each is refused with a message that names
// the field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ALL_CHECKS } from '../../src/gaps/index.js';
import { policyWith, repoRoot } from '../helpers.js';
import { chartDir, find, helm, render, template, type RenderOptions } from './helm.js';

interface GapSchema {
  properties: { rules: { propertyNames: { enum: string[] } } };
}

async function refusal(values: Record<string, unknown>, options: RenderOptions = {}): Promise<string> {
  const result = await template({ ...options, values });
  expect(result.code, `helm template accepted ${JSON.stringify(values)}`).to.not.equal(0);
  return result.stderr;
}

describe('chart: values', () => {
  it('passes helm lint --strict, with default values and in every TLS mode', async () => {
    for (const args of [
      [],
      ['--set', 'mode=enforce'],
      ['--set', 'tls.mode=cert-manager'],
      ['--set', 'tls.mode=secret,tls.secret.name=gapguard-tls'],
      ['--set', 'server.enabled=false,webhook.url=https://127.0.0.1:8443,webhook.caBundle=LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t'],
    ]) {
      const result = await helm(['lint', '--strict', chartDir, ...args]);
      expect(result.code, `${args.join(' ')}\n${result.stdout}${result.stderr}`).to.equal(0);
      expect(result.stdout).to.match(/0 chart\(s\) failed/);
    }
  });

  it('refuses a wrong value of a field, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ mode: 'enforced' }, /at '\/mode': value must be one of 'audit', 'enforce'/],
      [{ image: { digest: 'sha256:1234' } }, /at '\/image\/digest'/],
      [{ image: { digest: 'latest' } }, /at '\/image\/digest'/],
      [{ replicaCount: 0 }, /at '\/replicaCount'/],
      [{ webhook: { timeoutSeconds: { enforce: 31, audit: 3 } } }, /at '\/webhook\/timeoutSeconds\/enforce'/],
      [{ webhook: { url: 'http://127.0.0.1:8443' } }, /at '\/webhook\/url'/],
      [{ webhook: { url: 'https://127.0.0.1:8443/?mode=audit' } }, /at '\/webhook\/url'/],
      [{ webhook: { excludedNamespaces: ['Kube_System'] } }, /at '\/webhook\/excludedNamespaces\/0'/],
      [{ webhook: { caBundle: 'not base64 pem' } }, /at '\/webhook\/caBundle'/],
      [{ tls: { mode: 'self-signed' } }, /at '\/tls\/mode'/],
      [{ tls: { mode: 'cert-manager', certManager: { issuerRef: { kind: 'ClusterIssuer' } } } }, /at '\/tls\/certManager\/issuerRef': missing property 'name'/],
      [{ resources: { limits: { cpu: '1', memory: null } } }, /at '\/resources\/limits': missing property 'memory'/],
      [{ resources: { limits: null } }, /at '\/resources': missing property 'limits'/],
      [{ server: { port: 80 } }, /at '\/server\/port'/],
      [{ replicas: 3 }, /additional properties 'replicas' not allowed/],
      [{ policy: { gaps: { 'docker-sock': { action: 'deny' } } } }, /at '\/policy\/gaps': additional properties 'docker-sock' not allowed/],
      [{ policy: { gaps: { privileged: { action: 'block' } } } }, /at '\/policy\/gaps\/privileged\/action': value must be one of 'deny', 'warn', 'off'/],
      [{ policy: { gaps: { privileged: { fix: 'yes' } } } }, /at '\/policy\/gaps\/privileged\/fix'/],
      [{ policy: { gaps: { privileged: { rules: { 'privileged/escalate': { action: 'deny' } } } } } }, /invalid propertyName 'privileged\/escalate'/],
      [{ policy: { gaps: { 'stale-image': { maxImageAgeDays: 0 } } } }, /at '\/policy\/gaps\/stale-image\/maxImageAgeDays'/],
      [{ policy: { gaps: { 'resource-limits': { defaultLimits: { cpu: 'lots' } } } } }, /at '\/policy\/gaps\/resource-limits\/defaultLimits\/cpu'/],
      [{ policy: { gaps: { 'docker-socket': { socketPaths: ['var/run/x.sock'] } } } }, /at '\/policy\/gaps\/docker-socket\/socketPaths\/0'/],
      [{ policy: { exemptions: [{ gaps: ['privileged'] }] } }, /at '\/policy\/exemptions\/0': missing property 'reason'/],
      [{ policy: { exemptions: [{ gaps: ['root'], reason: 'x' }] } }, /at '\/policy\/exemptions\/0\/gaps\/0'/],
      [{ policy: { exemptions: [{ gaps: ['privileged'], reason: 'x', expires: '30/06/2027' }] } }, /at '\/policy\/exemptions\/0\/expires'/],
    ];
    for (const [values, message] of cases) expect(await refusal(values)).to.match(message);
  });

  it('knows the gaps and rules of the engine, and every field of the default policy', async () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
    const gaps = schema.properties.policy.properties.gaps.properties as Record<string, GapSchema>;
    expect(Object.keys(gaps)).to.have.members(ALL_CHECKS.map((c) => c.gap));
    for (const check of ALL_CHECKS) expect(gaps[check.gap]!.properties.rules.propertyNames.enum, check.gap).to.have.members(check.rules);

    const defaults = parse(readFileSync(join(repoRoot, 'policy/default.yaml'), 'utf8')) as { gaps: Record<string, unknown> };
    const objects = await render({ values: { policy: { gaps: defaults.gaps } } });
    const policy = (find(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml']!;
    expect(policyWith(policy)).to.deep.equal(policyWith('mode: audit'));
  });

  it('refuses values that contradict each other, saying why', async () => {
    expect(await refusal({ server: { enabled: false } })).to.match(/webhook\.url is required when server\.enabled is false/);
    expect(await refusal({ webhook: { url: 'https://127.0.0.1:8443' } })).to.match(/webhook\.caBundle is required with webhook\.url/);
    expect(await refusal({ tls: { mode: 'secret' } })).to.match(/tls\.secret\.name is required when tls\.mode is secret/);
  });
});
