// Typosquat detection: a repository a few edits away from a well-known one, without being one.
// The well-known list ships as data (data/well-known-images.txt), read once when the module loads,
// and policies add their own entries. Distances are memoized per repository, so the scan of the
// list runs once per new name, not once per pod.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoize } from '../memo.js';
import { packageRoot } from '../paths.js';
import type { Policy } from '../policy/types.js';
import { DOCKER_HUB, parseImageReference, repositoryName, type ImageReference } from './reference.js';

export const WELL_KNOWN_IMAGES_FILE = join(packageRoot, 'data', 'well-known-images.txt');

/** Names whose last path component is shorter than this are not judged: too many neighbours. */
const MIN_NAME_LENGTH = 4;

export interface TyposquatMatch {
  /** The well-known repository imitated, as `registry/repository`. */
  target: string;
  distance: number;
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions and transpositions of
 * adjacent characters), computed only up to `max`: anything further returns `max + 1`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const width = b.length + 1;
  let before = new Uint16Array(width);
  let previous = new Uint16Array(width);
  let current = new Uint16Array(width);
  for (let j = 0; j < width; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j < width; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        d = Math.min(d, before[j - 2]! + 1);
      }
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    // Every later row is at least this row's minimum: stop as soon as nothing can come back in range.
    if (rowMin > max) return max + 1;
    const recycled = before;
    before = previous;
    previous = current;
    current = recycled;
  }
  return Math.min(previous[b.length]!, max + 1);
}

/**
 * What typosquats are measured on. Docker Hub names compare by repository path (`library/nginx`),
 * since a squatter there picks a look-alike path; other names compare with their registry
 * (`quay.io/prometheus/prometheus`), so `quay.io/...` never looks like a Docker Hub name.
 */
function comparisonKey(ref: ImageReference): string {
  return ref.registry === DOCKER_HUB ? ref.repository : `${ref.registry}/${ref.repository}`;
}

interface KnownRepository {
  key: string;
  name: string;
}

function toKnown(ref: ImageReference): KnownRepository {
  return { key: comparisonKey(ref), name: repositoryName(ref) };
}

function loadShippedList(file: string): KnownRepository[] {
  const known: KnownRepository[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, '').trim();
    if (!line) continue;
    const parsed = parseImageReference(line);
    if (!parsed.ok || parsed.ref.tag !== undefined || parsed.ref.digest !== undefined) {
      const why = parsed.ok ? 'a tag or digest does not belong in the list' : parsed.problem;
      throw new Error(`${file}:${i + 1}: "${line}" is not a repository name (${why})`);
    }
    known.push(toKnown(parsed.ref));
  }
  return known;
}

const SHIPPED = loadShippedList(WELL_KNOWN_IMAGES_FILE);

interface TyposquatIndex {
  /** Looks up the nearest well-known repository of a comparison key, memoized. */
  nearest(key: string): TyposquatMatch | undefined;
}

function buildIndex(policy: Policy): TyposquatIndex {
  const known = [...SHIPPED];
  for (const entry of policy.unverifiedImage.wellKnownImages) {
    // The policy loader accepts any non-empty string; an entry that is no image name names nothing.
    const parsed = parseImageReference(entry.trim());
    if (parsed.ok) known.push(toKnown(parsed.ref));
  }
  const keys = new Set(known.map((k) => k.key));
  const maxDistance = policy.unverifiedImage.typosquatMaxDistance;
  return {
    nearest: memoize((key: string): TyposquatMatch | undefined => {
      if (maxDistance === 0 || keys.has(key)) return undefined;
      let best: TyposquatMatch | undefined;
      for (const candidate of known) {
        const distance = editDistance(key, candidate.key, best ? best.distance - 1 : maxDistance);
        if (distance <= maxDistance && (!best || distance < best.distance)) {
          best = { target: candidate.name, distance };
          if (distance === 1) break; // nothing but the name itself is nearer
        }
      }
      return best;
    }),
  };
}

const indexes = new WeakMap<Policy, TyposquatIndex>();

/** The well-known repository `ref` imitates within the policy's edit distance, if any. */
export function findTyposquatTarget(ref: ImageReference, policy: Policy): TyposquatMatch | undefined {
  const lastComponent = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  if (lastComponent.length < MIN_NAME_LENGTH) return undefined;
  let index = indexes.get(policy);
  if (!index) {
    index = buildIndex(policy);
    indexes.set(policy, index);
  }
  return index.nearest(comparisonKey(ref));
}
