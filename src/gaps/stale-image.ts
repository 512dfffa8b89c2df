/**
 * stale-image: containers on images that have not been rebuilt for a long time.
 *
 * Reads, for every container (init, regular, ephemeral): `image`. Context: `imageFacts(image).created`
 * (the image config's build time, fetched from the registry beforehand), `now`, and
 * `policy.staleImage.maxImageAgeDays`. Without facts there is no finding.
 *
 * Rule `stale-image/old-image` (medium): the image was built more than maxImageAgeDays before now.
 * The running-age rule belongs to the cluster audit, which sees running containers. No fix.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import { memoize } from '../memo.js';

const GAP = 'stale-image';
const OLD_IMAGE = 'stale-image/old-image';
const DAY_MS = 24 * 60 * 60 * 1000;

/** `2026-01-31` for a build time; memoized since toISOString is slow and build times repeat. */
const buildDate = memoize((ms: number) => new Date(ms).toISOString().slice(0, 10));

export const staleImage: GapCheck = {
  gap: GAP,
  rules: [OLD_IMAGE],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const maxDays = ctx.policy.staleImage.maxImageAgeDays;
    for (const c of pod.containers) {
      const image = c.container.image;
      const created = image ? ctx.imageFacts(image)?.created : undefined;
      if (!image || !created) continue;
      const ageMs = ctx.now.getTime() - created.getTime();
      // An invalid date gives NaN, which is never over the limit: no facts, no finding.
      if (!(ageMs > maxDays * DAY_MS)) continue;
      const ageDays = Math.floor(ageMs / DAY_MS);
      findings.push({
        gap: GAP,
        rule: OLD_IMAGE,
        severity: 'medium',
        path: [...c.path, 'image'],
        message:
          `Container "${c.name}" image "${image}" was built ${ageDays} days ago (${buildDate(created.getTime())}), ` +
          `more than the ${maxDays}-day limit: it carries every vulnerability disclosed since then.`,
        remediation: 'Rebuild the image on a regular cycle, re-scan it after the rebuild, and redeploy with the new digest.',
        container: c,
      });
    }
    return findings;
  },
};
