// The background audit shares the event loop with admission: its long loops (judging thousands of
// objects, building a report per namespace) give the loop back every SLICE_MS, so a review that
// arrives meanwhile waits for one slice at most, not for a whole run.
import { setImmediate as afterPendingIo } from 'node:timers/promises';

export const SLICE_MS = 5;

/**
 * The pause of one run, called between units of work: it resolves at once within a slice and,
 * once SLICE_MS have passed, after the I/O that waited meanwhile (an admission review) has run.
 */
export function slices(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < SLICE_MS) return;
    await afterPendingIo();
    since = performance.now();
  };
}
