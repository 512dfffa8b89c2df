// Label selectors as Kubernetes evaluates them (metav1.LabelSelector). Selectors reach gapguard
// from files and the cluster unvalidated, so a malformed one is read the way the API server would
// treat it: it would have been rejected, so it selects nothing.
import { isObject } from './locate.js';

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  // Own properties only: a selector key such as `constructor` must not find Object.prototype.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

function requirementHolds(requirement: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(requirement) || typeof requirement.key !== 'string') return false;
  const value = labelValue(labels, requirement.key);
  const values = requirement.values ?? [];
  if (!stringList(values)) return false;
  switch (requirement.operator) {
    case 'In':
      return values.length > 0 && value !== undefined && values.includes(value);
    case 'NotIn':
      return values.length > 0 && (value === undefined || !values.includes(value));
    case 'Exists':
      return values.length === 0 && value !== undefined;
    case 'DoesNotExist':
      return values.length === 0 && value === undefined;
    default:
      return false;
  }
}

/**
 * Whether `selector` selects an object with `labels`: every matchLabels pair and every
 * matchExpressions requirement (In, NotIn, Exists, DoesNotExist) must hold. An empty selector
 * selects everything; a malformed one selects nothing.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(selector)) return false;
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObject(matchLabels)) return false;
    for (const key in matchLabels) {
      const wanted = matchLabels[key];
      if (typeof wanted !== 'string' || labelValue(labels, key) !== wanted) return false;
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return false;
    for (const requirement of matchExpressions) if (!requirementHolds(requirement, labels)) return false;
  }
  return true;
}
