// The benchmark's request: an AdmissionReview for creating a Pod, about 8 KB like the ones a
// kube-apiserver sends for a real Deployment's pod (managedFields, probes, projected token volume,
// tolerations). The pod is hardened, with Secret references in its environment, so every request
// runs every check and answers with warnings but no denial. Usage: node pod-review.js OUT_FILE
import { writeFileSync } from 'node:fs';

const TARGET_BYTES = 8 * 1024;

function container(name: string, port: number) {
  return {
    name,
    image: `registry.example.com/shop/${name}:2.4.1@sha256:${'4f'.repeat(32)}`,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_HOST', value: 'postgres.db.svc.cluster.local' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${name}-db`, key: 'password' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    ],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
    livenessProbe: { httpGet: { path: '/healthz', port, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, failureThreshold: 3 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/shop', readOnly: true },
      { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function managedField(manager: string, fields: number) {
  const fieldsV1: Record<string, unknown> = {};
  for (let i = 0; i < fields; i++) fieldsV1[`f:field-${manager}-${i}`] = {};
  return { manager, operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1 };
}

function podReview(fieldsPerManager: number): unknown {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'shop-7d9c8b6f5-',
      namespace: 'prod',
      labels: { app: 'shop', tier: 'web', 'pod-template-hash': '7d9c8b6f5', 'app.kubernetes.io/version': '2.4.1' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'shop-7d9c8b6f5', uid: 'a1b2c3d4-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
      managedFields: [managedField('kube-controller-manager', fieldsPerManager)],
    },
    spec: {
      serviceAccountName: 'shop',
      securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [container('web', 8080), container('metrics', 9090)],
      volumes: [
        { name: 'config', configMap: { name: 'shop-config', defaultMode: 420 } },
        {
          name: 'kube-api-access',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      priority: 0,
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0b4f6f0e-5b7e-4d0a-9a53-6f1d2c3b4a59',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'c0ffee00-0000-4000-8000-000000000002', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** The review padded (through managedFields, as real ones are) to the first size of at least 8 KB. */
function eightKilobyteReview(): string {
  for (let fields = 0; ; fields++) {
    const text = JSON.stringify(podReview(fields));
    if (text.length >= TARGET_BYTES) return text;
  }
}

const out = process.argv[2];
if (out) writeFileSync(out, eightKilobyteReview());
