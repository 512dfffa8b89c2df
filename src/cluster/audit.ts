// Judges a cluster snapshot with the same engine and policy as every other door, for
// `gapguard audit`. Two things only the cluster knows shape the verdicts:
// - NetworkPolicies were listed completely, so flat-network/no-network-policy is judged in every
//   namespace (an empty namespace is a finding; policies that could not be listed are unknown).
// - A Namespace labelled `gapguard.io/mode: off` is not judged, as at admission; the mode of the
//   others is reported next to each object.
// Objects owned by a controller that is itself in the audit (a Deployment's ReplicaSets, their
// Pods) report only the findings their owner does not have, so one gap in a template is one
// finding, not one per replica; what is new in the Pod (an injected sidecar, an ephemeral
// container, a changed image, a long-running container) is still reported on the Pod.
import { modeOfLabel, NAMESPACE_MODE_LABEL, type AdmissionMode } from '../admission/admit.js';
import { placeOf } from '../admission/place.js';
import { evaluate } from '../engine/engine.js';
import type { EvalContext, Finding, ObjectResult } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import { factsFrom, noteMissingFacts, type ImageLookups } from '../registry/lookups.js';
import { at, InputError, isObject, locatePodTarget, objectName, podImages, type KubeObject } from '../workloads/locate.js';
import { formatPath } from '../workloads/paths.js';
import { ShapeError } from '../workloads/shape.js';
import type { SkippedObject } from '../cli/evaluate-sources.js';
import type { InputProblem } from '../cli/input.js';
import type { ReportedObject } from '../cli/report.js';
import type { ClusterSnapshot } from './read.js';
import { share } from './shared-strings.js';

export interface AuditOptions {
  policy: Policy;
  /** Registry facts for the workloads' images (--resolve-images); without them no image has facts. */
  imageLookups?: ImageLookups;
  now: Date;
  /** `cluster:<context>`: the source every object is reported with. */
  source: string;
  /**
   * Results of objects judged before under the same policy, NetworkPolicies, image facts and
   * clock (the background audit keeps one between runs and drops it when any of those change).
   */
  cache?: WeakMap<KubeObject, ObjectResult>;
  /** Called between objects: the background audit gives the event loop back there (slices.ts). */
  pause?: () => Promise<void>;
}

export interface AuditOutcome {
  evaluated: ReportedObject[];
  skipped: SkippedObject[];
  problems: InputProblem[];
  /** Things worth saying that are not findings (a mistyped mode label). */
  warnings: string[];
}

interface Judged {
  obj: KubeObject;
  result: ObjectResult;
  mode: AdmissionMode;
}

function describe(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${String(obj.kind)} ${typeof ns === 'string' && ns ? `${ns}/` : ''}${objectName(obj)}`;
}

/** The uid of the controller that owns obj, when it has one. */
function controllerUid(obj: KubeObject): string | undefined {
  const refs = (obj.metadata as { ownerReferences?: unknown } | undefined)?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ref = refs.find((r) => isObject(r) && r.controller === true);
  return isObject(ref) && typeof ref.uid === 'string' ? ref.uid : undefined;
}

/**
 * The identity of a finding of obj relative to its pod template, with containers by name: the same
 * gap in a Deployment's template and in the Pod made from it has the same key. The template is
 * located once per object, not once per finding.
 */
function templateKeyOf(obj: KubeObject): (f: Finding) => string {
  const templatePath = locatePodTarget(obj, '')!.specPath.slice(0, -1);
  const template = at(obj, templatePath);
  return (f) => {
    const inTemplate = templatePath.every((seg, i) => f.segments[i] === seg);
    if (!inTemplate) return `${f.rule}|${f.path}`;
    const segments = f.segments.slice(templatePath.length);
    return placeOf(template, { ...f, path: formatPath(segments), segments }).identity;
  };
}

export async function auditSnapshot(snapshot: ClusterSnapshot, options: AuditOptions): Promise<AuditOutcome> {
  const { policy, source } = options;
  const ctx: EvalContext = {
    policy,
    now: options.now,
    networkPolicies: (ns) => (snapshot.networkPolicies ? (snapshot.networkPolicies.get(ns) ?? []) : undefined),
    imageFacts: options.imageLookups ? factsFrom(options.imageLookups) : () => undefined,
  };
  const outcome: AuditOutcome = { evaluated: [], skipped: [], problems: snapshot.problems.map((message) => ({ source, message })), warnings: [] };

  const modes = new Map<string, AdmissionMode>();
  for (const [name, labels] of snapshot.namespaceLabels ?? []) {
    const label = labels[NAMESPACE_MODE_LABEL];
    const labelled = modeOfLabel(label);
    if (label !== undefined && labelled === undefined) {
      outcome.warnings.push(`namespace "${name}": label ${NAMESPACE_MODE_LABEL}=${JSON.stringify(label)} ignored (expected enforce, audit or off); using the policy's mode ${policy.mode}`);
    }
    modes.set(name, labelled ?? policy.mode);
  }

  const judged = new Map<string, Judged>();
  const order: Judged[] = [];
  for (const obj of snapshot.workloads) {
    await options.pause?.();
    const namespace = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
    const mode = modes.get(namespace) ?? policy.mode;
    if (mode === 'off') {
      outcome.skipped.push({ source, kind: String(obj.kind), name: objectName(obj), reason: `namespace "${namespace}" is labelled ${NAMESPACE_MODE_LABEL}=off` });
      continue;
    }
    try {
      const cached = options.cache?.get(obj);
      let result = cached ?? evaluate(obj, ctx, { defaultNamespace: namespace, patch: false });
      if (!result) continue;
      if (!cached && options.imageLookups) noteMissingFacts(result, podImages(obj), options.imageLookups);
      // Kept across runs: its messages and remedies shared with the other objects' (shared-strings.ts).
      if (!cached && options.cache) {
        result = share(result) as ObjectResult;
        options.cache.set(obj, result);
      }
      const entry = { obj, result, mode };
      order.push(entry);
      const uid = (obj.metadata as { uid?: unknown } | undefined)?.uid;
      if (typeof uid === 'string') judged.set(uid, entry);
    } catch (err) {
      if (!(err instanceof InputError || err instanceof ShapeError)) throw err;
      outcome.problems.push({ source, message: `${describe(obj)}: ${err.message}` });
    }
  }

  // An owner's keys serve all of its replicas.
  const ownerKeys = new Map<Judged, Set<string>>();
  for (const { obj, result, mode } of order) {
    await options.pause?.();
    const ownerUid = controllerUid(obj);
    const owner = ownerUid === undefined ? undefined : judged.get(ownerUid);
    if (!owner) {
      outcome.evaluated.push({ source, result, mode });
      continue;
    }
    let shared = ownerKeys.get(owner);
    if (!shared) {
      shared = new Set(owner.result.findings.map(templateKeyOf(owner.obj)));
      ownerKeys.set(owner, shared);
    }
    const keyOf = templateKeyOf(obj);
    const own = result.findings.filter((f) => !shared.has(keyOf(f)));
    const ownerName = describe(owner.obj);
    if (own.length === 0) {
      outcome.skipped.push({ source, kind: result.kind, name: result.name, reason: `same findings as its owner ${ownerName}, reported there` });
      continue;
    }
    const dropped = result.findings.length - own.length;
    const notes = dropped ? [...result.notes, `${dropped} finding(s) it shares with its owner ${ownerName} are reported there`] : result.notes;
    outcome.evaluated.push({ source, result: { ...result, findings: own, notes }, mode });
  }
  return outcome;
}
