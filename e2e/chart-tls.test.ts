// The chart's TLS modes as the kube-apiserver stores them (issue 4: "TLS three ways, each tested";
// test/chart/tls.test.ts covers them with `helm template` and a fake API server). A second release
// with the in-cluster server (server.enabled=true, the default) is installed next to the suite's:
// tls.mode=generate (the chart's own CA and serving pair, kept across upgrades through `lookup`,
// replaced when made for other DNS names or close to expiry) and tls.mode=secret (an existing Secret
// and the CA bundle given with it). cert-manager needs cert-manager's controllers and CA injector,
// which this control plane does not run; it stays covered by the template tests.
//
// Safety: the second release's Pods never run (no kubelet, or the node's taint, which they do not
// tolerate), so its Service has no endpoints and its enforce webhooks, which fail closed, would
// refuse Pods in every namespace they select. Its webhooks leave out every namespace that exists
// when it is installed (webhook.excludedNamespaces: the suite's, kube-system, default, the suite
// release's), the global mode stays audit, and it is
// uninstalled by the end of this file (mocha runs files one after another), always, by after().
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { makeCa, makeServingPair } from './support/certs.js';
import { sleep } from './support/gapguard.js';
import { apply, createNamespace, eventually, exists, getJson, uniqueName } from './support/kube.js';
import { pod } from './support/objects.js';
import { chartDir } from './support/paths.js';
import { env, helm, kubectl, RELEASE_NAMESPACE } from './support/suite.js';

/** Release names contain the chart's name, so they are also the full names of the objects. */
const GENERATE = 'gapguard-tls-generate';
const SECRET = 'gapguard-tls-secret';
const WEBHOOK_KINDS = ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration'] as const;

interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: { caBundle?: string; service?: { name: string; namespace: string }; url?: string };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
}

interface WebhookConfiguration {
  metadata: { name: string; annotations?: Record<string, string> };
  webhooks: Webhook[];
}

interface Secret {
  type: string;
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  data: Record<string, string>;
}

