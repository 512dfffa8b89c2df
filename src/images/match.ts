// Image patterns matched against parsed references, never against the raw text: `nginx`,
// `docker.io/library/nginx` and `index.docker.io/library/nginx:1.27@sha256:...` are one repository,
// and `registry.example.com.evil.io/shop/api` is not under `registry.example.com/shop`.
// A pattern is `[registry/]repository` with globs: `*` stays inside one path segment, `**` spans
// any number of segments (`registry.example.com/shop/**`). Tags and digests are not part of it.
import { parseImageReference, type ImageReference } from './reference.js';

export interface ImagePattern {
  /** The pattern as written, for messages. */
  readonly text: string;
  matches(ref: ImageReference): boolean;
}

function segmentGlob(glob: string): string {
  return glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
}

/**
 * Compiles an image pattern; returns the problem when it is not one. The registry part follows the
 * reference rules (a first segment with a `.` or `:`, or `localhost`, is a registry; none means
 * docker.io, where a single name lives under `library/`), so a pattern means what an image would.
 */
export function compileImagePattern(text: string): ImagePattern | string {
  const trimmed = text.trim();
  if (trimmed === '') return 'is empty';
  if (/[@]/.test(trimmed)) return 'must not carry a digest: a pattern names repositories';
  // Parse with every glob replaced by a placeholder segment character, so the reference grammar
  // decides where the registry ends; then put the globs back.
  const placeholder = trimmed.replace(/\*\*/g, 'zzglobstarzz').replace(/\*/g, 'zzglobzz');
  const lastSlash = placeholder.lastIndexOf('/');
  if (placeholder.lastIndexOf(':') > lastSlash) return 'must not carry a tag: a pattern names repositories';
  const parsed = parseImageReference(placeholder);
  if (!parsed.ok) return `is not an image repository: ${parsed.problem}`;
  const restore = (s: string) => s.replace(/zzglobstarzz/g, '**').replace(/zzglobzz/g, '*');
  const registry = restore(parsed.ref.registry).toLowerCase();
  const repository = restore(parsed.ref.repository);
  const registryRe = new RegExp(`^${segmentGlob(registry)}$`);
  const repositoryRe = new RegExp(`^${segmentGlob(repository)}$`);
  return {
    text: trimmed,
    matches: (ref) => registryRe.test(ref.registry.toLowerCase()) && repositoryRe.test(ref.repository),
  };
}
