// Manifests the scenarios start from: a Pod that passes gapguard's default policy, and the
// workload kinds that carry its spec. Each scenario breaks exactly the field it is about.

/** Digest-pinned, so unverified-image has nothing to say; nothing pulls it (no kubelet). */
export const PINNED_IMAGE = 'registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a';

export type PodSpec = Record<string, any>;

export function hardenedContainer(name = 'app'): Record<string, any> {
  return {
    name,
    image: PINNED_IMAGE,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources: { limits: { cpu: '100m', memory: '64Mi' } },
  };
}

export function cleanPodSpec(): PodSpec {
  return { containers: [hardenedContainer()] };
}

/** A Pod whose spec is the clean one changed by `change`. */
export function pod(name: string, change: (spec: PodSpec) => void = () => {}): Record<string, unknown> {
  const spec = cleanPodSpec();
  change(spec);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } }, spec };
}

export function deployment(name: string, change: (spec: PodSpec) => void = () => {}, replicas = 1): Record<string, unknown> {
  const spec = cleanPodSpec();
  change(spec);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec } },
  };
}

export function cronJob(name: string, change: (spec: PodSpec) => void = () => {}): Record<string, unknown> {
  const spec = { ...cleanPodSpec(), restartPolicy: 'Never' };
  change(spec);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec } } } },
  };
}

/** Mounts a hostPath volume at the same path in the first container. */
export function hostPath(path: string): (spec: PodSpec) => void {
  return (spec) => {
    spec.volumes = [{ name: 'host', hostPath: { path } }];
    spec.containers[0].volumeMounts = [{ name: 'host', mountPath: '/host' }];
  };
}
