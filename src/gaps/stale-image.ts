/**
 * stale-image: containers on images that have not been rebuilt, or not redeployed, for a long time.
 *
 * Reads, for every container (init, regular, ephemeral): `image`. Context: `imageFacts(image).created`
 * (the image config's build time, fetched from the registry beforehand), `now`, and
 * `policy.staleImage.maxImageAgeDays`. Without facts there is no finding.
 * For a Pod, also its container statuses (`status.containerStatuses`, `initContainerStatuses`,
 * `ephemeralContainerStatuses`): `name`, `image`, `imageID`, `state.running.startedAt`, against
 * `policy.staleImage.maxRunningAgeDays`.
 *
 * Rules:
 * - `stale-image/old-image` (medium): the image was built more than maxImageAgeDays before now.
 * - `stale-image/long-running` (medium): a container has been running for more than
 *   maxRunningAgeDays. A container cannot change its image without restarting, so it has been on
 *   the same image digest all that time: it has missed every rebuild since. Only a Pod's status
 *   says this, which is what the cluster audit reads (and a scan of `kubectl get pods -o yaml`).
 * No fix.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import { memoize } from '../memo.js';

const GAP = 'stale-image';
const OLD_IMAGE = 'stale-image/old-image';
const LONG_RUNNING = 'stale-image/long-running';
const DAY_MS = 24 * 60 * 60 * 1000;

/** `2026-01-31` for a build time; memoized since toISOString is slow and build times repeat. */
const isoDate = memoize((ms: number) => new Date(ms).toISOString().slice(0, 10));

/** `sha256:0123456789ab` out of an imageID such as `docker.io/library/nginx@sha256:...`. */
function shortDigest(imageID: string | undefined): string | undefined {
  const m = imageID ? /sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(imageID) : null;
  return m ? `sha256:${m[1]}` : undefined;
}

export const staleImage: GapCheck = {
  gap: GAP,
  rules: [OLD_IMAGE, LONG_RUNNING],
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
          `Container "${c.name}" image "${image}" was built ${ageDays} days ago (${isoDate(created.getTime())}), ` +
          `more than the ${maxDays}-day limit: it carries every vulnerability disclosed since then.`,
        remediation: 'Rebuild the image on a regular cycle, re-scan it after the rebuild, and redeploy with the new digest.',
        container: c,
        detail: `built ${ageDays} days ago`,
      });
    }

    const maxRunningDays = ctx.policy.staleImage.maxRunningAgeDays;
    for (const s of pod.statuses) {
      const startedAt = s.status.state?.running?.startedAt;
      if (!startedAt) continue;
      const started = Date.parse(startedAt);
      const runningMs = ctx.now.getTime() - started;
      // An unparsable time gives NaN, never over the limit.
      if (!(runningMs > maxRunningDays * DAY_MS)) continue;
      const image = s.status.image ?? s.container?.container.image;
      const digest = shortDigest(s.status.imageID);
      const runningDays = Math.floor(runningMs / DAY_MS);
      findings.push({
        gap: GAP,
        rule: LONG_RUNNING,
        severity: 'medium',
        path: [...s.path, 'state', 'running', 'startedAt'],
        message:
          `Container "${s.name}" has been running for ${runningDays} days (since ${isoDate(started)}) ` +
          `on the same image${image ? ` "${image}"` : ''}${digest ? ` (digest ${digest})` : ''}, more than the ` +
          `${maxRunningDays}-day limit: base-image and dependency fixes published since then are not in it.`,
        remediation:
          'Redeploy on a regular cycle (for a controller, `kubectl rollout restart`) after rebuilding the image, so that ' +
          'running containers pick up patched images; automate it so no container outlives the limit.',
        ...(s.container ? { container: s.container } : {}),
        detail: `running for ${runningDays} days`,
      });
    }
    return findings;
  },
};
