// The in-cluster server the chart installs: Deployment, disruption budget, least-privilege RBAC,
// the policy ConfigMap (loaded by gapguard's own policy loader) and the image reference.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { policyWith } from '../helpers.js';
import { chartDir, find, render, type RenderedObject } from './helm.js';

interface Container {
  name: string;
  image: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string; scheme: string } };
  livenessProbe: { httpGet: { path: string; port: string; scheme: string } };
  lifecycle?: { preStop: { sleep: { seconds: number } } };
  resources: { limits: Record<string, string>; requests: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  priorityClassName?: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string }; emptyDir?: unknown }[];
  topologySpreadConstraints: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
}

interface DeploymentSpec {
  replicas: number;
  strategy: { rollingUpdate: { maxUnavailable: number; maxSurge: number } };
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

function deployment(objects: RenderedObject[]): DeploymentSpec {
  return find(objects, 'Deployment').spec as DeploymentSpec;
}

function container(objects: RenderedObject[]): Container {
  return deployment(objects).template.spec.containers[0]!;
}

function mountPathOf(c: Container, volume: string): string {
  const mount = c.volumeMounts.find((m) => m.name === volume);
  if (!mount) throw new Error(`volume ${volume} is not mounted`);
  return mount.mountPath;
}

function policyText(objects: RenderedObject[]): string {
  return (find(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml']!;
}

describe('chart: the in-cluster server', () => {
  let objects: RenderedObject[];
  before(async () => {
    objects = await render();
  });

  it('runs two replicas spread across nodes and zones, replacing pods one at a time', () => {
    const spec = deployment(objects);
    expect(spec.replicas).to.equal(2);
    expect(spec.strategy.rollingUpdate).to.deep.equal({ maxSurge: 1, maxUnavailable: 0 });
    const constraints = spec.template.spec.topologySpreadConstraints;
    expect(constraints.map((c) => c.topologyKey)).to.deep.equal(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of constraints) expect(c.labelSelector.matchLabels).to.deep.equal(spec.selector.matchLabels);
    expect(spec.template.metadata.labels).to.include(spec.selector.matchLabels);
  });

  it('keeps one pod through voluntary disruptions', async () => {
    const pdb = find(objects, 'PodDisruptionBudget').spec as { maxUnavailable: number; selector: unknown };
    expect(pdb.maxUnavailable).to.equal(1);
    expect(pdb.selector).to.deep.equal(deployment(objects).selector);
    const without = await render({ values: { podDisruptionBudget: { enabled: false } } });
    expect(without.map((o) => o.kind)).not.to.include('PodDisruptionBudget');
  });

  it('serves the webhook, probes and metrics on one HTTPS port', () => {
    const c = container(objects);
    expect(c.ports).to.deep.equal([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    const service = find(objects, 'Service').spec as { ports: unknown[]; selector: unknown };
    expect(service.ports).to.deep.equal([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(service.selector).to.deep.equal(deployment(objects).selector.matchLabels);
    expect(c.lifecycle?.preStop.sleep.seconds).to.equal(5);
  });

  it('starts `gapguard serve` on the mounted certificate and policy, with in-cluster API access', () => {
    const c = container(objects);
    const tlsDir = mountPathOf(c, 'tls');
    const policyDir = mountPathOf(c, 'policy');
    expect(c.args).to.deep.equal([
      'serve',
      '--host=0.0.0.0',
      '--port=8443',
      `--tls-cert=${tlsDir}/tls.crt`,
      `--tls-key=${tlsDir}/tls.key`,
      `--policy=${policyDir}/policy.yaml`,
      '--log-level=info',
      // Registry lookups are on by default: tags are pinned at admission.
      '--resolve-images',
      '--image-lookup-budget=1500',
    ]);
    const spec = deployment(objects).template.spec;
    expect(spec.volumes.find((v) => v.name === 'tls')!.secret!.secretName).to.equal(find(objects, 'Secret').metadata.name);
    expect(spec.volumes.find((v) => v.name === 'policy')!.configMap!.name).to.equal(find(objects, 'ConfigMap').metadata.name);
    expect(mountPathOf(c, 'tmp')).to.equal('/tmp');
    expect(spec.automountServiceAccountToken).to.equal(true);
    expect(spec.serviceAccountName).to.equal(find(objects, 'ServiceAccount').metadata.name);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).to.equal(false);
  });

  it('runs as a numeric non-root user on a read-only root with no capabilities', () => {
    const c = container(objects);
    expect(c.securityContext).to.deep.equal({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(deployment(objects).template.spec.securityContext).to.include({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.resources).to.deep.equal({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } });
  });

  it('takes a priority class of its own and an optional client CA', async () => {
    expect(deployment(objects).template.spec.priorityClassName).to.equal('system-cluster-critical');
    const custom = await render({ values: { priorityClassName: 'webhooks', server: { clientCAConfigMap: 'apiserver-client-ca' } } });
    const spec = deployment(custom).template.spec;
    expect(spec.priorityClassName).to.equal('webhooks');
    const c = spec.containers[0]!;
    expect(c.args).to.include(`--client-ca=${mountPathOf(c, 'client-ca')}/ca.crt`);
    expect(spec.volumes.find((v) => v.name === 'client-ca')!.configMap!.name).to.equal('apiserver-client-ca');
  });

  it('grants exactly get, list and watch on Namespaces and NetworkPolicies, to its own ServiceAccount', () => {
    expect(objects.filter((o) => /Role/.test(o.kind)).map((o) => o.kind).sort()).to.deep.equal(['ClusterRole', 'ClusterRoleBinding']);
    expect(find(objects, 'ClusterRole').rules).to.deep.equal([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
    ]);
    const binding = find(objects, 'ClusterRoleBinding');
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: find(objects, 'ClusterRole').metadata.name });
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: find(objects, 'ServiceAccount').metadata.name, namespace: 'gapguard' }]);
  });

  it('admits the webhook port through its NetworkPolicy', () => {
    const spec = find(objects, 'NetworkPolicy').spec as { podSelector: unknown; policyTypes: string[]; ingress: unknown[] };
    expect(spec.podSelector).to.deep.equal(deployment(objects).selector);
    expect(spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
    expect(spec.ingress).to.deep.equal([{ ports: [{ port: 'https', protocol: 'TCP' }] }]);
  });

  it('lets out only DNS and the TCP ports of the kube-apiserver and registries, plain-HTTP registry ports added', async () => {
    type Egress = { ports: { port: number; protocol: string }[] }[];
    const dns = { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] };
    const tcp = (...ports: number[]) => ({ ports: ports.map((port) => ({ port, protocol: 'TCP' })) });
    expect((find(objects, 'NetworkPolicy').spec as { egress: Egress }).egress).to.deep.equal([dns, tcp(443, 6443)]);

    const plain = await render({ values: { imageLookups: { plainHttpRegistries: ['registry.dev:5000', 'mirror.local', '10.0.0.7:443'] } } });
    expect((find(plain, 'NetworkPolicy').spec as { egress: Egress }).egress).to.deep.equal([dns, tcp(443, 6443, 5000, 80)]);

    const open = find(await render({ values: { networkPolicy: { egress: { enabled: false } } } }), 'NetworkPolicy').spec as { policyTypes: string[]; egress?: Egress };
    expect(open.policyTypes).to.deep.equal(['Ingress']);
    expect(open.egress).to.equal(undefined);
  });

  it('renders the image as repository:tag@digest, by default the digest npm run image:pin wrote', async () => {
    const appVersion = (parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;
    const defaultDigest = (parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { image: { digest: string } }).image.digest;
    expect(defaultDigest).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(container(objects).image).to.equal(`ghcr.io/gapguard/gapguard:${appVersion}@${defaultDigest}`);
    const unpinned = await render({ values: { image: { digest: '' } } });
    expect(container(unpinned).image).to.equal(`ghcr.io/gapguard/gapguard:${appVersion}`);
    const digest = `sha256:${'ab'.repeat(32)}`;
    const pinned = await render({ values: { image: { repository: 'registry.example.com/sec/gapguard', tag: '1.2.3', digest } } });
    expect(container(pinned).image).to.equal(`registry.example.com/sec/gapguard:1.2.3@${digest}`);
  });

  it('puts a policy the server accepts in the ConfigMap, starting in audit mode', () => {
    const policy = policyWith(policyText(objects));
    expect(policy.mode).to.equal('audit');
    expect(policy.exemptions).to.deep.equal([]);
  });

  it('carries per-gap actions, parameters and exemptions from values into the policy', async () => {
    const custom = await render({
      values: {
        mode: 'enforce',
        policy: {
          gaps: {
            'flat-network': { action: 'deny' },
            'resource-limits': { defaultLimits: { cpu: '250m', memory: '256Mi' } },
            'run-as-root': { allowedCapabilities: ['NET_BIND_SERVICE', 'CAP_CHOWN'] },
          },
          exemptions: [
            {
              match: { namespaces: ['monitoring'], names: ['node-exporter*'] },
              gaps: ['flat-network'],
              reason: 'node-exporter reads host network statistics',
              expires: '2027-06-30',
            },
          ],
        },
      },
    });
    const policy = policyWith(policyText(custom));
    expect(policy.mode).to.equal('enforce');
    expect(policy.gaps['flat-network'].action).to.equal('deny');
    expect(policy.resourceLimits.defaultLimits).to.deep.equal({ cpu: '250m', memory: '256Mi' });
    expect(policy.runAsRoot.allowedCapabilities).to.deep.equal(['NET_BIND_SERVICE', 'CHOWN']);
    expect(policy.exemptions).to.have.length(1);
    expect(policy.exemptions[0]).to.deep.include({ gaps: ['flat-network'], reason: 'node-exporter reads host network statistics' });
    expect(policy.exemptions[0]!.expires!.toISOString()).to.equal('2027-06-30T23:59:59.999Z');
  });
});
