import { fileURLToPath } from 'node:url';

/** The package root (where package.json, data/ and policy/ live), from dist/src/paths.js. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
