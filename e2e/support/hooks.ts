// Mocha global fixtures (e2e/.mocharc.json requires this file): one cluster and one gapguard under
// test for the whole run, torn down after it, also when the setup fails or the run is interrupted.
import { setUp, tearDown, tearDownNow } from './suite.js';

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\ne2e: ${signal}: tearing down the cluster and gapguard\n`);
  tearDownNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/**
 * Mocha runs global fixtures even with --dry-run: a dry run that only lists the scenarios would
 * start a cluster and a node, and the node's stale-node cleanup would tear down another run's.
 */
const dryRun = process.argv.includes('--dry-run');

export async function mochaGlobalSetup(): Promise<void> {
  if (dryRun) return;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await setUp();
  } catch (err) {
    // Mocha runs no global teardown after a failed setup. The setup's error is the one to report;
    // a teardown failure on top of it is printed.
    await tearDown().catch((down: Error) => process.stderr.write(`e2e: teardown after the failed setup: ${down.message}\n`));
    throw err;
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (dryRun) return;
  await tearDown();
}
