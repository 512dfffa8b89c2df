// The suite's release, as docs/install.md names it. A module of its own with no imports, so that
// every support module can use the names while suite.ts and they import each other.
export const RELEASE = 'gapguard';
/** The release namespace docs/install.md uses, which the chart always leaves out of the webhooks. */
export const RELEASE_NAMESPACE = 'gapguard';
