// Matching of the policy's exemption patterns. Globs are matched without regular expressions: a
// pattern compiled to `^a.*b.*c$` backtracks, and took seconds on a long image string. Here each
// literal piece between stars is found once, left to right, so a match costs one pass over the value.
// Images are matched as parsed references, never as raw strings: `nginx*` on the raw string
// would exempt `nginx.evil.example/payload`, an image from another registry.
import { nameOf, parseImageReference, splitReference } from '../images/reference.js';

/** Whether `value` matches `pattern`, where `*` matches any run of characters, none included. */
export function globMatch(pattern: string, value: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return pattern === value;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  // The leftmost place of each middle piece leaves the most room for the rest: no backtracking needed.
  let from = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const found = value.indexOf(piece, from);
    if (found < 0 || found + piece.length > end) return false;
    from = found + piece.length;
  }
  return true;
}

interface ImagePattern {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

/** An image pattern split and named like a reference (images/reference.ts), stars kept. */
function parsePattern(pattern: string): ImagePattern {
  const parts = splitReference(pattern);
  return { ...nameOf(parts), tag: parts.tag, digest: parts.digest };
}

const patterns = new Map<string, ImagePattern>();

/**
 * Whether an image matches an exemption's image pattern. `*` alone matches every image; otherwise
 * registry, repository, tag and digest are matched each on its own, a part the pattern leaves out
 * matching anything. An image that does not parse matches nothing.
 */
export function imageMatch(pattern: string, image: string): boolean {
  if (pattern === '*') return true;
  const parsed = parseImageReference(image);
  if (!parsed.ok) return false;
  let p = patterns.get(pattern);
  if (!p) {
    p = parsePattern(pattern);
    patterns.set(pattern, p);
  }
  const ref = parsed.ref;
  // The runtimes pull `latest` for a reference with neither tag nor digest.
  const tag = ref.tag ?? (ref.digest === undefined ? 'latest' : undefined);
  return (
    globMatch(p.registry, ref.registry) &&
    globMatch(p.repository, ref.repository) &&
    (p.tag === undefined || (tag !== undefined && globMatch(p.tag, tag))) &&
    (p.digest === undefined || (ref.digest !== undefined && globMatch(p.digest, ref.digest)))
  );
}
