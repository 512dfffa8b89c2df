// Engine throughput: evaluations per second of a realistic three-container Deployment with every
// gap on and fixes computed. Run on one core (bench/engine.sh pins it with taskset); prints the
// median of several timed runs after a warm-up.
import { evaluate } from '../src/engine/engine.js';
import type { EvalContext, NetworkPolicyLike } from '../src/engine/types.js';
import { defaultPolicy } from '../src/policy/load.js';
import type { KubeObject } from '../src/workloads/locate.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 2000);

function container(name: string, image: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    image,
    ports: [{ containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_HOST', value: 'postgres.db.svc' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'CONFIG_FILE', value: '/etc/app/config.yaml' },
    ],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
    ...extra,
  };
}

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'shop', namespace: 'prod', labels: { app: 'shop' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'shop' } },
    template: {
      metadata: { labels: { app: 'shop', tier: 'web' } },
      spec: {
        serviceAccountName: 'shop',
        securityContext: { runAsNonRoot: true },
        initContainers: [container('migrate', 'registry.example.com/shop/migrate:1.4.2')],
        containers: [
          container('web', 'registry.example.com/shop/web:1.4.2', { securityContext: { allowPrivilegeEscalation: false } }),
          container('sidecar', 'docker.io/envoyproxy/envoy:v1.31.0', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }),
        ],
        volumes: [{ name: 'config', configMap: { name: 'shop' } }, { name: 'logs', hostPath: { path: '/var/log/shop' } }],
      },
    },
  },
};

const networkPolicies: NetworkPolicyLike[] = [
  { metadata: { name: 'default-deny', namespace: 'prod' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
];
const created = new Date(Date.now() - 120 * 86_400_000);
const ctx: EvalContext = {
  policy: defaultPolicy(),
  now: new Date(),
  networkPolicies: (ns) => (ns === 'prod' ? networkPolicies : undefined),
  imageFacts: () => ({ digest: 'sha256:' + 'ab'.repeat(32), created }),
};

function timedRun(): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(RUN_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) evaluate(deployment, ctx);
    n += 1000;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const sample = evaluate(deployment, ctx)!;
console.log(`findings per evaluation: ${sample.findings.length}, patch operations: ${sample.patch.length}`);
timedRun(); // warm-up: let the JIT settle
const rates: number[] = [];
for (let i = 0; i < RUNS; i++) rates.push(timedRun());
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
console.log(`runs (evaluations/s): ${rates.map((r) => Math.round(r)).join(', ')}`);
console.log(`median: ${Math.round(median)} evaluations/s (${(1e6 / median).toFixed(1)} µs each); target 50000`);
