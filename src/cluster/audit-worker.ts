// The background audit's thread (started by audit-thread.ts): the continuous audit with its own
// kubeconfig, logger and gauges' registry, built from the plain data the main thread sent, and
// answering its messages. Log lines go to the main thread, which writes them with its own.
import { parentPort, workerData } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createLogger } from '../server/log.js';
import { compilePolicy } from '../server/policy-file.js';
import type { AuditWorkerData, FromWorker, ToWorker } from './audit-thread.js';
import { startContinuousAudit, type ContinuousAudit } from './continuous-audit.js';

const port = parentPort!;
const data = workerData as AuditWorkerData;
const post = (message: FromWorker): void => port.postMessage(message);
const logger = createLogger(data.logLevel, (line) => post({ type: 'log', line }));

let audit: ContinuousAudit;
// Only the audit's own gauges: the process's (heap, event loop, CPU) are the main thread's.
const registry = new Registry();
try {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(data.kubeConfig);
  audit = await startContinuousAudit({ ...data.settings, kubeConfig, logger, registry, policy: compilePolicy(data.policy) });
} catch (err) {
  post({ type: 'failed', error: (err as Error).message });
  throw err;
}
post({ type: 'started' });
void audit.firstRun.then(() => post({ type: 'first-run' }));

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'policy':
      try {
        audit.setPolicy(compilePolicy(message.policy));
      } catch (err) {
        // The main thread compiled the same text a moment ago: a key file it names changed since.
        logger.error('background audit: the policy in force does not compile here; judging with the one before', { error: (err as Error).message });
      }
      break;
    case 'metrics':
      void registry.metrics().then((text) => post({ type: 'metrics', id: message.id, text }));
      break;
    case 'stop':
      void audit.stop().then(() => post({ type: 'stopped' }));
      break;
  }
});
