// Shared test helpers: the repository root, contexts on the default policy, YAML fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EvalContext, ImageFacts, NetworkPolicyLike } from '../src/engine/types.js';
import { expect } from 'chai';
import { defaultPolicy, parsePolicy, PolicyError } from '../src/policy/load.js';
import type { Policy } from '../src/policy/types.js';
import type { KubeObject } from '../src/workloads/locate.js';
import { readKubeYaml } from '../src/yaml/fast.js';

/** Repository root, from dist/test/helpers.js. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface ContextOptions {
  policy?: Policy;
  networkPolicies?: Record<string, NetworkPolicyLike[]>;
  images?: Record<string, ImageFacts>;
  now?: Date;
}

export function makeContext(opts: ContextOptions = {}): EvalContext {
  return {
    policy: opts.policy ?? defaultPolicy(),
    now: opts.now ?? new Date(),
    networkPolicies: (ns) => opts.networkPolicies?.[ns],
    imageFacts: (image) => opts.images?.[image],
  };
}

/** The default policy merged with a YAML overlay. */
export function policyWith(yamlText: string): Policy {
  return parsePolicy(yamlText, 'test-policy.yaml');
}

/** The PolicyError a policy text is refused with (fails the test when it is accepted). */
export function policyErrorOf(text: string): PolicyError {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    expect(err).to.be.instanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('expected a PolicyError');
}

/** Every document of a YAML file (path relative to the repository root, or absolute), read as kubectl reads it. */
export function readYamlDocs(file: string): KubeObject[] {
  const path = file.startsWith('/') ? file : `${repoRoot}${file}`;
  return readKubeYaml(readFileSync(path, 'utf8')).filter((d): d is KubeObject => d !== null && d !== undefined);
}

/** What a promise is rejected with, or undefined when it resolves. */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

/**
 * One test per [pattern, image, expected] case of an image-pattern matcher: the policy's
 * exemptions and signature requirements both match images as parsed references (engine/match.ts).
 */
export function itMatchesImagePatterns(cases: readonly [string, string, boolean][], matches: (pattern: string, image: string) => boolean, title: (pattern: string, image: string, expected: boolean) => string): void {
  for (const [pattern, image, expected] of cases) {
    it(title(pattern, image, expected), () => expect(matches(pattern, image)).to.equal(expected));
  }
}
