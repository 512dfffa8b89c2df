// What the background audit keeps of an object (cluster/trim.ts) must be judged exactly as the whole
// object: the same findings, paths, messages and notes, for every kind that carries a pod template.
// Inputs: Kubernetes' Pod Security fixtures and generated workloads, each wrapped in every judged
// kind and given what the API server adds around a spec (managedFields, the last-applied
// annotation, probes, scheduling fields, status conditions), which trimming drops.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { trimObject } from '../../src/cluster/trim.js';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { sampleWorkloads } from '../generators/pods.js';
import { makeContext, readYamlDocs, repoRoot } from '../helpers.js';

type Json = Record<string, unknown>;

/** Where each kind carries its pod (metadata and spec), as the Kubernetes API defines it. */
const KINDS: [kind: string, apiVersion: string, wrap: (pod: Json) => Json][] = [
  ['Pod', 'v1', (pod) => pod],
  ['PodTemplate', 'v1', (pod) => ({ template: pod })],
  ['Deployment', 'apps/v1', (pod) => ({ spec: { replicas: 2, template: pod } })],
  ['ReplicaSet', 'apps/v1', (pod) => ({ spec: { replicas: 2, template: pod } })],
  ['StatefulSet', 'apps/v1', (pod) => ({ spec: { serviceName: 'db', template: pod } })],
  ['DaemonSet', 'apps/v1', (pod) => ({ spec: { template: pod } })],
  ['Job', 'batch/v1', (pod) => ({ spec: { backoffLimit: 1, template: pod } })],
  ['ReplicationController', 'v1', (pod) => ({ spec: { replicas: 1, template: pod } })],
  ['CronJob', 'batch/v1', (pod) => ({ spec: { schedule: '@daily', jobTemplate: { spec: { template: pod } } } })],
];

const PROBE = { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 };

/** The pod as the API server returns it: extra fields nothing judges, on the pod and every container. */
function asServed(metadata: Json, spec: Json): Json {
  const containers = (spec.containers as Json[] | undefined)?.map((c) => ({ ...c, livenessProbe: PROBE, readinessProbe: PROBE, terminationMessagePath: '/dev/termination-log' }));
  return {
    metadata: { ...metadata, labels: { app: 'web', ...(metadata.labels as Json) }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(spec) } },
    spec: { ...spec, ...(containers ? { containers } : {}), tolerations: [{ key: 'dedicated', operator: 'Exists' }], affinity: { nodeAffinity: {} }, dnsConfig: { options: [{ name: 'ndots', value: '2' }] } },
  };
}

function wrapped(kind: string, apiVersion: string, wrap: (pod: Json) => Json, source: KubeObject): KubeObject {
  const podSpec = (source.kind === 'Pod' ? source.spec : (source.spec as Json).template && ((source.spec as Json).template as Json).spec) as Json;
  const pod = asServed({ name: 'web', namespace: 'shop' }, podSpec);
  const body = wrap(pod);
  const metadata = { name: 'web', namespace: 'shop', uid: 'u-1', managedFields: [{ manager: 'kubectl', operation: 'Apply' }], ...(kind === 'Pod' ? (pod.metadata as Json) : {}) };
  const status = kind === 'Pod' ? { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [] } : { observedGeneration: 1 };
  return { apiVersion, kind, ...body, metadata, status } as KubeObject;
}

/** What the audit reports of a result; the patch is admission's and is not kept. */
function verdict(obj: KubeObject): unknown {
  const result = evaluate(obj, makeContext({ now: new Date('2026-11-30T00:00:00Z') }));
  return result && { kind: result.kind, namespace: result.namespace, name: result.name, findings: result.findings, notes: result.notes };
}

describe('cluster/trim: what the background audit keeps is judged as the whole object', () => {
  const psaDir = join(repoRoot, 'test', 'conformance', 'psa');
  const sources: [string, KubeObject][] = [
    ...['pass', 'fail'].flatMap((dir) => readdirSync(join(psaDir, dir)).map((f): [string, KubeObject] => [`psa/${dir}/${f}`, readYamlDocs(join(psaDir, dir, f))[0]!])),
    ...sampleWorkloads(60, 4242).map((w, i): [string, KubeObject] => [`generated ${i} (${w.kind})`, w]),
  ];

  for (const [kind, apiVersion, wrap] of KINDS) {
    it(`${kind}: the same findings and notes for ${sources.length} pods`, () => {
      let judged = 0;
      for (const [name, source] of sources) {
        const whole = wrapped(kind, apiVersion, wrap, source);
        const kept = trimObject(whole, kind, apiVersion);
        expect(JSON.stringify(kept).length, `${name}: trimming keeps less`).to.be.below(JSON.stringify(whole).length);
        const expected = verdict(whole);
        expect(verdict(kept), name).to.deep.equal(expected);
        if ((expected as { findings: unknown[] } | null)?.findings.length) judged++;
      }
      expect(judged, 'pods with findings among the inputs').to.be.greaterThan(sources.length / 2);
    });
  }
});
