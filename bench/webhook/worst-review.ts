// The most expensive AdmissionReview the default policy's limits let through to judgement, as
// far as we could build one: every input limit filled to the brim, every entry a finding. With the
// defaults: 50 privileged root containers (maxContainers), 500 literal secrets in their environment
// (maxEnvEntries) sharing maxEnvValuesLength, 3 host ports, 2 socket mounts and 5 added
// capabilities each (maxContainerListEntries), 100 hostPath volumes on runtime sockets
// (maxVolumes), typosquatted unpinned images, no limits (fixable: the patch is computed), host
// namespaces; sent as an UPDATE whose old object is the same pod, so that both are evaluated.
import { randomUUID } from 'node:crypto';
import { defaultPolicy } from '../../src/policy/load.js';

function worstPod(): Record<string, unknown> {
  const limits = defaultPolicy().limits;
  const perContainerLists = 10; // 3 ports + 2 mounts + 5 capabilities
  const containerCount = Math.min(limits.maxContainers, Math.floor(limits.maxContainerListEntries / perContainerLists));
  const envPerContainer = Math.floor(limits.maxEnvEntries / containerCount);
  const valueLength = Math.floor(limits.maxEnvValuesLength / (envPerContainer * containerCount));
  const secret = (i: number, j: number) => `pw-${i}-${j}-`.padEnd(valueLength, 'Zq9x');
  const containers = Array.from({ length: containerCount }, (_, i) => ({
    name: `container-${String(i).padStart(3, '0')}-${'x'.repeat(48)}`,
    image: `ngnix:1.${i}`,
    securityContext: { privileged: true, allowPrivilegeEscalation: true, runAsUser: 0, procMount: 'Unmasked', capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_MODULE', 'NET_RAW'] } },
    env: Array.from({ length: envPerContainer }, (_, j) => ({ name: `DB_PASSWORD_${j}`, value: secret(i, j) })),
    ports: Array.from({ length: 3 }, (_, j) => ({ containerPort: 8000 + j, hostPort: 8000 + j })),
    volumeMounts: [
      { name: 'sock-0', mountPath: '/var/run/docker.sock' },
      { name: 'sock-1', mountPath: '/run/containerd/containerd.sock' },
    ],
  }));
  const volumes = Array.from({ length: limits.maxVolumes }, (_, j) => ({ name: `sock-${j}`, hostPath: { path: j % 2 ? '//var/run/../run/containerd/containerd.sock/' : '/var/run/docker.sock' } }));
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'worst', namespace: 'bench' }, spec: { hostPID: true, hostIPC: true, hostNetwork: true, containers, volumes } };
}

function review(object: unknown, oldObject: unknown, operation: 'CREATE' | 'UPDATE'): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: 'worst',
      namespace: 'bench',
      operation,
      userInfo: { username: 'bench' },
      object,
      oldObject,
      dryRun: false,
    },
  });
}

/** The worst review under the default limits: an UPDATE, both objects at every limit. */
export function worstReview(): string {
  return review(worstPod(), worstPod(), 'UPDATE');
}

/** A review past the limits: a Pod of 50,000 containers, 1.7 MB (what took 6 s before the limits). */
export function overLimitReview(): string {
  const containers = Array.from({ length: 50_000 }, (_, i) => ({ name: `c${i}`, image: 'nginx' }));
  return review({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'huge', namespace: 'bench' }, spec: { containers } }, null, 'CREATE');
}
