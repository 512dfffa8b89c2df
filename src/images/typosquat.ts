// Typosquat detection: an image name a few edits away from a well-known one, without being one or
// being its publisher's.
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
 * Who publishes a repository: its registry and every path segment but the last
 * (`gcr.io/distroless`, `docker.io/bitnami`). Only that publisher can push there, so its own
 * images are not look-alikes of each other. Docker Hub's official `library/` namespace is not one
 * publisher's: nobody pushes a look-alike there, so a name near an official one is a typo.
 */
function publisherOf(name: string): string | undefined {
  const publisher = name.slice(0, name.lastIndexOf('/'));
  return publisher === OFFICIAL_PUBLISHER ? undefined : publisher;
}

const OFFICIAL_PUBLISHER = `${DOCKER_HUB}/library`;

interface KnownRepository {
  /**
   * The whole names typosquats are measured on, registry host included, so that a mistyped host
   * counts (`dokcer.io/library/nginx`). An official image is also written `docker.io/nginx`,
   * which another host keeps as is (`dokcer.io/nginx` has no `library/`).
   */
  keys: string[];
  name: string;
  publisher: string | undefined;
}

function toKnown(ref: ImageReference): KnownRepository {
  const name = repositoryName(ref);
  const publisher = publisherOf(name);
  const keys = publisher === undefined ? [name, `${DOCKER_HUB}/${ref.repository.slice('library/'.length)}`] : [name];
  return { keys, name, publisher };
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
  /** Looks up the nearest well-known repository of a `registry/repository` name, memoized. */
  nearest(name: string): TyposquatMatch | undefined;
}

function buildIndex(policy: Policy): TyposquatIndex {
  const known = [...SHIPPED];
  for (const entry of policy.unverifiedImage.wellKnownImages) {
    // The policy loader accepts any non-empty string; an entry that is no image name names nothing.
    const parsed = parseImageReference(entry.trim());
    if (parsed.ok) known.push(toKnown(parsed.ref));
  }
  const names = new Set(known.map((k) => k.name));
  const maxDistance = policy.unverifiedImage.typosquatMaxDistance;
  return {
    nearest: memoize((name: string): TyposquatMatch | undefined => {
      if (maxDistance === 0 || names.has(name)) return undefined;
      const publisher = publisherOf(name);
      let best: TyposquatMatch | undefined;
      for (const candidate of known) {
        if (publisher !== undefined && candidate.publisher === publisher) continue;
        for (const key of candidate.keys) {
          const distance = editDistance(name, key, best ? best.distance - 1 : maxDistance);
          if (distance <= maxDistance && (!best || distance < best.distance)) best = { target: candidate.name, distance };
        }
        if (best?.distance === 1) break; // nothing but the name itself is nearer
      }
      return best;
    }),
  };
}

const indexes = new WeakMap<Policy, TyposquatIndex>();

/** The well-known repository `ref` imitates within the policy's edit distance, if any. */
export function findTyposquatTarget(ref: ImageReference, policy: Policy): TyposquatMatch | undefined {
  let index = indexes.get(policy);
  if (!index) {
    index = buildIndex(policy);
    indexes.set(policy, index);
  }
  return index.nearest(repositoryName(ref));
}
