// Checks that the fields gapguard reads have the types Kubernetes gives them, so that a manifest
// with `containers: "web"` or `privileged: "yes"` gets a clear error naming the field instead of a
// crash or a silent pass.
import { formatPath } from './paths.js';
import type { Segment } from './types.js';

export class ShapeError extends Error {
  constructor(
    readonly path: Segment[],
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${formatPath(path)}: expected ${expected}, got ${describe(got)}`);
    this.name = 'ShapeError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  // The type, never the value: a wrongly typed env value can be a secret, and errors are answered and logged.
  return `a ${typeof v}`;
}

type Kind = 'object' | 'array' | 'string' | 'boolean' | 'integer' | 'quantity';
type Schema = Kind | { [field: string]: Schema } | [Schema];

const caps: Schema = { add: ['string'], drop: ['string'] };
const containerSecurityContext: Schema = {
  privileged: 'boolean',
  allowPrivilegeEscalation: 'boolean',
  runAsNonRoot: 'boolean',
  runAsUser: 'integer',
  procMount: 'string',
  readOnlyRootFilesystem: 'boolean',
  capabilities: caps,
  seccompProfile: { type: 'string' },
  windowsOptions: { hostProcess: 'boolean', runAsUserName: 'string' },
};
const resources: Schema = {
  limits: { cpu: 'quantity', memory: 'quantity' },
  requests: { cpu: 'quantity', memory: 'quantity' },
};
const container: Schema = {
  name: 'string',
  image: 'string',
  securityContext: containerSecurityContext,
  env: [{ name: 'string', value: 'string', valueFrom: { secretKeyRef: { name: 'string', key: 'string' } } }],
  envFrom: [{ secretRef: { name: 'string' }, configMapRef: { name: 'string' }, prefix: 'string' }],
  ports: [{ containerPort: 'integer', hostPort: 'integer', protocol: 'string' }],
  resources,
  volumeMounts: [{ name: 'string', mountPath: 'string', readOnly: 'boolean' }],
};
const podSpec: Schema = {
  containers: [container],
  initContainers: [container],
  ephemeralContainers: [container],
  volumes: [{ name: 'string', hostPath: { path: 'string', type: 'string' } }],
  securityContext: {
    runAsNonRoot: 'boolean',
    runAsUser: 'integer',
    seccompProfile: { type: 'string' },
    windowsOptions: { hostProcess: 'boolean', runAsUserName: 'string' },
  },
  hostNetwork: 'boolean',
  hostPID: 'boolean',
  hostIPC: 'boolean',
  os: { name: 'string' },
  serviceAccountName: 'string',
  resources,
};

const containerStatus: Schema = {
  name: 'string',
  image: 'string',
  imageID: 'string',
  state: { running: { startedAt: 'string' } },
};
const podStatus: Schema = {
  initContainerStatuses: [containerStatus],
  containerStatuses: [containerStatus],
  ephemeralContainerStatuses: [containerStatus],
};

function check(value: unknown, schema: Schema, path: Segment[]): void {
  // null is how YAML spells an empty field; Kubernetes treats it as unset.
  if (value === null || value === undefined) return;
  if (typeof schema === 'string') {
    const ok =
      schema === 'object'
        ? typeof value === 'object' && !Array.isArray(value)
        : schema === 'array'
          ? Array.isArray(value)
          : schema === 'integer'
            ? Number.isInteger(value)
            : schema === 'quantity'
              ? typeof value === 'string' || typeof value === 'number'
              : typeof value === schema;
    if (!ok) throw new ShapeError([...path], schema === 'quantity' ? 'a quantity (string or number)' : `${article(schema)} ${schema}`, value);
    return;
  }
  if (Array.isArray(schema)) {
    if (!Array.isArray(value)) throw new ShapeError([...path], 'a list', value);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      check(value[i], schema[0], path);
      path.pop();
    }
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new ShapeError([...path], 'an object', value);
  for (const field in schema) {
    const v = (value as Record<string, unknown>)[field];
    if (v === undefined) continue;
    // The path is a stack shared by the walk: copied only when an error is thrown.
    path.push(field);
    check(v, schema[field]!, path);
    path.pop();
  }
}

function article(kind: string): string {
  return /^[aeiou]/.test(kind) ? 'an' : 'a';
}

/** Throws ShapeError naming the first field whose type is wrong. */
export function assertPodSpecShape(spec: unknown, path: readonly Segment[]): void {
  check(spec, podSpec, [...path]);
}

/** Throws ShapeError naming the first field of a Pod's status whose type is wrong. */
export function assertPodStatusShape(status: unknown, path: readonly Segment[]): void {
  check(status, podStatus, [...path]);
}
