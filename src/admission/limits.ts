// The input limits of one admission review (policy `limits`). The kube-apiserver accepts bodies up
// to 3 MB, enough for 50,000 containers or 50,000 environment variables: judged whole, such an
// object held the event loop for seconds and the process's memory past its limit. The lists are
// counted before anything else is done with the object, and counting stops at the first limit
// passed, so the cost of the check is bounded by the limits too.
import type { ReviewLimits } from '../policy/types.js';
import { CONTAINER_LISTS, isObject, rawPodSpec, type KubeObject } from '../workloads/locate.js';

function lengthOf(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

const STATUS_LISTS = ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses'];

function passed(count: number, what: string, limit: keyof ReviewLimits, limits: ReviewLimits): string | undefined {
  return count > limits[limit] ? `${count} ${what}, more than limits.${limit} (${limits[limit]}) allows` : undefined;
}

/**
 * The first input limit the object passes, as a sentence naming the limit, or undefined when it
 * stays within all of them (or has no pod spec: evaluation reports that).
 */
export function overLimit(object: KubeObject, limits: ReviewLimits): string | undefined {
  const spec = rawPodSpec(object);
  if (!isObject(spec)) return undefined;
  const status = object.kind === 'Pod' && isObject(object.status) ? object.status : {};
  const containerLists = CONTAINER_LISTS.map((list) => spec[list]);
  const containers = containerLists.reduce((n: number, list) => n + lengthOf(list), 0);
  const statuses = STATUS_LISTS.reduce((n, list) => n + lengthOf(status[list]), 0);
  const tooMany =
    passed(containers, 'containers', 'maxContainers', limits) ??
    passed(statuses, 'container statuses', 'maxContainers', limits) ??
    passed(lengthOf(spec.volumes), 'volumes', 'maxVolumes', limits);
  if (tooMany) return tooMany;
  // Within maxContainers: counting their lists is bounded work.
  let env = 0;
  let entries = 0;
  for (const list of containerLists) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c)) continue;
      env += lengthOf(c.env) + lengthOf(c.envFrom);
      entries += lengthOf(c.ports) + lengthOf(c.volumeMounts);
      const sc = c.securityContext;
      const caps = isObject(sc) ? sc.capabilities : undefined;
      if (isObject(caps)) entries += lengthOf(caps.add) + lengthOf(caps.drop);
    }
  }
  return (
    passed(env, 'env and envFrom entries', 'maxEnvEntries', limits) ??
    passed(entries, 'ports, volumeMounts and capabilities entries', 'maxContainerListEntries', limits)
  );
}
