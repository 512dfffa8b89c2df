// Objects the admission tests send, built fresh for each use so a test can change its copy.
import type { KubeObject } from '../../src/workloads/locate.js';
import { readYamlDocs } from '../helpers.js';

export const PINNED_IMAGE = `registry.example.com/shop/web:1.0@sha256:${'ab'.repeat(32)}`;

/** A privileged Pod on a tag: denied for several gaps, some of them fixable. */
export function insecurePod(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
  };
}

/** examples/hardened-pod.yaml: no finding offline. */
export function hardenedPod(): KubeObject {
  return structuredClone(readYamlDocs('examples/hardened-pod.yaml')[0]!);
}

/** A Pod whose only gaps are fixable ones: a pinned image, no securityContext, no limits. */
export function fixablePod(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'fixable', namespace: 'shop' },
    spec: {
      containers: [
        { name: 'app', image: PINNED_IMAGE, resources: { requests: { cpu: '2', memory: '1Gi' } } },
        { name: 'sidecar', image: PINNED_IMAGE, securityContext: { allowPrivilegeEscalation: false } },
      ],
      initContainers: [{ name: 'init', image: PINNED_IMAGE }],
    },
  };
}

/** The first document of examples/insecure-deployment.yaml. */
export function insecureDeployment(): KubeObject {
  return structuredClone(readYamlDocs('examples/insecure-deployment.yaml')[0]!);
}
