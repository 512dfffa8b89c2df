// `serve --background-audit` runs the audit in a worker thread of its own (cluster/audit-thread.ts):
// the admission thread's heap stays where it is without the audit while the audit holds thousands
// of Pods, the audit's gauges still come out of the one /metrics, a reload reaches the audit, and
// a stop ends the thread with the process; a worker that dies is started again while admission
// goes on answering.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuditThread } from '../../src/cluster/audit-thread.js';
import { createLogger } from '../../src/server/log.js';
import { Metrics } from '../../src/server/metrics.js';
import { insecurePod } from '../admission/objects.js';
import { repoRoot } from '../helpers.js';
import { FakeApiServer, namespace, NAMESPACES, PODS } from './fake-apiserver.js';
import { admissionResponse, eventually, metricValue, reviewOf, send, startTestServer } from './harness.js';
import { caFileFrom, killServeProcesses, serveProcess, type ServeProcess } from './serve-process.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');
const NAMESPACE_COUNT = 10;
const POD_COUNT = 5000;
const MiB = 1024 * 1024;

function putCluster(api: FakeApiServer): void {
  for (let n = 0; n < NAMESPACE_COUNT; n++) api.put(NAMESPACES, namespace(`team-${n}`));
  for (let i = 0; i < POD_COUNT; i++) {
    // A Pod of a real workload's size: three containers with their environment, each its own strings.
    const container = (name: string) => ({
      name,
      image: `registry.example/team-${i % NAMESPACE_COUNT}/${name}:1.${i}`,
      securityContext: { privileged: true },
      env: Array.from({ length: 12 }, (_, e) => ({ name: `SETTING_${e}`, value: `value-${i}-${e}` })),
      resources: { limits: { cpu: '500m', memory: '256Mi' } },
    });
    api.put(PODS, {
      metadata: { name: `web-${i}`, namespace: `team-${i % NAMESPACE_COUNT}`, labels: { app: 'web', shard: String(i % 97) } },
      spec: { containers: [container('app'), container('proxy'), container('log')] },
    });
  }
}

