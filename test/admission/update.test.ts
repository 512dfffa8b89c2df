// UPDATE semantics over real HTTPS: only findings that are new compared with oldObject are denied,
// so a legacy workload can still be labelled; the rest are warnings. Patches on UPDATE touch only
// containers with a new fixable finding. `kubectl debug` (pods/ephemeralcontainers) is judged.
import { expect } from 'chai';
import type { KubeObject } from '../../src/workloads/locate.js';
import { admitVia, decodedPatch, reviewOf, startTestServer, type TestServer } from '../server/harness.js';
import { hardenedPod, insecureDeployment, insecurePod, PINNED_IMAGE } from './objects.js';

type Containers = Record<string, unknown>[];

function templateContainers(deployment: KubeObject): Containers {
  return (deployment.spec as { template: { spec: { containers: Containers } } }).template.spec.containers;
}

function labelled(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  copy.metadata = { ...copy.metadata, labels: { ...(copy.metadata?.labels as object), owner: 'team-a' } };
  return copy;
}

function withDebugContainer(pod: KubeObject, container: Record<string, unknown>): KubeObject {
  const copy = structuredClone(pod);
  const spec = copy.spec as { ephemeralContainers?: Containers };
  spec.ephemeralContainers = [...(spec.ephemeralContainers ?? []), container];
  return copy;
}

describe('UPDATE and pods/ephemeralcontainers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('allows labelling a legacy workload, its existing gaps as warnings', async () => {
    const old = insecureDeployment();
    const response = await admitVia(server, '/validate', reviewOf(labelled(old), { operation: 'UPDATE', oldObject: old }));
    expect(response.allowed).to.equal(true);
    expect(response.auditAnnotations!.decision).to.equal('warn');
    expect(response.warnings).to.include('existing gap, not denied on update: privileged/privileged-container: container "runner" securityContext.privileged');
  });

  it('denies what the update adds, and only that', async () => {
    const old = insecureDeployment();
    const updated = structuredClone(old);
    const runner = templateContainers(updated)[0]!;
    runner.env = [...(runner.env as unknown[]), { name: 'API_TOKEN', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' }];
    const response = await admitVia(server, '/validate', reviewOf(updated, { operation: 'UPDATE', oldObject: old }));
    expect(response.allowed).to.equal(false);
    const lines = response.status!.message.split('\n').slice(1);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^- env-secrets\/literal-secret \(container "runner", spec\.template\.spec\.containers\[0\]\.env\[1\]\.value\): /);
    expect(response.status!.message).to.not.include('ghp_0123456789');
  });

  it('recognises existing containers by name when the update inserts one before them', async () => {
    const old = insecureDeployment();
    const updated = labelled(old);
    const hardened = (hardenedPod().spec as { containers: Containers }).containers[0]!;
    const runAsNonRoot = { ...(hardened.securityContext as object), runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
    templateContainers(updated).unshift({ ...structuredClone(hardened), name: 'proxy', securityContext: runAsNonRoot });
    const clean = await admitVia(server, '/validate', reviewOf(updated, { operation: 'UPDATE', oldObject: old }));
    expect(clean.allowed, clean.status?.message).to.equal(true);

    templateContainers(updated)[0] = { name: 'proxy', image: 'envoyproxy/envoy:v1.31' };
    const denied = await admitVia(server, '/validate', reviewOf(updated, { operation: 'UPDATE', oldObject: old }));
    expect(denied.allowed).to.equal(false);
    expect(denied.status!.message).to.include('container "proxy"');
    expect(denied.status!.message).to.not.include('container "runner"');
  });

  it('judges everything as new when the old object cannot be read', async () => {
    const old = insecureDeployment();
    const broken = structuredClone(old);
    (broken.spec as { template: { spec: unknown } }).template.spec = { containers: 'runner' };
    const response = await admitVia(server, '/validate', reviewOf(labelled(old), { operation: 'UPDATE', oldObject: broken }));
    expect(response.allowed).to.equal(false);
  });

  it('patches nothing on an update that adds no gap (no rollout of legacy workloads, no change to running pods)', async () => {
    for (const old of [insecurePod(), insecureDeployment()]) {
      const response = await admitVia(server, '/mutate', reviewOf(labelled(old), { operation: 'UPDATE', oldObject: old }));
      expect(response.patch, String(old.kind)).to.equal(undefined);
      expect(response.allowed).to.equal(true);
    }
  });

  it('patches only the container an update adds', async () => {
    const old = insecureDeployment();
    const updated = structuredClone(old);
    templateContainers(updated).push({ name: 'exporter', image: PINNED_IMAGE });
    const ops = decodedPatch(await admitVia(server, '/mutate', reviewOf(updated, { operation: 'UPDATE', oldObject: old })));
    expect(ops.length).to.be.above(0);
    for (const op of ops) expect(op.path).to.match(/^\/spec\/template\/spec\/containers\/1\//);
  });

  it('gives a dry-run update the same answer', async () => {
    const old = insecureDeployment();
    const review = (dryRun: boolean) => reviewOf(labelled(old), { operation: 'UPDATE', oldObject: old, dryRun, uid: 'u-1' });
    expect(await admitVia(server, '/validate', review(true))).to.deep.equal(await admitVia(server, '/validate', review(false)));
  });

  it('denies a privileged debug container added through pods/ephemeralcontainers', async () => {
    const pod = hardenedPod();
    const debug = withDebugContainer(pod, { name: 'debugger', image: 'busybox:1.36', securityContext: { privileged: true }, stdin: true, tty: true });
    const response = await admitVia(server, '/validate', reviewOf(debug, { operation: 'UPDATE', oldObject: pod, subResource: 'ephemeralcontainers' }));
    expect(response.allowed).to.equal(false);
    expect(response.status!.message).to.include('- privileged/privileged-container (container "debugger", spec.ephemeralContainers[0].securityContext.privileged)');
  });

  it('allows a hardened debug container and patches only the debug container', async () => {
    const pod = insecurePod();
    const debug = withDebugContainer(pod, { name: 'debugger', image: PINNED_IMAGE });
    const review = reviewOf(debug, { operation: 'UPDATE', oldObject: pod, subResource: 'ephemeralcontainers' });
    const ops = decodedPatch(await admitVia(server, '/mutate', review));
    expect(ops.length).to.be.above(0);
    for (const op of ops) expect(op.path).to.match(/^\/spec\/ephemeralContainers\/0\//);
    const validated = await admitVia(server, '/validate', review);
    // The pod's own privileged container was there before: a warning, not a denial.
    expect(validated.status?.message ?? '').to.not.include('container "app"');
  });
});
