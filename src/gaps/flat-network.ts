/**
 * flat-network: pods reachable by everything, or reaching into the host's network.
 *
 * Reads: `spec.hostNetwork`; `ports[].hostPort` of every container (init, regular, ephemeral);
 * the pod template's labels and namespace. Context: `networkPolicies(namespace)`.
 *
 * Rules:
 * - `flat-network/host-network` (high): `hostNetwork: true`.
 * - `flat-network/host-port` (medium): a container port bound on the node with `hostPort`.
 * - `flat-network/no-network-policy` (medium): the namespace's NetworkPolicies are known and none
 *   of those that restrict ingress selects the pod. Unknown policies are not a finding. Policies
 *   are read as the API server defaults them: no spec or no podSelector selects every pod, no or
 *   empty policyTypes means Ingress (plus Egress with egress rules). Only networking.k8s.io/v1
 *   NetworkPolicies count (`isKubernetesNetworkPolicy`): other vendors' kinds have other meanings.
 * No fix: adding a policy or dropping host networking changes what the pod can talk to.
 */
import type { CheckFinding, GapCheck, NetworkPolicyLike } from '../engine/types.js';
import { selectorMatches } from '../workloads/labels.js';
import { isObject, type KubeObject } from '../workloads/locate.js';
import type { PodTarget } from '../workloads/types.js';

const GAP = 'flat-network';
const HOST_NETWORK = 'flat-network/host-network';
const HOST_PORT = 'flat-network/host-port';
const NO_NETWORK_POLICY = 'flat-network/no-network-policy';

/**
 * A Kubernetes NetworkPolicy, as opposed to another vendor's kind of the same name (Calico's
 * projectcalico.org/v3 NetworkPolicy selects with its own syntax and orders by its own rules).
 */
export function isKubernetesNetworkPolicy(object: KubeObject): boolean {
  return object.kind === 'NetworkPolicy' && object.apiVersion === 'networking.k8s.io/v1';
}

/**
 * Missing or empty policyTypes restricts ingress (the API server defaults it to Ingress, adding
 * Egress only when there are egress rules).
 */
function restrictsIngress(types: unknown): boolean {
  return types === undefined || types === null || (Array.isArray(types) && (types.length === 0 || types.includes('Ingress')));
}

function isolatedForIngress(pod: PodTarget, policies: readonly NetworkPolicyLike[]): boolean {
  return policies.some((p) => {
    // The spec and its podSelector are required structs in the API: omitted, they are empty, and
    // the empty selector selects every pod. A spec of another type comes unvalidated from a file and
    // protects nothing.
    const spec = p.spec ?? {};
    if (!isObject(spec)) return false;
    return restrictsIngress(spec.policyTypes) && selectorMatches(spec.podSelector ?? {}, pod.labels);
  });
}

function defaultDenyPolicy(namespace: string): string {
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicy',
    'metadata:',
    '  name: default-deny-ingress',
    `  namespace: ${namespace}`,
    'spec:',
    '  podSelector: {}',
    '  policyTypes: [Ingress]',
  ].join('\n');
}

export const flatNetwork: GapCheck = {
  gap: GAP,
  rules: [HOST_NETWORK, HOST_PORT, NO_NETWORK_POLICY],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    if (pod.spec.hostNetwork === true) {
      findings.push({
        gap: GAP,
        rule: HOST_NETWORK,
        severity: 'high',
        path: [...pod.specPath, 'hostNetwork'],
        message:
          'The pod uses the node\'s network namespace (hostNetwork: true): it reaches every service listening on the node ' +
          'and on the node network, and NetworkPolicies do not apply to it.',
        remediation: 'Remove hostNetwork and expose the pod through its containerPorts and a Service.',
      });
    } else {
      // With hostNetwork every port is a host port already; the finding above says so once.
      for (const c of pod.containers) {
        const ports = c.container.ports;
        if (!ports) continue;
        for (let i = 0; i < ports.length; i++) {
          const hostPort = ports[i]?.hostPort;
          if (hostPort === undefined || hostPort === 0) continue;
          findings.push({
            gap: GAP,
            rule: HOST_PORT,
            severity: 'medium',
            path: [...c.path, 'ports', i, 'hostPort'],
            message: `Container "${c.name}" binds port ${hostPort} on the node (hostPort): anything that reaches the node reaches the container.`,
            remediation: 'Remove hostPort and expose the port through a Service; restrict who may connect with a NetworkPolicy.',
            container: c,
          });
        }
      }
    }

    const policies = ctx.networkPolicies(pod.namespace);
    if (policies !== undefined && !isolatedForIngress(pod, policies)) {
      findings.push({
        gap: GAP,
        rule: NO_NETWORK_POLICY,
        severity: 'medium',
        path: [...pod.specPath.slice(0, -1), 'metadata', 'labels'],
        message:
          `No NetworkPolicy in namespace "${pod.namespace}" selects this pod for ingress: every pod in the cluster can reach it, ` +
          'so one compromised container can connect straight to it.',
        remediation:
          `Add a default-deny ingress NetworkPolicy to namespace "${pod.namespace}", then allow only the traffic the pod needs:\n` +
          defaultDenyPolicy(pod.namespace),
      });
    }
    return findings;
  },
};
