// Finds every pod spec in an object: a Pod's own spec, the template of every controller kind, the
// job template of a CronJob. Skipping a controller kind is a known bypass of admission tools, so the
// table below lists every kind that carries a pod template.
import { assertPodSpecShape, assertPodStatusShape, ShapeError } from './shape.js';
import type { ContainerList, ContainerRef, ContainerStatus, PodSpec, PodTarget, Segment, StatusRef } from './types.js';

/**
 * Path from the object root to the pod metadata and spec, per kind. A Map, not an object literal:
 * a document whose kind is `constructor` or `toString` must not find Object.prototype's members.
 */
const POD_TEMPLATE_PATHS: ReadonlyMap<string, Segment[]> = new Map([
  ['Pod', []],
  ['PodTemplate', ['template']],
  ['Deployment', ['spec', 'template']],
  ['ReplicaSet', ['spec', 'template']],
  ['StatefulSet', ['spec', 'template']],
  ['DaemonSet', ['spec', 'template']],
  ['Job', ['spec', 'template']],
  ['ReplicationController', ['spec', 'template']],
  ['CronJob', ['spec', 'jobTemplate', 'spec', 'template']],
]);

export const JUDGED_KINDS: readonly string[] = [...POD_TEMPLATE_PATHS.keys()];

/** The pod spec's container lists, in the order their findings are reported. */
export const CONTAINER_LISTS: readonly ContainerList[] = ['initContainers', 'containers', 'ephemeralContainers'];

/** Where a Pod's status reports on each container list. */
const STATUS_LISTS: Record<ContainerList, string> = {
  initContainers: 'initContainerStatuses',
  containers: 'containerStatuses',
  ephemeralContainers: 'ephemeralContainerStatuses',
};

/** A Pod's status fields that report on its container lists, in the same order. */
export const CONTAINER_STATUS_LISTS: readonly string[] = CONTAINER_LISTS.map((list) => STATUS_LISTS[list]);

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; generateName?: unknown; namespace?: unknown; labels?: unknown };
  [field: string]: unknown;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at `path` inside `obj`, or undefined where the path leaves the object. */
export function at(obj: unknown, path: readonly Segment[]): unknown {
  let node = obj;
  for (const seg of path) {
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** The object's `metadata.namespace`, when it is a non-empty string. */
export function objectNamespace(obj: unknown): string | undefined {
  const meta = isObject(obj) ? obj.metadata : undefined;
  const namespace = isObject(meta) ? meta.namespace : undefined;
  return typeof namespace === 'string' && namespace ? namespace : undefined;
}

export function objectName(obj: KubeObject): string {
  const m = obj.metadata;
  if (isObject(m)) {
    if (typeof m.name === 'string' && m.name) return m.name;
    if (typeof m.generateName === 'string' && m.generateName) return `${m.generateName}*`;
  }
  return '';
}

/** A Pod's container statuses, each paired with the spec container of the same name in its list. */
function containerStatuses(status: unknown, containers: readonly ContainerRef[]): StatusRef[] {
  if (status === undefined || status === null) return [];
  assertPodStatusShape(status, ['status']);
  const refs: StatusRef[] = [];
  for (const list of CONTAINER_LISTS) {
    const field = STATUS_LISTS[list];
    const items = (status as Record<string, ContainerStatus[] | undefined>)[field];
    if (!items) continue;
    items.forEach((s, index) => {
      if (!isObject(s)) return;
      const name = typeof s.name === 'string' ? s.name : `${field}[${index}]`;
      const container = containers.find((c) => c.list === list && c.name === name);
      refs.push({ status: s, path: ['status', field, index], name, ...(container ? { container } : {}) });
    });
  }
  return refs;
}

/** Where a kind carries its pod template (metadata and spec): [] for a Pod; undefined for a kind that carries none. */
export function podTemplatePath(kind: unknown): readonly Segment[] | undefined {
  return typeof kind === 'string' ? POD_TEMPLATE_PATHS.get(kind) : undefined;
}

function templatePathOf(obj: KubeObject): readonly Segment[] | undefined {
  return podTemplatePath(obj.kind);
}

/** The pod spec of a judged kind as it is, before any shape check; undefined for other kinds. */
export function rawPodSpec(obj: KubeObject): unknown {
  const templatePath = templatePathOf(obj);
  return templatePath && at(obj, [...templatePath, 'spec']);
}

/** The labels of a judged kind's pods as they are (what NetworkPolicies select them by); undefined for other kinds. */
export function podTemplateLabels(obj: KubeObject): unknown {
  const templatePath = templatePathOf(obj);
  return templatePath && at(obj, [...templatePath, 'metadata', 'labels']);
}

/**
 * The pod spec of an object (every judged kind carries exactly one), or null when its kind carries none.
 * Throws InputError when a judged kind lacks its spec or has fields of the wrong type.
 */
export function locatePodTarget(obj: KubeObject, defaultNamespace: string): PodTarget | null {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const templatePath = POD_TEMPLATE_PATHS.get(kind);
  if (!templatePath) return null;
  const template = at(obj, templatePath);
  const specPath = [...templatePath, 'spec'];
  const spec = at(obj, specPath);
  if (!isObject(spec)) {
    throw new InputError(`${kind} has no pod spec at ${specPath.join('.')}`);
  }
  assertPodSpecShape(spec, specPath);
  const podSpec = spec as PodSpec;
  const namespace = objectNamespace(obj) ?? defaultNamespace;
  const templateMeta = isObject(template) ? (template as KubeObject).metadata : undefined;
  const containers: ContainerRef[] = [];
  for (const list of CONTAINER_LISTS) {
    const items = podSpec[list];
    if (!items) continue;
    for (let index = 0; index < items.length; index++) {
      const container = items[index];
      if (!isObject(container)) continue;
      containers.push({
        container,
        list,
        index,
        path: [...specPath, list, index],
        name: typeof container.name === 'string' ? container.name : `${list}[${index}]`,
      });
    }
  }
  return {
    spec: podSpec,
    specPath,
    statuses: kind === 'Pod' ? containerStatuses(obj.status, containers) : [],
    labels: stringMap(isObject(templateMeta) ? templateMeta.labels : undefined),
    namespace,
    workloadName: objectName(obj),
    serviceAccount: podSpec.serviceAccountName || 'default',
    containers,
    windows: podSpec.os?.name === 'windows',
  };
}

/**
 * The images of every container of an object's pod spec, for registry lookups before evaluation.
 * None for kinds without a pod spec and for malformed objects: evaluation reports those.
 */
export function podImages(obj: unknown): string[] {
  if (!isObject(obj)) return [];
  try {
    const images: string[] = [];
    for (const c of locatePodTarget(obj as KubeObject, 'default')?.containers ?? []) {
      if (c.container.image) images.push(c.container.image);
    }
    return images;
  } catch (err) {
    if (err instanceof InputError || err instanceof ShapeError) return [];
    throw err;
  }
}
