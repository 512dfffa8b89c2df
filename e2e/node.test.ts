// What only a real node shows: the Pods gapguard admits really run, as the kubelet reports them and
// as the host sees their processes and cgroups; a patch that asks for a non-root user meets an image
// that runs as root at the kubelet, with the error docs/install.md describes.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { ApiClient } from './support/api.js';
import { apply, createNamespace, getJson, uniqueName } from './support/kube.js';
import { hostContainer, node, onNode, waitRunning, waitWaiting } from './support/node.js';
import { pod, type PodSpec } from './support/objects.js';
import { runOk } from './support/run.js';
import { env, kubectl } from './support/suite.js';

/** The pause image built here, pinned by digest, on the node. */
const paused = (image: () => string) => (s: PodSpec): void => {
  s.containers[0].image = image();
  onNode(s);
};

describe('node', function () {
  before(function () {
    if (!env().node) this.skip();
  });

  it('the cluster\'s plumbing: CoreDNS answers for Services, kube-proxy carries the kubernetes Service to the apiserver', async function () {
    const e = env();
    const dns = new Resolver({ timeout: 2000, tries: 2 });
    dns.setServers([node().ip]);
    const svc = await getJson('default', 'service', 'kubernetes');
    expect(await dns.resolve4('kubernetes.default.svc.cluster.local')).to.deep.equal([svc.spec.clusterIP]);
    // The Service's address, translated by kube-proxy's rules to the address the apiserver advertises.
    const slices = await getJson('default', 'endpointslices', 'kubernetes');
    expect(slices.endpoints.map((ep: { addresses: string[] }) => ep.addresses[0])).to.deep.equal([node().ip]);
    const viaService = new ApiClient({ server: `https://${svc.spec.clusterIP}:443`, caFile: e.apiServerCaFile, token: e.token });
    try {
      const r = await viaService.send('GET', '/readyz');
      expect(r.status, r.body).to.equal(200);
    } finally {
      viaService.close();
    }
  });

  it('a hardened Pod runs on the node: Running as the kubelet reports it, its process as the host sees it', async function () {
    const ns = await createNamespace('node', 'enforce');
    const r = await apply(ns, pod('hardened', paused(() => node().pauseImage)));
    expect(r.code, r.stderr).to.equal(0);
    const status = await waitRunning(ns, 'hardened');
    expect(status.hostIP).to.equal(node().ip);
    expect(status.podIP).to.match(/^10\.244\.0\.\d+$/);

    // objects.ts' clean spec: runAsUser 65532, no capabilities, RuntimeDefault seccomp, 64Mi / 100m.
    const c = await hostContainer(ns, 'hardened');
    expect(c.status.Uid?.split(/\s+/)).to.deep.equal(['65532', '65532', '65532', '65532']);
    expect(c.status.CapEff).to.equal('0000000000000000');
    expect(c.status.Seccomp).to.equal('2'); // filter mode: the runtime's default profile
    expect(c.status.NoNewPrivs).to.equal('1');
    expect(c.memoryLimitBytes).to.equal(64 * 1024 * 1024);
    expect(c.cpuLimitMillis).to.equal(100);

    const logs = await kubectl(['-n', ns, 'logs', 'hardened']);
    expect(logs.code, logs.stderr).to.equal(0);
  });

  it('enforce patches a bare Pod, which then runs as non-root with the default limits in force', async function () {
    const ns = await createNamespace('node-patch', 'enforce');
    const bare = (s: PodSpec): void => {
      paused(() => node().pauseImage)(s);
      delete s.containers[0].securityContext;
      delete s.containers[0].resources;
    };
    const r = await apply(ns, pod('bare', bare));
    expect(r.code, r.stderr).to.equal(0);
    await waitRunning(ns, 'bare');
    // The image's user (65535) runs it: runAsNonRoot lets the kubelet start it after checking.
    const c = await hostContainer(ns, 'bare');
    expect(c.status.Uid?.split(/\s+/)[0]).to.equal('65535');
    expect(c.status.CapEff).to.equal('0000000000000000');
    expect(c.status.Seccomp).to.equal('2');
    expect(c.status.NoNewPrivs).to.equal('1');
    // policy/default.yaml's defaultLimits: memory 512Mi, cpu 500m.
    expect(c.memoryLimitBytes).to.equal(512 * 1024 * 1024);
    expect(c.cpuLimitMillis).to.equal(500);
  });

  it('a patched Pod from an image that runs as root is refused by the kubelet with the documented error', async function () {
    const n = node();
    // The pause image with its user set to root: what a root-only image looks like to the kubelet.
    const tag = `${n.registry}/root-only:${uniqueName('t')}`;
    const out = await runOk(`${env().bin}/crane`, ['--insecure', 'mutate', '--user', '0', '-t', tag, n.pauseImage]);
    const rootImage = `${n.registry}/root-only@${out.stdout.trim().split('@').pop()}`;

    const ns = await createNamespace('node-root', 'enforce');
    const r = await apply(ns, pod('root-only', (s) => {
      paused(() => rootImage)(s);
      delete s.containers[0].securityContext;
    }));
    expect(r.code, r.stderr).to.equal(0);
    const created = await getJson(ns, 'pod', 'root-only');
    expect(created.spec.containers[0].securityContext.runAsNonRoot).to.equal(true);
    const message = await waitWaiting(ns, 'root-only', 'CreateContainerConfigError');
    expect(message).to.equal('container has runAsNonRoot and image will run as root (pod: "root-only_' + ns + '(' + created.metadata.uid + ')", container: app)');
  });
});