function pem(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

/**
 * After a new pair, every webhook trusts the new CA and the one before it (the Pods serve the old
 * certificate until the kubelet refreshes the mounted Secret), as the Secret's ca-bundle.crt says.
 */
function expectTrusting(bundles: string[], now: Secret, before: Secret): void {
  expect(bundles).to.deep.equal([now.data['ca-bundle.crt'], now.data['ca-bundle.crt'], now.data['ca-bundle.crt']]);
  const text = pem(now.data['ca-bundle.crt']!);
  expect(text.startsWith(pem(now.data['ca.crt']!)), 'the new CA first').to.equal(true);
  expect(text.endsWith(pem(before.data['ca.crt']!)), 'then the CA before it').to.equal(true);
}

/** Both stored webhook configurations of a release (the chart names them after its full name). */
async function webhookConfigurations(release: string): Promise<WebhookConfiguration[]> {
  return Promise.all(WEBHOOK_KINDS.map((kind) => getJson<WebhookConfiguration>('', kind, release)));
}

/** Every webhook's caBundle in the stored configurations: two validating, one mutating. */
async function caBundles(release: string): Promise<string[]> {
  const configurations = await webhookConfigurations(release);
  const webhooks = configurations.flatMap((c) => c.webhooks);
  expect(webhooks.map((w) => w.name).sort()).to.deep.equal(['audit.validate.gapguard.io', 'enforce.mutate.gapguard.io', 'enforce.validate.gapguard.io']);
  return webhooks.map((w) => w.clientConfig.caBundle ?? '');
}

async function tlsVolumeSecret(namespace: string, release: string): Promise<string | undefined> {
  const deployment = await getJson(namespace, 'deployment', release);
  const volumes = deployment.spec.template.spec.volumes as { name: string; secret?: { secretName: string } }[];
  return volumes.find((v) => v.name === 'tls')?.secret?.secretName;
}

async function webhookConfigurationsLeft(release: string): Promise<string[]> {
  const left: string[] = [];
  for (const kind of WEBHOOK_KINDS) {
    const got = await kubectl(['get', kind, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
    expect(got.code, got.stderr).to.equal(0);
    left.push(...got.stdout.split('\n').filter(Boolean));
  }
  return left;
}

/** The serving pair and CA of a generate-mode Secret, checked against each other and the Service. */
function checkGeneratedPair(secret: Secret, dnsNames: string[]): void {
  expect(secret.type).to.equal('kubernetes.io/tls');
  expect(Object.keys(secret.data).sort()).to.deep.equal(['ca-bundle.crt', 'ca.crt', 'tls.crt', 'tls.key']);
  const ca = new X509Certificate(pem(secret.data['ca.crt']!));
  const cert = new X509Certificate(pem(secret.data['tls.crt']!));
  expect(ca.ca, 'ca.crt is a CA').to.equal(true);
  expect(cert.ca, 'tls.crt is not a CA').to.equal(false);
  expect(cert.checkIssued(ca), 'tls.crt issued by ca.crt').to.equal(true);
  expect(cert.verify(ca.publicKey), 'tls.crt signed by ca.crt').to.equal(true);
  expect(cert.checkPrivateKey(createPrivateKey(pem(secret.data['tls.key']!))), 'tls.key matches tls.crt').to.equal(true);
  const sans = (cert.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  // The kube-apiserver calls <service>.<namespace>.svc and checks that name against the SANs.
  expect(sans).to.have.members(dnsNames);
  const now = Date.now();
  expect(new Date(cert.validFrom).getTime()).to.be.at.most(now + 60_000);
  expect(new Date(cert.validTo).getTime()).to.be.greaterThan(now + 1000 * 24 * 3600 * 1000);
  expect(secret.metadata.annotations?.['gapguard.io/dns-names']).to.equal(dnsNames.join(','));
}

describe('chart TLS modes (a second release)', function () {
  let namespace: string;
  let valuesFile: string;
  const installed = new Set<string>();

  before(async function () {
    // Every namespace there is now stays out of the second release's webhooks; the only ones made
    // while it is installed are its own (always excluded) and the probe's below.
    const r = await kubectl(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(r.code, r.stderr).to.equal(0);
    const excluded = r.stdout.trim().split(/\s+/).filter(Boolean);
    expect(excluded).to.include.members(['default', 'kube-system', RELEASE_NAMESPACE]);
    namespace = uniqueName('e2e-chart-tls');
    valuesFile = join(env().workdir, `${namespace}-values.json`);
    writeFileSync(valuesFile, JSON.stringify({ mode: 'audit', replicaCount: 1, webhook: { excludedNamespaces: excluded } }));
    const created = await kubectl(['create', 'namespace', namespace]);
    expect(created.code, created.stderr).to.equal(0);
  });

  after(async function () {
    // Always, also after a failure above: fail-closed webhooks with no server behind them must not
    // outlive this file.
    for (const release of installed) {
      const r = await helm(['uninstall', release, '-n', namespace]);
      if (r.code !== 0 && !/not found/.test(r.stderr)) throw new Error(`helm uninstall ${release} failed: ${r.stderr}`);
    }
    if (installed.size > 0) {
      for (const release of installed) expect(await webhookConfigurationsLeft(release), release).to.deep.equal([]);
      // The apiserver drops them from its own informer a moment later.
      await sleep(1000);
    }
    if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  /** helm install/upgrade of a second release into the test's namespace; never --wait (its Pods never run). */
  async function release(verb: 'install' | 'upgrade', name: string, ...set: string[]): Promise<void> {
    installed.add(name);
    const r = await helm([verb, name, chartDir, '-n', namespace, '-f', valuesFile, ...set.flatMap((s) => ['--set', s])]);
    expect(r.code, `helm ${verb} ${name}: ${r.stderr}${r.stdout}`).to.equal(0);
  }

  function dnsNames(release: string, clusterDomain = 'cluster.local'): string[] {
    return [release, `${release}.${namespace}`, `${release}.${namespace}.svc`, `${release}.${namespace}.svc.${clusterDomain}`];
  }

  describe('tls.mode=generate', function () {
    const secretName = `${GENERATE}-tls`;
    let first: Secret;

    it('install: a CA and a serving pair for the Service, and every webhook trusts that CA', async function () {
      await release('install', GENERATE);
      first = await getJson<Secret>(namespace, 'secret', secretName);
      checkGeneratedPair(first, dnsNames(GENERATE));
      expect(await caBundles(GENERATE)).to.deep.equal([first.data['ca.crt'], first.data['ca.crt'], first.data['ca.crt']]);
      expect(await tlsVolumeSecret(namespace, GENERATE)).to.equal(secretName);
      for (const c of await webhookConfigurations(GENERATE)) {
        for (const w of c.webhooks) {
          expect(w.clientConfig.service).to.deep.include({ name: GENERATE, namespace });
          expect(w.clientConfig.url).to.equal(undefined);
        }
      }
    });

    it('its webhooks are live in the apiserver, and leave out every namespace the suite had', async function () {
      // Every namespace that existed when it was installed is excluded from all three webhooks.
      const excluded = (JSON.parse(readFileSync(valuesFile, 'utf8')) as { webhook: { excludedNamespaces: string[] } }).webhook.excludedNamespaces;
      for (const c of await webhookConfigurations(GENERATE)) {
        for (const w of c.webhooks) {
          const byName = w.namespaceSelector.matchExpressions.find((e) => e.key === 'kubernetes.io/metadata.name')!;
          expect(byName.operator).to.equal('NotIn');
          expect(byName.values).to.include.members([...excluded, namespace]);
        }
      }
      // A namespace made now, in enforce, is selected: the apiserver calls the release's Service,
      // which has no server behind it, and fails closed. Nothing is created (dry run).
      const probe = await createNamespace('chart-tls-probe', 'enforce');
      const refused = await apply(probe, pod('probe'), '--dry-run=server');
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.match(/failed calling webhook "enforce\.(mutate|validate)\.gapguard\.io"/);
      expect(refused.stderr).to.include(GENERATE);
      await kubectl(['delete', 'namespace', probe, '--wait=false']);
    });

    it('upgrade: the Secret and the caBundles stay byte for byte (lookup)', async function () {
      await release('upgrade', GENERATE, 'webhook.annotations.e2e\\.gapguard\\.io/upgraded=yes', 'podAnnotations.e2e\\.gapguard\\.io/upgraded=yes');
      // The upgrade did rewrite the webhook configurations and the Deployment...
      for (const c of await webhookConfigurations(GENERATE)) expect(c.metadata.annotations).to.include({ 'e2e.gapguard.io/upgraded': 'yes' });
      const deployment = await getJson(namespace, 'deployment', GENERATE);
      expect(deployment.spec.template.metadata.annotations).to.include({ 'e2e.gapguard.io/upgraded': 'yes' });
      // ...and kept the pair.
      const after = await getJson<Secret>(namespace, 'secret', secretName);
      expect(after.data).to.deep.equal(first.data);
      expect(after.metadata.annotations?.['gapguard.io/not-after']).to.equal(first.metadata.annotations?.['gapguard.io/not-after']);
      expect(await caBundles(GENERATE)).to.deep.equal([first.data['ca.crt'], first.data['ca.crt'], first.data['ca.crt']]);
    });

    it('upgrade with other DNS names (clusterDomain): a new pair for them, and the webhooks trust the new CA', async function () {
      await release('upgrade', GENERATE, 'clusterDomain=e2e.example');
      const replaced = await getJson<Secret>(namespace, 'secret', secretName);
      checkGeneratedPair(replaced, dnsNames(GENERATE, 'e2e.example'));
      for (const key of ['ca.crt', 'tls.crt', 'tls.key']) expect(replaced.data[key], key).to.not.equal(first.data[key]);
      expectTrusting(await caBundles(GENERATE), replaced, first);
      first = replaced;
    });

    it('upgrade within renewBeforeDays of expiry: a new pair', async function () {
      // The pair is valid for validityDays (1095); renewing 1095 days before expiry is renewing now.
      await release('upgrade', GENERATE, 'clusterDomain=e2e.example', 'tls.generate.renewBeforeDays=1095');
      const renewed = await getJson<Secret>(namespace, 'secret', secretName);
      checkGeneratedPair(renewed, dnsNames(GENERATE, 'e2e.example'));
      expect(renewed.data['ca.crt']).to.not.equal(first.data['ca.crt']);
      expectTrusting(await caBundles(GENERATE), renewed, first);
    });

    it('helm uninstall removes its webhook configurations, its Secret, and the apiserver stops calling them', async function () {
      const r = await helm(['uninstall', GENERATE, '-n', namespace]);
      expect(r.code, r.stderr).to.equal(0);
      installed.delete(GENERATE);
      expect(await webhookConfigurationsLeft(GENERATE)).to.deep.equal([]);
      expect(await exists(namespace, 'secret', secretName)).to.equal(false);
      // A namespace made after the install was not excluded: once the apiserver has dropped the
      // configurations, a clean Pod there is admitted (by the suite's own server, in enforce).
      const probe = await createNamespace('chart-tls-probe', 'enforce');
      await eventually('the apiserver to stop calling the uninstalled webhooks', async () => {
        const r = await apply(probe, pod('probe'), '--dry-run=server');
        return r.code === 0 ? r : undefined;
      }, 10_000);
      await kubectl(['delete', 'namespace', probe, '--wait=false']);
    });
  });

  describe('tls.mode=secret', function () {
    const secretName = 'e2e-serving';
    let caPem: string;
    let data: Record<string, string>;

    before(async function () {
      // Any kubernetes.io/tls Secret does; the server never runs here, so its names do not matter.
      const dir = env().certDir;
      const ca = await makeCa(dir, 'chart-tls-ca');
      const pair = await makeServingPair(dir, 'chart-tls-serving', ca);
      caPem = readFileSync(ca.certFile, 'utf8');
      const r = await kubectl(['-n', namespace, 'create', 'secret', 'tls', secretName, '--cert', pair.certFile, '--key', pair.keyFile]);
      expect(r.code, r.stderr).to.equal(0);
      data = (await getJson<Secret>(namespace, 'secret', secretName)).data;
    });

    it('install: the Deployment mounts the given Secret and every webhook carries the given bundle', async function () {
      const bundle = Buffer.from(caPem).toString('base64');
      await release('install', SECRET, 'tls.mode=secret', `tls.secret.name=${secretName}`, `tls.secret.caBundle=${bundle}`);
      expect(await tlsVolumeSecret(namespace, SECRET)).to.equal(secretName);
      expect(await caBundles(SECRET)).to.deep.equal([bundle, bundle, bundle]);
      expect(pem((await caBundles(SECRET))[0]!)).to.equal(caPem);
      // The chart makes no Secret of its own and leaves the given one as it was.
      expect(await exists(namespace, 'secret', `${SECRET}-tls`)).to.equal(false);
      const secret = await getJson<Secret>(namespace, 'secret', secretName);
      expect(secret.data).to.deep.equal(data);
      expect(secret.metadata.labels?.['app.kubernetes.io/managed-by']).to.equal(undefined);
    });

    it('helm uninstall removes its webhook configurations and keeps the given Secret', async function () {
      const r = await helm(['uninstall', SECRET, '-n', namespace]);
      expect(r.code, r.stderr).to.equal(0);
      installed.delete(SECRET);
      expect(await webhookConfigurationsLeft(SECRET)).to.deep.equal([]);
      expect((await getJson<Secret>(namespace, 'secret', secretName)).data).to.deep.equal(data);
    });
  });
});
