/**
 * resource-limits: a container without a memory or CPU limit can take the whole node, so that its
 * failure (a leak, a fork bomb, a cryptominer) becomes the node's failure.
 *
 * Fields read:
 *   spec.resources.limits.cpu, .memory (pod-level limits bound every container), .requests
 *   spec.{initContainers,containers}[*].resources.limits.cpu, .memory
 *   spec.{initContainers,containers}[*].resources.requests.cpu, .memory
 * Ephemeral containers are not judged: Kubernetes forbids resources on them.
 *
 * Rules:
 *   resource-limits/no-memory-limit  high    no memory limit on the container or the pod
 *   resource-limits/no-cpu-limit     medium  no CPU limit on the container or the pod
 * A limit of zero sets no bound: it counts as missing.
 *
 * Fix: the missing limit from policy.resourceLimits.defaultLimits, raised to what the API server
 * requires, so that the patched pod is one it accepts. A limit that is set (and not zero) is never
 * touched.
 * - A pod that sizes the resource at pod level (spec.resources sets its request or a zero limit)
 *   gets the pod-level limit: container limits would imply container requests (a request defaults
 *   to its limit) that the pod-level request must cover. The pod limit is at least the pod request
 *   and every container's limit.
 * - Otherwise each container gets its own limit, at least its request.
 */
import type { CheckFinding, FixIntent, GapCheck } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { parseQuantity } from '../workloads/quantity.js';
import type { ContainerRef, PodTarget, ResourceList, Segment } from '../workloads/types.js';

const NO_MEMORY_LIMIT = 'resource-limits/no-memory-limit';
const NO_CPU_LIMIT = 'resource-limits/no-cpu-limit';

interface LimitedResource {
  name: 'memory' | 'cpu';
  rule: string;
  severity: CheckFinding['severity'];
  label: string;
  harm: string;
}

const RESOURCES: readonly LimitedResource[] = [
  {
    name: 'memory',
    rule: NO_MEMORY_LIMIT,
    severity: 'high',
    label: 'memory',
    harm: "a leak or a runaway process can use all of the node's memory, and the out-of-memory killer then ends unrelated pods",
  },
  {
    name: 'cpu',
    rule: NO_CPU_LIMIT,
    severity: 'medium',
    label: 'CPU',
    harm: 'a busy loop or a cryptominer can use every core of the node and starve the other pods',
  },
];

type Quantity = string | number;

/** Whether a limit bounds anything: absent, null and zero do not. */
function bounds(limit: Quantity | null | undefined): boolean {
  return limit != null && parseQuantity(limit) !== 0;
}

/** The largest of the quantities (the first when they tie or one cannot be read). */
function largest(first: Quantity, others: readonly (Quantity | null | undefined)[]): Quantity {
  let best = first;
  let bestValue = parseQuantity(first);
  for (const q of others) {
    if (q == null) continue;
    const value = parseQuantity(q);
    if (value !== undefined && bestValue !== undefined && value > bestValue) {
      best = q;
      bestValue = value;
    }
  }
  return best;
}

/** Sets the limit where it is absent, replaces it where it is zero. */
function fillLimit(path: Segment[], current: Quantity | null | undefined, value: Quantity): FixIntent {
  return current == null ? { op: 'set-if-absent', path, value } : { op: 'replace', path, value };
}

interface LimitFix {
  intent: FixIntent;
  value: Quantity;
  where: string;
}

/**
 * Where the missing limit goes and its value. At pod level when the pod sizes the resource there,
 * at least the pod request and every container's limit; otherwise on the container, at least its
 * request.
 */
function limitFix(pod: PodTarget, ref: ContainerRef, resource: LimitedResource, policy: Policy): LimitFix {
  const fallback = policy.resourceLimits.defaultLimits[resource.name];
  const podResources = pod.spec.resources;
  const podLimit = podResources?.limits?.[resource.name];
  const podRequest = podResources?.requests?.[resource.name];
  if (podRequest != null || podLimit != null) {
    const containerLimits = pod.containers.map((c) => c.container.resources?.limits?.[resource.name]);
    const value = largest(fallback, [podRequest, ...containerLimits]);
    const path = [...pod.specPath, 'resources', 'limits', resource.name];
    return { intent: fillLimit(path, podLimit, value), value, where: 'on the pod (spec.resources.limits)' };
  }
  const value = largest(fallback, [ref.container.resources?.requests?.[resource.name]]);
  const path = [...ref.path, 'resources', 'limits', resource.name];
  return { intent: fillLimit(path, ref.container.resources?.limits?.[resource.name], value), value, where: 'on the container' };
}

export const resourceLimits: GapCheck = {
  gap: 'resource-limits',
  rules: [NO_MEMORY_LIMIT, NO_CPU_LIMIT],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const podLimits = pod.spec.resources?.limits;
    for (const ref of pod.containers) {
      if (ref.list === 'ephemeralContainers') continue;
      const limits: ResourceList | undefined = ref.container.resources?.limits;
      for (const resource of RESOURCES) {
        if (bounds(podLimits?.[resource.name]) || bounds(limits?.[resource.name])) continue;
        const zero = limits?.[resource.name] != null ? ` (a limit of ${String(limits[resource.name])} sets no bound)` : '';
        const fix = limitFix(pod, ref, resource, ctx.policy);
        findings.push({
          gap: 'resource-limits',
          rule: resource.rule,
          severity: resource.severity,
          path: [...ref.path, 'resources', 'limits', resource.name],
          message: `Container "${ref.name}" has no ${resource.label} limit (resources.limits.${resource.name})${zero} and the pod sets none: ${resource.harm}.`,
          remediation:
            `Set resources.limits.${resource.name} to what the application needs at its peak, with room for spikes ` +
            `(gapguard fix sets ${fix.value} ${fix.where}: the policy default, or the request when that is larger).`,
          fix: [fix.intent],
          container: ref,
        });
      }
    }
    return findings;
  },
};
