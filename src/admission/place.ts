// Where a finding sits in the object: which container (by name, as people know it), which field.
// The name-based identity lets an UPDATE that reorders or inserts containers keep recognising the
// findings that were already there.
import type { Finding } from '../engine/types.js';
import { at, CONTAINER_LISTS, isObject } from '../workloads/locate.js';
import { formatPath, toPointer } from '../workloads/paths.js';
import type { Segment } from '../workloads/types.js';

const CONTAINER_LIST_NAMES: ReadonlySet<Segment> = new Set(CONTAINER_LISTS);

export interface FindingPlace {
  /** The container's name, when the finding is about one container. */
  container?: string;
  /** JSON Pointer of that container, e.g. `/spec/containers/0`. */
  containerPointer?: string;
  /** The field inside the container, or the whole path for a pod-level finding. */
  field: string;
  /** gap, rule and path with the container index replaced by the container's name. */
  identity: string;
}

export function placeOf(obj: unknown, finding: Pick<Finding, 'gap' | 'rule' | 'path' | 'segments'>): FindingPlace {
  const path = finding.segments;
  let listAt = -1;
  for (let i = path.length - 2; i >= 0; i--) {
    if (CONTAINER_LIST_NAMES.has(path[i]!) && typeof path[i + 1] === 'number') {
      listAt = i;
      break;
    }
  }
  if (listAt < 0) return { field: finding.path, identity: `${finding.gap}|${finding.rule}|${finding.path}` };
  const containerPath = path.slice(0, listAt + 2);
  const named = at(obj, containerPath);
  const name = isObject(named) && typeof named.name === 'string' ? named.name : `#${String(path[listAt + 1])}`;
  const field = formatPath(path.slice(listAt + 2));
  return {
    container: name,
    containerPointer: toPointer(containerPath),
    field,
    identity: `${finding.gap}|${finding.rule}|${formatPath(path.slice(0, listAt + 1))}[${JSON.stringify(name)}].${field}`,
  };
}
