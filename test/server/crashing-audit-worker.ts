// The background audit's worker with a bug: an uncaught exception 300 ms after each start, for the
// test of audit-thread.ts's restarts (audit-thread.test.ts).
import '../../src/cluster/audit-worker.js';

setTimeout(() => {
  throw new Error('a bug in the background audit');
}, 300);
