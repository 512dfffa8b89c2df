// The background audit's long loops (judging thousands of objects, building a report per namespace)
// give its thread's event loop back every SLICE_MS, so that what else that thread answers (the
// dashboard, the main thread asking for the gauges at each scrape of /metrics, the Lease's renewal)
// waits for one slice at most, not for a whole run. Admission runs on another thread (audit-thread.ts).
import { setImmediate as afterPendingIo } from 'node:timers/promises';

export const SLICE_MS = 5;

/**
 * The pause of one run, called between units of work: it resolves at once within a slice and,
 * once SLICE_MS have passed, after the I/O that waited meanwhile (a dashboard request) has run.
 */
export function slices(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < SLICE_MS) return;
    await afterPendingIo();
    since = performance.now();
  };
}
