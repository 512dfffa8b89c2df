// Runs the engine over parsed sources, the part `scan` and `fix` share. NetworkPolicies found in
// the input are the flat-network context: a namespace is judged only when its policies appear in
// the input, or every namespace when the user says the input is complete.
import { evaluate } from '../engine/engine.js';
import type { EvalContext, ImageFacts, NetworkPolicyLike, ObjectResult } from '../engine/types.js';
import { isKubernetesNetworkPolicy } from '../gaps/flat-network.js';
import type { Policy } from '../policy/types.js';
import { InputError, objectName, objectNamespace } from '../workloads/locate.js';
import { ShapeError } from '../workloads/shape.js';
import { lineOf, type InputProblem, type LocatedObject, type SourceDocument } from './input.js';

export interface ScanOptions {
  policy: Policy;
  defaultNamespace: string;
  inputComplete: boolean;
  /** Compute each object's fixes as a JSON Patch (fix needs them; scan does not). */
  patch: boolean;
  /** Registry facts fetched for the input's images (--resolve-images); without them no image has facts. */
  imageFacts?: (image: string) => ImageFacts | undefined;
  /** Adds to a result what is missing of the registry facts of its object's images (--resolve-images). */
  noteMissingFacts?: (result: ObjectResult, located: LocatedObject) => void;
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

/** Where judged objects go as they are judged: straight to a report, or collected (fix). */
export interface ScanSink {
  evaluated(e: EvaluatedObject): void;
  skipped(s: SkippedObject): void;
}

/** The NetworkPolicies of the input by namespace: the flat-network context of every object. */
export function networkPoliciesOf(documents: Iterable<SourceDocument>, defaultNamespace: string): Map<string, NetworkPolicyLike[]> {
  const policiesByNamespace = new Map<string, NetworkPolicyLike[]>();
  for (const doc of documents) {
    for (const { object } of doc.objects) {
      if (!isKubernetesNetworkPolicy(object)) continue;
      const ns = objectNamespace(object) ?? defaultNamespace;
      const list = policiesByNamespace.get(ns) ?? [];
      list.push(object as NetworkPolicyLike);
      policiesByNamespace.set(ns, list);
    }
  }
  return policiesByNamespace;
}

/** Judges every object of the documents, in order, handing each to the sink. */
export function evaluateSources(
  documents: Iterable<SourceDocument>,
  policiesByNamespace: ReadonlyMap<string, NetworkPolicyLike[]>,
  options: ScanOptions,
  problems: InputProblem[],
  sink: ScanSink,
): void {
  const ctx: EvalContext = {
    policy: options.policy,
    now: new Date(),
    networkPolicies: (ns) => policiesByNamespace.get(ns) ?? (options.inputComplete ? [] : undefined),
    imageFacts: options.imageFacts ?? (() => undefined),
  };
  for (const document of documents) {
    const file = document.file;
    for (const located of document.objects) {
      const source = `${file.name}:${located.line}`;
      const kind = typeof located.object.kind === 'string' ? located.object.kind : '';
      try {
        const result = evaluate(located.object, ctx, { defaultNamespace: options.defaultNamespace, patch: options.patch });
        if (result) options.noteMissingFacts?.(result, located);
        if (result) sink.evaluated({ document, located, result, source });
        else sink.skipped({ source, kind, name: objectName(located.object), reason: kind ? `kind ${kind} carries no pod spec` : 'no kind: not a Kubernetes object' });
      } catch (err) {
        if (!(err instanceof InputError || err instanceof ShapeError)) throw err;
        const at = err instanceof ShapeError ? `${file.name}:${lineOf(document, [...located.base, ...err.path])}` : source;
        problems.push({ source: at, message: `${kind || 'object'} ${objectName(located.object) || '(unnamed)'}: ${err.message}` });
      }
    }
  }
}
