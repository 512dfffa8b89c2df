// The scan benchmark's corpus: realistic three-container Deployments (an init container and two
// containers with env, a Secret reference, ports, requests, probes, one added capability, a
// hostPath log volume; about 2.4 KB of YAML each, ~20 findings), as one file of N documents and as
// a directory of one file per Deployment. Names and namespaces vary so no two objects are alike.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function container(name: string, image: string, extra: string[], indent: string): string {
  return [
    `- name: ${name}`,
    `  image: ${image}`,
    `  ports:`,
    `    - containerPort: 8080`,
    `      protocol: TCP`,
    `  env:`,
    `    - name: LOG_LEVEL`,
    `      value: info`,
    `    - name: DB_HOST`,
    `      value: postgres.db.svc`,
    `    - name: DB_PASSWORD`,
    `      valueFrom:`,
    `        secretKeyRef: {name: db, key: password}`,
    `    - name: CONFIG_FILE`,
    `      value: /etc/app/config.yaml`,
    `  resources:`,
    `    requests: {cpu: 100m, memory: 128Mi}`,
    `    limits: {memory: 256Mi}`,
    `  readinessProbe:`,
    `    httpGet: {path: /healthz, port: 8080}`,
    `    periodSeconds: 10`,
    `  volumeMounts:`,
    `    - name: config`,
    `      mountPath: /etc/app`,
    ...extra,
  ]
    .map((l) => indent + l)
    .join('\n');
}

/** The i-th Deployment of the corpus, as YAML text. */
export function deploymentYaml(i: number): string {
  const app = `shop-${i}`;
  const ns = `team-${i % 50}`;
  const indent = '        ';
  return [
    `apiVersion: apps/v1`,
    `kind: Deployment`,
    `metadata:`,
    `  name: ${app}`,
    `  namespace: ${ns}`,
    `  labels: {app: ${app}, team: team-${i % 50}}`,
    `  annotations:`,
    `    description: "Deployment ${i} of the scan benchmark corpus"`,
    `spec:`,
    `  replicas: 3`,
    `  selector:`,
    `    matchLabels: {app: ${app}}`,
    `  template:`,
    `    metadata:`,
    `      labels: {app: ${app}, tier: web}`,
    `    spec:`,
    `      serviceAccountName: ${app}`,
    `      securityContext:`,
    `        runAsNonRoot: true`,
    `      initContainers:`,
    container('migrate', `registry.example.com/shop/migrate:1.4.${i % 10}`, [], indent),
    `      containers:`,
    container('web', `registry.example.com/shop/web:1.4.${i % 10}`, ['  securityContext:', '    allowPrivilegeEscalation: false'], indent),
    container('sidecar', 'docker.io/envoyproxy/envoy:v1.31.0', ['  securityContext:', '    capabilities:', '      add: [NET_ADMIN]'], indent),
    `      volumes:`,
    `        - name: config`,
    `          configMap: {name: ${app}}`,
    `        - name: logs`,
    `          hostPath: {path: /var/log/shop}`,
    '',
  ].join('\n');
}

export const SIZES = [1, 100, 1000, 5000] as const;
export const DIRECTORY_SIZE = 1000;

/** Writes one-N.yaml for every size and dir-1000/ under `out`; returns nothing, replaces what was there. */
export function writeCorpus(out: string): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, `dir-${DIRECTORY_SIZE}`), { recursive: true });
  for (const n of SIZES) {
    const docs: string[] = [];
    for (let i = 0; i < n; i++) docs.push(deploymentYaml(i));
    writeFileSync(join(out, `one-${n}.yaml`), docs.join('---\n'));
  }
  for (let i = 0; i < DIRECTORY_SIZE; i++) {
    writeFileSync(join(out, `dir-${DIRECTORY_SIZE}`, `app-${String(i).padStart(4, '0')}.yaml`), deploymentYaml(i));
  }
}
