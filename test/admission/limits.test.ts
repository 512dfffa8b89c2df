// The review limits (policy `limits`) over real HTTPS: an object past one is not judged and the
// answer names the limit (enforce denies, audit allows with a warning); within them every review,
// however pathological, is answered with a bounded message and patch.
import { expect } from 'chai';
import type { KubeObject } from '../../src/workloads/locate.js';
import { admitVia, reviewOf, startTestServer, type TestServer } from '../server/harness.js';
import { hardenedPod, insecurePod } from './objects.js';

function podWith(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'shop' }, spec };
}

const containers = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'nginx', ...extra }));

describe('review limits', function () {
  this.timeout(30_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      policy: 'limits: { maxContainers: 10, maxVolumes: 5, maxEnvEntries: 20, maxContainerListEntries: 20, maxLabels: 4, maxStringLength: 300, maxEnvNameLength: 40, maxEnvValuesLength: 1100, maxFindings: 3, maxMessageBytes: 2048, maxPatchBytes: 1024 }\n',
    });
  });
  after(() => server.close());

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['containers', { containers: containers(50_000) }, /50000 containers, more than limits\.maxContainers \(10\) allows/],
    ['containers of all lists together', { initContainers: containers(6), containers: containers(5) }, /11 containers, more than limits\.maxContainers/],
    ['volumes', { containers: containers(1), volumes: Array.from({ length: 6 }, (_, i) => ({ name: `v${i}`, hostPath: { path: '/var/run/docker.sock' } })) }, /6 volumes, more than limits\.maxVolumes \(5\)/],
    ['env entries', { containers: containers(3, { env: Array.from({ length: 7 }, (_, i) => ({ name: `DB_PASSWORD_${i}`, value: 'hunter2hunter2' })) }) }, /21 env and envFrom entries, more than limits\.maxEnvEntries \(20\)/],
    ['other container lists', { containers: containers(1, { ports: Array.from({ length: 21 }, (_, i) => ({ containerPort: i + 1, hostPort: i + 1 })) }) }, /21 ports, volumeMounts and capabilities entries, more than limits\.maxContainerListEntries \(20\)/],
    ['a long string the checks read', { containers: containers(1, { volumeMounts: [{ name: 'v', mountPath: `/${'a'.repeat(400)}` }] }) }, /a string of 401 characters in a field "mountPath", more than limits\.maxStringLength \(300\)/],
    ['a long hostPath', { containers: containers(1), volumes: [{ name: 'v', hostPath: { path: '/a/'.repeat(200) } }] }, /a string of 600 characters in a field "path", more than limits\.maxStringLength/],
    ['a long field name', { containers: containers(1, { [`x${'y'.repeat(400)}`]: 1 }) }, /a field name of 401 characters, more than limits\.maxStringLength/],
    ['a long env name', { containers: containers(1, { env: [{ name: `${'A_'.repeat(30)}PASSWORD`, value: 'x' }] }) }, /a string of 68 characters in a field "name", more than limits\.maxEnvNameLength \(40\)/],
    ['env values too long together', { containers: containers(3, { env: [{ name: 'CONFIG', value: 'c'.repeat(400) }] }) }, /env values of more than 1100 characters together, more than limits\.maxEnvValuesLength allows/],
  ];
  for (const [what, spec, limit] of cases) {
    it(`enforce denies an object past the limit on ${what}, naming the limit, without judging it`, async () => {
      const review = reviewOf(podWith(spec));
      const answer = await admitVia(server, '/validate', review);
      expect(answer.allowed).to.equal(false);
      expect(answer.status?.message).to.match(/^gapguard denied Pod shop\/big: not judged, /).and.to.match(limit);
      expect(answer.auditAnnotations).to.deep.include({ decision: 'deny' });
      const mutated = await admitVia(server, '/mutate', reviewOf(podWith(spec)));
      expect(mutated.allowed).to.equal(false);
      expect(mutated.patch).to.equal(undefined);
    });
  }

  it('counts the pod labels, and lets free text no check reads (args, probes) be long', async () => {
    const labelled = podWith({ containers: containers(1) });
    labelled.metadata!.labels = { a: '1', b: '2', c: '3', d: '4', e: '5' };
    expect((await admitVia(server, '/validate', reviewOf(labelled))).status?.message).to.match(/5 labels, more than limits\.maxLabels \(4\) allows/);
    const scripted = hardenedPod();
    const c = (scripted.spec as { containers: Record<string, unknown>[] }).containers[0]!;
    c.args = ['-c', 's'.repeat(5000)];
    c.livenessProbe = { exec: { command: ['sh', '-c', 'p'.repeat(5000)] } };
    expect((await admitVia(server, '/validate', reviewOf(scripted))).allowed).to.equal(true);
  });

  it('never shows the long string it refuses', async () => {
    const secret = `S3cr3t${'q'.repeat(1200)}`;
    const answer = await server.post('/validate', reviewOf(podWith({ containers: containers(1, { env: [{ name: 'TOKEN', value: secret }] }) })));
    expect(answer.text).to.match(/maxEnvValuesLength/).and.not.include('S3cr3t');
    expect(server.logText()).to.not.include('S3cr3t');
  });

  it('audit allows an object past a limit, with a warning that names it', async () => {
    const answer = await admitVia(server, '/validate/audit', reviewOf(podWith({ containers: containers(11) })));
    expect(answer.allowed).to.equal(true);
    expect(answer.warnings).to.deep.equal(['[audit] enforce would deny: not judged, 11 containers, more than limits.maxContainers (10) allows']);
  });

  it('judges a Pod whose container statuses pass the limit as not judged', async () => {
    const pod = podWith({ containers: containers(1) });
    pod.status = { containerStatuses: Array.from({ length: 11 }, (_, i) => ({ name: `c${i}` })) };
    expect((await admitVia(server, '/validate', reviewOf(pod))).status?.message).to.match(/11 container statuses, more than limits\.maxContainers/);
  });

  it('lists at most maxFindings denied findings, counts the rest, and keeps the message within maxMessageBytes', async () => {
    const many = podWith({ containers: containers(10, { securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } } }) });
    const answer = await admitVia(server, '/validate', reviewOf(many));
    const message = answer.status!.message;
    const lines = message.split('\n').slice(1);
    expect(lines.slice(0, 3).every((l) => l.startsWith('- '))).to.equal(true);
    expect(lines[3]).to.match(/^- and \d+ more: gapguard scan lists them all$/);
    expect(lines).to.have.length(4);
    expect(Buffer.byteLength(message)).to.be.at.most(2048);
    const log = server.logs().find((l) => l.msg === 'admission' && (l.findings as string[]).length === 3);
    expect(log?.findingsNotListed).to.be.a('number').and.greaterThan(0);
  });

  it('enforce /mutate refuses a patch larger than maxPatchBytes, naming the limit; audit only warns', async () => {
    const bare = podWith({ containers: containers(10, { image: `registry.example.com/app@sha256:${'ab'.repeat(32)}` }) });
    const mutated = await admitVia(server, '/mutate', reviewOf(bare));
    expect(mutated.allowed).to.equal(false);
    expect(mutated.status?.message).to.match(/not judged, its JSON Patch of \d+ bytes is more than limits\.maxPatchBytes \(1024\) allows/);
    const audited = await admitVia(server, '/mutate/audit', reviewOf(bare));
    expect(audited.allowed).to.equal(true);
    expect(audited.patch).to.equal(undefined);
  });

  it('judges an UPDATE whose old object passes a limit: every finding of the new object counts as new', async () => {
    const old = podWith({ containers: containers(11) });
    const answer = await admitVia(server, '/validate', reviewOf(insecurePod(), { operation: 'UPDATE', oldObject: old }));
    expect(answer.allowed).to.equal(false);
    expect(answer.status?.message).to.match(/privileged-container/);
  });

  it('judges an object within every limit as before', async () => {
    expect((await admitVia(server, '/validate', reviewOf(hardenedPod()))).allowed).to.equal(true);
  });
});
