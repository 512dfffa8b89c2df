// The bare no-op HTTPS webhook pair, in the cluster as gapguard is: bench/webhook/noop-servers.ts
// (https-uid: node:https, the review's uid echoed, allowed, no patch) bundled with esbuild as
// image/build.sh bundles gapguard, appended as one layer to gapguard's own image (the same Node.js
// runtime and base) with crane, pushed by digest to the node's registry, run as a Deployment of 2
// replicas behind a Service, and called through a mutating and a validating webhook configuration
// shaped like gapguard's enforce pair.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeServingPair } from '../../e2e/support/certs.js';
import { node, onNode } from '../../e2e/support/node.js';
import { hardenedContainer } from '../../e2e/support/objects.js';
import { repoRoot } from '../../e2e/support/paths.js';
import { runOk } from '../../e2e/support/run.js';
import { env, kubectl } from '../../e2e/support/suite.js';

export const NOOP_NAMESPACE = 'bench-noop';
/** Namespaces with this label are sent to the no-op pair. */
export const NOOP_LABEL = 'bench.gapguard.io/noop';
const NAME = 'noop';

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

/** The no-op server as an image: gapguard's image plus /noop/server.mjs as its entrypoint. */
async function buildNoopImage(base: { repository: string; digest: string }, dir: string): Promise<string> {
  mkdirSync(join(dir, 'layer/noop'), { recursive: true });
  await runOk(join(repoRoot, 'node_modules/.bin/esbuild'), [
    join(repoRoot, 'dist/bench/webhook/noop-servers.js'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--log-level=warning',
    "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    `--outfile=${join(dir, 'layer/noop/server.mjs')}`,
  ]);
  await runOk('tar', ['--create', '--file', join(dir, 'layer.tar'), '--owner=0', '--group=0', '--numeric-owner', '--mode=u=rwX,go=rX', '-C', join(dir, 'layer'), 'noop']);
  const crane = (args: string[]) => runOk(join(env().bin, 'crane'), ['--insecure', ...args], { timeoutMs: 5 * 60_000 });
  const tag = `${node().registry}/gapguard-bench-noop:bench`;
  await crane(['append', '-b', `${base.repository}@${base.digest}`, '-f', join(dir, 'layer.tar'), '-t', tag]);
  const mutated = await crane(['mutate', tag, '-t', tag, '--entrypoint', '/usr/bin/node,/noop/server.mjs', '--cmd', 'https-uid,8443,/tls/tls.crt,/tls/tls.key,0.0.0.0']);
  const ref = mutated.stdout.trim();
  if (!/@sha256:[0-9a-f]{64}$/.test(ref)) throw new Error(`crane mutate printed ${ref}, not a digest reference`);
  return ref;
}

/** Builds, pushes and installs the pair; waits until both replicas are ready. Returns the image by digest. */
export async function installNoop(base: { repository: string; digest: string }, dir: string): Promise<string> {
  const image = await buildNoopImage(base, dir);
  const ca = await makeCa(dir, 'noop-ca');
  const serving = await makeServingPair(dir, 'noop', ca, [`DNS:${NAME}.${NOOP_NAMESPACE}.svc`]);
  await ok(['create', 'namespace', NOOP_NAMESPACE]);
  // Out of gapguard's way, as gapguard's own namespace is.
  await ok(['label', 'namespace', NOOP_NAMESPACE, 'gapguard.io/mode=off']);
  await ok(['-n', NOOP_NAMESPACE, 'create', 'secret', 'tls', `${NAME}-tls`, `--cert=${serving.certFile}`, `--key=${serving.keyFile}`]);

  // The server's container as the chart runs gapguard's: same resources, same hardening.
  const container = {
    ...hardenedContainer('noop'),
    image,
    ports: [{ containerPort: 8443, name: 'https' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }],
    readinessProbe: { httpGet: { path: '/', port: 8443, scheme: 'HTTPS' }, periodSeconds: 2 },
  };
  const spec: Record<string, any> = { containers: [container], volumes: [{ name: 'tls', secret: { secretName: `${NAME}-tls` } }] };
  onNode(spec);
  const labels = { app: NAME };
  const objects = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NAME, namespace: NOOP_NAMESPACE }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: NAME, namespace: NOOP_NAMESPACE }, spec: { selector: labels, ports: [{ port: 443, targetPort: 8443 }] } },
  ];
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await ok(['-n', NOOP_NAMESPACE, 'rollout', 'status', `deployment/${NAME}`, '--timeout=180s']);

  // Shaped like the chart's enforce webhooks for Pods (charts/gapguard/templates/_helpers.tpl):
  // the same failure policy, timeout, matchPolicy and matchConditions.
  const caBundle = Buffer.from(readFileSync(ca.certFile)).toString('base64');
  const webhook = (kind: 'mutate' | 'validate') => ({
    name: `${kind}.noop.bench.gapguard.io`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 5,
    ...(kind === 'mutate' ? { reinvocationPolicy: 'IfNeeded' } : {}),
    clientConfig: { service: { name: NAME, namespace: NOOP_NAMESPACE, path: `/${kind}`, port: 443 }, caBundle },
    namespaceSelector: { matchLabels: { [NOOP_LABEL]: 'on' } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: kind === 'mutate' ? ['CREATE'] : ['CREATE', 'UPDATE'], resources: ['pods'], scope: 'Namespaced' }],
    matchConditions: [
      { name: 'not-a-kubelet', expression: "!request.userInfo.username.startsWith('system:node:')" },
      { name: 'pod-spec-changed', expression: "request.operation != 'UPDATE' || object.spec != oldObject.spec" },
    ],
  });
  const configurations = [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'bench-noop' }, webhooks: [webhook('mutate')] },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'bench-noop' }, webhooks: [webhook('validate')] },
  ];
  writeFileSync(join(dir, 'webhooks.json'), JSON.stringify(configurations, null, 1));
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: configurations }));
  return image;
}

/** The uids of the pair's running replicas, for their CPU accounting. */
export async function noopPodUids(): Promise<string[]> {
  const list = JSON.parse(await ok(['-n', NOOP_NAMESPACE, 'get', 'pods', '-l', `app=${NAME}`, '-o', 'json'])) as { items: { metadata: { uid: string; deletionTimestamp?: string } }[] };
  return list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.uid);
}
