// The input limits of one admission review (policy `limits`). The kube-apiserver accepts bodies up
// to 3 MB, enough for 50,000 containers or 50,000 environment variables: judged whole, such an
// object held the event loop for seconds and the process's memory past its limit. The lists are
// counted before anything else is done with the object, and counting stops at the first limit
// passed, so the cost of the check is bounded by the limits too.
import type { ReviewLimits } from '../policy/types.js';
import { CONTAINER_LISTS, CONTAINER_STATUS_LISTS, isObject, podTemplateLabels, rawPodSpec, type KubeObject } from '../workloads/locate.js';

function lengthOf(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function passed(count: number, what: string, limit: keyof ReviewLimits, limits: ReviewLimits): string | undefined {
  return count > limits[limit] ? `${count} ${what}, more than limits.${limit} (${limits[limit]}) allows` : undefined;
}

/** Fields of free text that no check reads: an inline script in `args` may well be long. */
function freeText(key: string): boolean {
  // A switch, not a Set: the walk asks for every key of the spec, and a Set lookup was a third of it.
  switch (key) {
    case 'command':
    case 'args':
    case 'lifecycle':
    case 'livenessProbe':
    case 'readinessProbe':
    case 'startupProbe':
      return true;
    default:
      return false;
  }
}

/**
 * Whether a node under `key` could pass a limit or counts towards one once popped from the walk's
 * stack. Most nodes are short strings, numbers and booleans: not pushing them spares three pushes
 * and pops each, and as nothing is reported about them, the first limit passed stays the same.
 */
function mayPass(node: unknown, key: string, envEntry: boolean, limits: ReviewLimits): boolean {
  if (typeof node !== 'string') return typeof node === 'object' && node !== null;
  if (envEntry && key === 'value') return true;
  return node.length > (envEntry && key === 'name' ? limits.maxEnvNameLength : limits.maxStringLength);
}

/**
 * The first string of the pod spec, or key or value of the pod's labels, longer than the limits
 * allow (env names and values have their own limits: values hold certificates and JSON documents,
and are scanned for credential formats, a name is split into words), as a sentence
 * that names the field but never shows the string. One pass with its own stack: no recursion that
 * a deeply nested body could overflow.
 */
function longString(spec: Record<string, unknown>, labels: unknown, limits: ReviewLimits): string | undefined {
  // The stack as three parallel arrays: one walk per review, with no object allocated per node.
  const nodes: unknown[] = [spec];
  const keys: string[] = ['spec'];
  const inEnv: boolean[] = [false];
  if (isObject(labels)) {
    const count = Object.keys(labels).length;
    if (count > limits.maxLabels) return `${count} labels, more than limits.maxLabels (${limits.maxLabels}) allows`;
    nodes.push(labels);
    keys.push('labels');
    inEnv.push(false);
  }
  // Every env value is scanned for credential formats: their total is what costs.
  let envValues = 0;
  while (nodes.length) {
    const node = nodes.pop();
    const key = keys.pop()!;
    const envEntry = inEnv.pop()!;
    if (typeof node === 'string') {
      if (envEntry && key === 'value') {
        envValues += node.length;
        if (envValues > limits.maxEnvValuesLength) return `env values of more than ${limits.maxEnvValuesLength} characters together, more than limits.maxEnvValuesLength allows`;
        continue;
      }
      const envName = envEntry && key === 'name';
      const max = envName ? limits.maxEnvNameLength : limits.maxStringLength;
      if (node.length > max) return `a string of ${node.length} characters in a field "${key.slice(0, 40)}", more than limits.${envName ? 'maxEnvNameLength' : 'maxStringLength'} (${max}) allows`;
    } else if (Array.isArray(node)) {
      const itemsInEnv = key === 'env';
      for (const item of node) {
        if (!mayPass(item, key, itemsInEnv, limits)) continue;
        nodes.push(item);
        keys.push(key);
        inEnv.push(itemsInEnv);
      }
    } else if (isObject(node)) {
      // for-in rather than Object.keys: V8 reads node[k] through the object's own key cache, where
      // Object.keys would leave a lookup across every object shape of the review (a third of the walk).
      // A parsed review has no inherited enumerable keys, so both list the same keys in the same order.
      for (const k in node) {
        if (k.length > limits.maxStringLength) return `a field name of ${k.length} characters, more than limits.maxStringLength (${limits.maxStringLength}) allows`;
        if (freeText(k)) continue;
        const v = node[k];
        if (!mayPass(v, k, envEntry, limits)) continue;
        nodes.push(v);
        keys.push(k);
        inEnv.push(envEntry);
      }
    }
  }
  return undefined;
}

/**
 * The first input limit the object passes, as a sentence naming the limit, or undefined when it
 * stays within all of them (or has no pod spec: evaluation reports that).
 */
export function overLimit(object: KubeObject, limits: ReviewLimits): string | undefined {
  const spec = rawPodSpec(object);
  if (!isObject(spec)) return undefined;
  const status = object.kind === 'Pod' && isObject(object.status) ? object.status : {};
  const containerLists = CONTAINER_LISTS.map((list) => spec[list]);
  const containers = containerLists.reduce((n: number, list) => n + lengthOf(list), 0);
  const statuses = CONTAINER_STATUS_LISTS.reduce((n, list) => n + lengthOf(status[list]), 0);
  const tooMany =
    passed(containers, 'containers', 'maxContainers', limits) ??
    passed(statuses, 'container statuses', 'maxContainers', limits) ??
    passed(lengthOf(spec.volumes), 'volumes', 'maxVolumes', limits);
  if (tooMany) return tooMany;
  // Within maxContainers: counting their lists is bounded work.
  let env = 0;
  let entries = 0;
  for (const list of containerLists) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c)) continue;
      env += lengthOf(c.env) + lengthOf(c.envFrom);
      entries += lengthOf(c.ports) + lengthOf(c.volumeMounts);
      const sc = c.securityContext;
      const caps = isObject(sc) ? sc.capabilities : undefined;
      if (isObject(caps)) entries += lengthOf(caps.add) + lengthOf(caps.drop);
    }
  }
  return (
    passed(env, 'env and envFrom entries', 'maxEnvEntries', limits) ??
    passed(entries, 'ports, volumeMounts and capabilities entries', 'maxContainerListEntries', limits) ??
    longString(spec, podTemplateLabels(object), limits)
  );
}
