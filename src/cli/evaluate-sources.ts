// Runs the engine over parsed sources, the part `scan` and `fix` share. NetworkPolicies found in
// the input are the flat-network context: a namespace is judged only when its policies appear in
// the input, or every namespace when the user says the input is complete.
import { evaluate } from '../engine/engine.js';
import type { EvalContext, NetworkPolicyLike, ObjectResult } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { factsFrom, noteMissingFacts, type ImageLookups } from '../registry/lookups.js';
import { InputError, objectName, objectNamespace } from '../workloads/locate.js';
import { ShapeError } from '../workloads/shape.js';
import { lineOf, type InputProblem, type LocatedObject, type SourceDocument, type SourceFile } from './input.js';

export interface ScanOptions {
  policy: Policy;
  defaultNamespace: string;
  inputComplete: boolean;
  /** Registry facts fetched for the input's images (--resolve-images); without them no image has facts. */
  imageLookups?: ImageLookups;
}

export interface EvaluatedObject {
  document: SourceDocument;
  located: LocatedObject;
  result: ObjectResult;
  /** `file:line` of the object. */
  source: string;
}

export interface SkippedObject {
  source: string;
  kind: string;
  name: string;
  reason: string;
}

export interface ScanOutcome {
  evaluated: EvaluatedObject[];
  skipped: SkippedObject[];
  problems: InputProblem[];
}

export function evaluateSources(files: readonly SourceFile[], options: ScanOptions, problems: InputProblem[]): ScanOutcome {
  const policiesByNamespace = new Map<string, NetworkPolicyLike[]>();
  for (const file of files) {
    for (const doc of file.documents) {
      for (const { object } of doc.objects) {
        if (object.kind !== 'NetworkPolicy') continue;
        const ns = objectNamespace(object) ?? options.defaultNamespace;
        const list = policiesByNamespace.get(ns) ?? [];
        list.push(object as NetworkPolicyLike);
        policiesByNamespace.set(ns, list);
      }
    }
  }
  const ctx: EvalContext = {
    policy: options.policy,
    now: new Date(),
    networkPolicies: (ns) => policiesByNamespace.get(ns) ?? (options.inputComplete ? [] : undefined),
    imageFacts: options.imageLookups ? factsFrom(options.imageLookups) : () => undefined,
  };
  const lookups = options.imageLookups;

  const evaluated: EvaluatedObject[] = [];
  const skipped: SkippedObject[] = [];
  for (const file of files) {
    for (const document of file.documents) {
      for (const located of document.objects) {
        const source = `${file.name}:${located.line}`;
        const kind = typeof located.object.kind === 'string' ? located.object.kind : '';
        try {
          const result = evaluate(located.object, ctx, { defaultNamespace: options.defaultNamespace });
          if (result && lookups) noteMissingFacts(result, located.object, lookups);
          if (result) evaluated.push({ document, located, result, source });
          else skipped.push({ source, kind, name: objectName(located.object), reason: kind ? `kind ${kind} carries no pod spec` : 'no kind: not a Kubernetes object' });
        } catch (err) {
          if (!(err instanceof InputError || err instanceof ShapeError)) throw err;
          const at = err instanceof ShapeError ? `${file.name}:${lineOf(document, [...located.base, ...err.path])}` : source;
          problems.push({ source: at, message: `${kind || 'object'} ${objectName(located.object) || '(unnamed)'}: ${err.message}` });
        }
      }
    }
  }
  return { evaluated, skipped, problems };
}
