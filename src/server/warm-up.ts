// Judges built-in sample reviews before the server listens. V8 optimizes code after it has run
// often, not after a while: at the few admissions a second of a quiet cluster, a replica would take
// many minutes of real calls to get there, and until then every call runs the judging path cold
// (bench/README.md, "Pod startup"). The samples go the way a real request does, from the review's
// text to the answer's, with the policy in force; they touch no metric and write no log line.
import { admit, type AdmissionSources, type Endpoint } from '../admission/admit.js';
import { parseReview } from '../admission/review.js';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../admission/types.js';

/** A Pod that passes the default policy, and one with a gap of nearly every kind (denials, warnings, a patch). */
const SAMPLE_PODS: readonly Record<string, unknown>[] = [
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'warm-up-clean', labels: { app: 'warm-up' } },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'app',
        image: `registry.example/app:1.0@sha256:${'0'.repeat(64)}`,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
        volumeMounts: [{ name: 'token', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
      }],
      volumes: [{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'warm-up-gaps' },
    spec: {
      hostNetwork: true,
      containers: [{
        name: 'app',
        image: 'app:latest',
        env: [{ name: 'DB_PASSWORD', value: 'not-a-secret' }],
        securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN'] } },
        volumeMounts: [{ name: 'docker', mountPath: '/var/run/docker.sock' }, { name: 'etc', mountPath: '/host/etc' }],
      }],
      volumes: [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }, { name: 'etc', hostPath: { path: '/etc' } }],
    },
  },
];

const REVIEWS = SAMPLE_PODS.map((pod, i) =>
  JSON.stringify({
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_KIND,
    request: {
      uid: `00000000-0000-4000-8000-00000000000${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'gapguard-warm-up',
      operation: 'CREATE',
      userInfo: { username: 'gapguard:warm-up' },
      object: pod,
    },
  }),
);

const ENDPOINTS: readonly Endpoint[] = ['mutate', 'validate'];

/**
 * What `gapguard serve` judges at startup: 4 judgements a round, 0.07 to 0.3 s by the load. In one process
 * judging the bench's Pod, the first judgement took 5 to 8 ms cold and 0.5 to 1.6 ms after this
 * warm-up, the next hundred 0.1 to 0.3 ms against 0.04 to 0.25 (bench/README.md, "Pod startup").
 */
export const WARM_UP_ROUNDS = 200;

/** Judges every sample `rounds` times on both endpoints in enforce (the fuller path). Returns the judgements made. */
export function warmUp(sources: AdmissionSources, rounds: number): number {
  let judged = 0;
  for (let round = 0; round < rounds; round++) {
    for (const review of REVIEWS) {
      for (const endpoint of ENDPOINTS) {
        const outcome = admit(endpoint, parseReview(review), sources, { route: 'enforce', now: new Date() });
        JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response: outcome.response });
        judged++;
      }
    }
  }
  return judged;
}
