// What the background audit keeps of each object: the fields the engine and the owner dedup read,
// nothing else, so that its caches grow with the pod specs and not with what the API server adds
// around them (managedFields, the last-applied annotation that repeats the whole object, status
// conditions, probes). bench/README.md has the bytes per Pod this keeps.
//
// Kept: metadata name, generateName, namespace, uid, labels (NetworkPolicy selectors) and the
// controller's ownerReference (dedup); the pod template (a controller's) or the pod spec (a Pod's),
// minus the container fields no gap reads (probes, lifecycle, termination message settings) and the
// pod fields none reads (affinity, tolerations, topology, readiness gates, DNS, host aliases); from
// a Pod's status, each container status's name, imageID and state.running.startedAt
// (stale-image/long-running). A NetworkPolicy keeps its spec; a Namespace its name and labels.
// The kept spec, labels and status share their strings with every other object's
// (shared-strings.ts): 3.7 → 2.1-2.5 KB per bench Pod held (bench/README.md).
import { at, CONTAINER_LISTS, CONTAINER_STATUS_LISTS, isObject, podTemplatePath, type KubeObject } from '../workloads/locate.js';
import type { Segment } from '../workloads/types.js';
import { share } from './shared-strings.js';

const UNREAD_POD_FIELDS = ['affinity', 'tolerations', 'topologySpreadConstraints', 'readinessGates', 'dnsConfig', 'hostAliases', 'schedulingGates', 'resourceClaims'];
const UNREAD_CONTAINER_FIELDS = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'resizePolicy'];

function trimMetadata(meta: unknown): Record<string, unknown> {
  if (!isObject(meta)) return {};
  const out: Record<string, unknown> = {};
  // Names and uids are unique to each object: only the rest is shared.
  for (const key of ['name', 'generateName', 'uid'] as const) if (meta[key] !== undefined) out[key] = meta[key];
  for (const key of ['namespace', 'labels'] as const) if (meta[key] !== undefined) out[key] = share(meta[key]);
  if (Array.isArray(meta.ownerReferences)) {
    const controller = meta.ownerReferences.filter((r) => isObject(r) && r.controller === true).map((r) => ({ kind: r.kind, name: r.name, uid: r.uid, controller: true }));
    if (controller.length) out.ownerReferences = controller;
  }
  return out;
}

function trimPodSpec(spec: unknown): unknown {
  if (!isObject(spec)) return spec;
  const out: Record<string, unknown> = { ...spec };
  for (const f of UNREAD_POD_FIELDS) delete out[f];
  for (const list of CONTAINER_LISTS) {
    const containers = out[list];
    if (!Array.isArray(containers)) continue;
    out[list] = containers.map((c) => {
      if (!isObject(c)) return c;
      const copy = { ...c };
      for (const f of UNREAD_CONTAINER_FIELDS) delete copy[f];
      return copy;
    });
  }
  return out;
}

function trimTemplate(template: unknown): unknown {
  if (!isObject(template)) return template;
  const meta = isObject(template.metadata) && template.metadata.labels !== undefined ? { labels: template.metadata.labels } : {};
  return { metadata: meta, spec: trimPodSpec(template.spec) };
}

function trimPodStatus(status: unknown): unknown {
  if (!isObject(status)) return undefined;
  const out: Record<string, unknown> = {};
  for (const list of CONTAINER_STATUS_LISTS) {
    const statuses = status[list];
    if (!Array.isArray(statuses)) continue;
    out[list] = statuses.map((s) => {
      if (!isObject(s)) return s;
      const running = isObject(s.state) && isObject(s.state.running) ? { running: { startedAt: s.state.running.startedAt } } : {};
      return { name: s.name, imageID: s.imageID, state: running };
    });
  }
  return out;
}

/** value placed at path: nest(['spec', 'template'], t) is { spec: { template: t } }. */
function nest(path: readonly Segment[], value: unknown): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), value as Record<string, unknown>);
}

/** The part of obj the background audit keeps; kind and apiVersion as given (list items carry none). */
export function trimObject(obj: KubeObject, kind: string, apiVersion: string): KubeObject {
  const base: KubeObject = { apiVersion, kind, metadata: trimMetadata(obj.metadata) };
  if (kind === 'Pod') {
    const status = trimPodStatus(obj.status);
    return { ...base, spec: share(trimPodSpec(obj.spec)), ...(status ? { status: share(status) } : {}) };
  }
  if (kind === 'NetworkPolicy') return { ...base, spec: share(obj.spec) };
  // Every controller kind keeps its pod template where the engine looks for it (locate.ts's table).
  const templatePath = podTemplatePath(kind);
  return templatePath ? { ...base, ...nest(templatePath, share(trimTemplate(at(obj, templatePath)))) } : base;
}