describe('serve --background-audit: the audit in its own thread', function () {
  this.timeout(120_000);
  let api: FakeApiServer;
  let dir: string;
  let policyFile: string;
  let without: ServeProcess;
  let withAudit: ServeProcess;
  const ca = (server: ServeProcess) => readFileSync(caFileFrom(server.stdout()));
  const metricsOf = async (server: ServeProcess) => (await send({ port: server.port, ca: ca(server), path: '/metrics' })).text;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-audit-thread-'));
    api = await new FakeApiServer().start();
    putCluster(api);
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    api.writeKubeconfig(kubeconfig);
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'gaps:\n  privileged:\n    action: deny\n');
    const common = [`--kubeconfig=${kubeconfig}`, '--policy', policyFile];
    without = await serveProcess(BIN, [...common, '--cert-dir', join(dir, 'without')], dir);
    withAudit = await serveProcess(BIN, [...common, '--cert-dir', join(dir, 'with'), '--background-audit'], dir);
    await eventually(async () => metricValue(await metricsOf(withAudit), 'gapguard_background_audit_objects', {}) === POD_COUNT + NAMESPACE_COUNT, 'the audit to hold every Pod', 60_000);
  });
  after(async () => {
    killServeProcesses();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the admission thread's heap at the no-audit level while the audit holds thousands of Pods", async () => {
    // Both servers answer the same reviews first, so that both heaps hold what admission holds.
    for (const server of [without, withAudit]) {
      for (let i = 0; i < 50; i++) {
        const review = reviewOf(insecurePod());
        admissionResponse(await send({ port: server.port, ca: ca(server), path: '/validate', body: JSON.stringify(review) }), review.request.uid);
      }
    }
    // nodejs_heap_size_used_bytes is the heap of the isolate that serves /metrics: admission's.
    const heap = async (server: ServeProcess) => metricValue(await metricsOf(server), 'nodejs_heap_size_used_bytes', {});
    const heapWithout = await heap(without);
    const heapWith = await heap(withAudit);
    // With the audit in admission's thread these Pods took its heap to three times the no-audit level (141 against 47 MiB).
    expect(heapWith / MiB, `admission's heap with the audit ${(heapWith / MiB).toFixed(1)} MiB, without ${(heapWithout / MiB).toFixed(1)} MiB`).to.be.below((heapWithout * 1.25) / MiB + 5);
    // The audit did hold them, and its gauges are on the same /metrics.
    const text = await metricsOf(withAudit);
    expect(metricValue(text, 'gapguard_running_workloads', { namespace: 'team-0', verdict: 'deny' })).to.equal(POD_COUNT / NAMESPACE_COUNT);
    expect(metricValue(text, 'nodejs_heap_size_used_bytes', {})).to.be.greaterThan(0);
  });

  it('judges again with the policy a reload puts in force', async () => {
    const privileged = async () => metricValue(await metricsOf(withAudit), 'gapguard_running_findings', { namespace: 'team-0', gap: 'privileged' });
    expect(await privileged()).to.be.greaterThan(0);
    writeFileSync(policyFile, 'gaps:\n  privileged:\n    action: off\n');
    await eventually(async () => (await privileged()) === 0, 'the Pods judged with the reloaded policy', 30_000);
  });

  it('ends the thread with the process on SIGTERM, its log lines whole JSON lines', async () => {
    withAudit.child.kill('SIGTERM');
    expect(await withAudit.exit).to.equal(0);
    const lines = withAudit.stderr().trimEnd().split('\n');
    const logged = lines.map((line) => JSON.parse(line) as { msg: string });
    const messages = logged.map((l) => l.msg);
    // The audit's lines (written in its thread) among admission's, in order: the audit stopped before the drain.
    expect(messages).to.include('background audit: first run done');
    expect(messages.indexOf('stop signal received')).to.be.below(messages.indexOf('draining: finishing in-flight requests'));
    expect(messages.at(-1)).to.equal('stopped');
  });
});

describe('the background audit thread when its worker dies', function () {
  this.timeout(60_000);

  it('logs it and starts the audit again with backoff, while admission answers throughout', async () => {
    const api = await new FakeApiServer().start();
    api.put(NAMESPACES, namespace('shop'));
    const pod = insecurePod();
    api.put(PODS, pod as never);
    const metrics = new Metrics();
    const server = await startTestServer({ metrics });
    const lines: string[] = [];
    // The real worker, with a bug that throws 300 ms after each start.
    const thread = new AuditThread(
      { kubeConfig: api.kubeConfig(), logger: createLogger('info', (l) => lines.push(l)), logLevel: 'info', writeLog: (l) => lines.push(l), policy: undefined, metrics, settings: { maxNamespaces: 10, debounceMs: 20 } },
      new URL('./crashing-audit-worker.js', import.meta.url),
    );
    try {
      await thread.start();
      const restarts = () => lines.filter((l) => l.includes('"background audit thread ended; starting it again"'));
      let answered = 0;
      // Until the second restart has judged the cluster again, admission and /metrics answer every time.
      await eventually(
        async () => {
          const review = reviewOf(insecurePod());
          expect(admissionResponse(await server.post('/validate', review), review.request.uid).allowed).to.equal(false);
          expect((await server.get('/metrics')).status).to.equal(200);
          answered++;
          return restarts().length >= 2 && lines.filter((l) => l.includes('"background audit: first run done"')).length >= 3;
        },
        'two restarts of the audit',
        30_000,
      );
      expect(answered).to.be.greaterThan(10);
      expect(restarts()[0]).to.include('"error":"a bug in the background audit"');
      expect(restarts()[0]).to.include('"retryInSeconds":1');
      await eventually(async () => metricValue((await server.get('/metrics')).text, 'gapguard_background_audit_objects', {}) === 2, "the restarted audit's gauges on /metrics");
    } finally {
      await thread.stop();
      await server.close();
      await api.stop();
    }
  });
});
