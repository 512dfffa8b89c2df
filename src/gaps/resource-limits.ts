/**
 * resource-limits: a container without a memory or CPU limit can take the whole node, so that its
 * failure (a leak, a fork bomb, a cryptominer) becomes the node's failure.
 *
 * Fields read:
 *   spec.resources.limits.cpu, .memory (pod-level limits bound every container)
 *   spec.{initContainers,containers}[*].resources.limits.cpu, .memory
 *   spec.{initContainers,containers}[*].resources.requests.cpu, .memory
 * Ephemeral containers are not judged: Kubernetes forbids resources on them.
 *
 * Rules:
 *   resource-limits/no-memory-limit  high    no memory limit on the container or the pod
 *   resource-limits/no-cpu-limit     medium  no CPU limit on the container or the pod
 *
 * Fix: the missing limit from policy.resourceLimits.defaultLimits, or the container's request when
 * that is larger (a limit below the request is invalid). A limit that is set is never touched.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { parseQuantity } from '../workloads/quantity.js';
import type { ContainerRef } from '../workloads/types.js';

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

/** The policy's default, raised to the request when the request is larger. */
function limitFor(ref: ContainerRef, resource: LimitedResource, policy: Policy): string | number {
  const fallback = policy.resourceLimits.defaultLimits[resource.name];
  const request = ref.container.resources?.requests?.[resource.name];
  if (request == null) return fallback;
  const requested = parseQuantity(request);
  const defaulted = parseQuantity(fallback);
  return requested !== undefined && defaulted !== undefined && requested > defaulted ? request : fallback;
}

export const resourceLimits: GapCheck = {
  gap: 'resource-limits',
  rules: [NO_MEMORY_LIMIT, NO_CPU_LIMIT],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const podLimits = pod.spec.resources?.limits;
    for (const ref of pod.containers) {
      if (ref.list === 'ephemeralContainers') continue;
      const limits = ref.container.resources?.limits;
      for (const resource of RESOURCES) {
        if (podLimits?.[resource.name] != null || limits?.[resource.name] != null) continue;
        const path = [...ref.path, 'resources', 'limits', resource.name];
        const value = limitFor(ref, resource, ctx.policy);
        findings.push({
          gap: 'resource-limits',
          rule: resource.rule,
          severity: resource.severity,
          path,
          message: `Container "${ref.name}" has no ${resource.label} limit (resources.limits.${resource.name}) and the pod sets none: ${resource.harm}.`,
          remediation:
            `Set resources.limits.${resource.name} to what the application needs at its peak, with room for spikes ` +
            `(gapguard fix sets ${value}: the policy default, or the request when that is larger).`,
          fix: [{ op: 'set-if-absent', path, value }],
          container: ref,
        });
      }
    }
    return findings;
  },
};
