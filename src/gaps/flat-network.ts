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
 *   of those that restrict ingress selects the pod. Unknown policies are not a finding.
 * No fix: adding a policy or dropping host networking changes what the pod can talk to.
 */
import type { CheckFinding, GapCheck, NetworkPolicyLike } from '../engine/types.js';
import { selectorMatches } from '../workloads/labels.js';
import { isObject } from '../workloads/locate.js';
import type { PodTarget } from '../workloads/types.js';

const GAP = 'flat-network';
const HOST_NETWORK = 'flat-network/host-network';
const HOST_PORT = 'flat-network/host-port';
const NO_NETWORK_POLICY = 'flat-network/no-network-policy';

/** A policy without policyTypes restricts ingress (Kubernetes adds Egress only when it has egress rules). */
function restrictsIngress(policy: NetworkPolicyLike): boolean {
  const types = policy.spec?.policyTypes;
  return types === undefined || types === null || (Array.isArray(types) && types.includes('Ingress'));
}

function isolatedForIngress(pod: PodTarget, policies: readonly NetworkPolicyLike[]): boolean {
  // Policies come unvalidated from files too: one without a spec object protects nothing. Its
  // podSelector is a required struct in the API: an omitted one is the empty selector, all pods.
  return policies.some((p) => isObject(p.spec) && restrictsIngress(p) && selectorMatches(p.spec.podSelector ?? {}, pod.labels));
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
