// The words an admission answer carries. The denial is one message that kubectl prints whole: each
// gap with its container, its field and what to do instead. Warnings are one line each and short,
// because kubectl prints each on its own line and the API server truncates long ones.
import type { Finding } from '../engine/types.js';
import type { ReviewLimits } from '../policy/types.js';
import type { FindingPlace } from './place.js';

/** The API server may truncate warnings longer than this. */
export const MAX_WARNING_LENGTH = 120;
/** The API server caps the total size of warnings; past this many the rest are summarised. */
export const MAX_WARNINGS = 20;

export interface PlacedFinding {
  finding: Finding;
  place: FindingPlace;
}

/** Prefixes of a warning, by why it is a warning rather than a denial. */
export const AUDIT_WOULD_DENY = '[audit] enforce would deny: ';
export const AUDIT_WOULD_PATCH = '[audit] enforce would patch: ';
export const EXISTING_ON_UPDATE = 'existing gap, not denied on update: ';

function where(place: FindingPlace): string {
  return place.container === undefined ? place.field : `container "${place.container}" ${place.field}`.trimEnd();
}

/** A warning cut to what the API server keeps whole. */
export function shortWarning(text: string): string {
  return text.length < MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 2)}…`;
}

export function warningText(prefix: string, { finding, place }: PlacedFinding): string {
  return shortWarning(`${prefix}${finding.rule}: ${where(place)}${finding.detail ? `, ${finding.detail}` : ''}`);
}

/** Warnings in order, capped so that the API server keeps all of them. */
export function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return warnings;
  const kept = warnings.slice(0, MAX_WARNINGS - 1);
  kept.push(`and ${warnings.length - kept.length} more findings: gapguard scan lists them all`);
  return kept;
}

/** The denial: every denied finding on its line, within limits.maxFindings lines and maxMessageBytes. */
export function denyMessage(subject: string, denied: readonly PlacedFinding[], limits: Pick<ReviewLimits, 'maxFindings' | 'maxMessageBytes'>): string {
  const count = denied.length === 1 ? 'a gap' : `${denied.length} gaps`;
  let message = `gapguard denied ${subject}: ${count} to close first`;
  let bytes = Buffer.byteLength(message);
  // Room kept for the closing line, which is at most this long.
  const budget = limits.maxMessageBytes - 100;
  let listed = 0;
  for (const { finding, place } of denied) {
    if (listed === limits.maxFindings) break;
    const container = place.container === undefined ? '' : `container "${place.container}", `;
    const detail = finding.detail ? `, ${finding.detail}` : '';
    const line = `\n- ${finding.rule} (${container}${finding.path}${detail}): ${finding.remediation}`;
    bytes += Buffer.byteLength(line);
    if (bytes > budget) break;
    message += line;
    listed++;
  }
  if (listed < denied.length) message += `\n- and ${denied.length - listed} more: gapguard scan lists them all`;
  return message;
}
