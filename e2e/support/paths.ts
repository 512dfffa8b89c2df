import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, from dist/e2e/support/ where this module runs. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const scriptsDir = join(repoRoot, 'e2e/scripts');
export const chartDir = join(repoRoot, 'charts/gapguard');
