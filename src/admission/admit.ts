// From an AdmissionRequest to an AdmissionResponse: which mode applies, whether the object is
// judged at all, and what /validate (deny and warn) or /mutate (patch) answers. The engine does the
// judging; this module only decides what the answer says about its findings.
import type { Operation as PatchOperation } from 'fast-json-patch';
import { evaluate } from '../engine/engine.js';
import type { EvalContext, GapId, NetworkPolicyLike } from '../engine/types.js';
import type { Policy, ReviewLimits } from '../policy/types.js';
import { factsFrom, missingFactsNote, pinsTags, type ImageLookups } from '../registry/lookups.js';
import { JUDGED_KINDS, isObject, objectName, objectNamespace, podImages, type KubeObject } from '../workloads/locate.js';
import { AUDIT_WOULD_DENY, AUDIT_WOULD_PATCH, capWarnings, denyMessage, EXISTING_ON_UPDATE, shortWarning, warningText, type PlacedFinding } from './messages.js';
import { overLimit } from './limits.js';
import { placeOf } from './place.js';
import { BadReviewError, describe } from './review.js';
import type { AdmissionRequest, AdmissionResponse } from './types.js';

export type Endpoint = 'validate' | 'mutate';
export type AdmissionMode = 'enforce' | 'audit' | 'off';
/** What happened to a request, as metrics and logs report it. */
export type Decision = 'allow' | 'warn' | 'deny' | 'patch' | 'audit' | 'skip';
/** What happened to one finding: denied, warned about, reported as what enforce would do, patched. */
export type FindingOutcome = 'deny' | 'warn' | 'audit' | 'patch';

export const NAMESPACE_MODE_LABEL = 'gapguard.io/mode';
const ADMISSION_MODES: ReadonlySet<string> = new Set<AdmissionMode>(['enforce', 'audit', 'off']);

/** The mode a `gapguard.io/mode` label value names; undefined for an absent or mistyped label. */
export function modeOfLabel(value: string | undefined): AdmissionMode | undefined {
  return value !== undefined && ADMISSION_MODES.has(value) ? (value as AdmissionMode) : undefined;
}

/** What the answer depends on besides the request: the policy and the cluster's state. */
export interface AdmissionSources {
  readonly policy: Policy;
  /** The namespace's `gapguard.io/mode` label, when the namespace is known and the label valid. */
  namespaceMode(namespace: string): AdmissionMode | undefined;
  /** Whether namespaceMode answers from state in sync with the cluster (always, without a cluster). */
  namespacesKnown(): boolean;
  /** The namespace's NetworkPolicies, or undefined while they are unknown. */
  networkPolicies(namespace: string): readonly NetworkPolicyLike[] | undefined;
}

/**
 * What the route a request came to says about its mode: `enforce` (the chart's enforce webhooks:
 * always enforce), `audit` (an /audit route or `?mode=audit`: never deny or patch), or undefined
 * (the namespace label, else the policy's mode).
 */
export type RouteMode = 'enforce' | 'audit' | undefined;

export interface AdmitOptions {
  route: RouteMode;
  now: Date;
  /** Registry facts fetched for the request's images; without them no image has facts. */
  imageLookups?: ImageLookups;
}

export interface RecordedFinding {
  gap: GapId;
  rule: string;
  path: string;
  outcome: FindingOutcome;
}

export interface AdmissionOutcome {
  response: AdmissionResponse;
  decision: Decision;
  mode: AdmissionMode;
  namespace: string;
  name: string;
  findings: RecordedFinding[];
  /** Why the request was allowed without being judged. */
  skipped?: string;
  /** The review limit the object passed, when it was not judged for that. */
  overLimit?: string;
  /** How the registry lookups of the request's images went, when there were any. */
  imageLookups?: ImageLookups;
}

/** A request that will be judged: what was decided about it before the evaluation. */
export interface AdmissionSubject {
  request: AdmissionRequest;
  object: KubeObject;
  namespace: string;
  name: string;
  mode: Exclude<AdmissionMode, 'off'>;
  gvk: string;
}

// Kinds are looked up with their API group so that a custom resource that happens to be called
// Job or Pod is not judged as one.
const JUDGED_GROUPS: ReadonlySet<string> = new Set(['', 'apps', 'batch']);
const JUDGED: ReadonlySet<string> = new Set(JUDGED_KINDS);
// pods/ephemeralcontainers is how `kubectl debug` adds containers to a running pod.
const JUDGED_SUBRESOURCES: ReadonlySet<string> = new Set(['', 'ephemeralcontainers']);

/** The mode a namespace's requests are judged in cannot be known: the cluster view is not in sync. */
export class ModeUnknownError extends Error {
  constructor(namespace: string) {
    super(`the mode of namespace ${namespace} is unknown until the cluster view is in sync; the enforce and audit routes do not need it`);
    this.name = 'ModeUnknownError';
  }
}

function resolveMode(sources: AdmissionSources, namespace: string, route: RouteMode): AdmissionMode {
  // The kube-apiserver picked the enforce route from the namespace's live labels: no cache can
  // know better, and an unsynced or stale one must never turn that decision into an allow.
  if (route === 'enforce') return 'enforce';
  if (!sources.namespacesKnown()) {
    if (route === 'audit') return 'audit';
    // A label could only lower an enforcing policy; under an auditing one it might raise it to enforce.
    if (sources.policy.mode === 'enforce') return 'enforce';
    throw new ModeUnknownError(namespace);
  }
  const mode = sources.namespaceMode(namespace) ?? sources.policy.mode;
  return route === 'audit' && mode === 'enforce' ? 'audit' : mode;
}

/**
 * Identities of the findings the object had before an UPDATE. An old object the engine cannot
 * read counts as having none, so every finding of the new object is judged as new.
 */
function previousIdentities(oldObject: unknown, ctx: EvalContext, namespace: string): Set<string> {
  // An old object past the limits is not evaluated: every finding of the new one is new.
  if (!isObject(oldObject) || overLimit(oldObject as KubeObject, ctx.policy.limits) !== undefined) return new Set();
  try {
    const old = evaluate(oldObject as KubeObject, ctx, { defaultNamespace: namespace, patch: false });
    return new Set(old?.findings.map((f) => placeOf(oldObject, f).identity));
  } catch {
    return new Set();
  }
}

function annotations(decision: Decision, findings: readonly PlacedFinding[]): Record<string, string> {
  const gaps = [...new Set(findings.map((p) => p.finding.gap))];
  return gaps.length ? { decision, gaps: gaps.join(',') } : { decision };
}

/**
 * On UPDATE only containers with a new fixable finding are patched: patching what was already
 * there would roll out every legacy Deployment on a label change, and the API server rejects
 * changes to a running Pod's containers.
 */
function patchForNewFindings(patch: readonly PatchOperation[], patchable: readonly PlacedFinding[]): PatchOperation[] {
  const pointers = [...new Set(patchable.map((p) => p.place.containerPointer).filter((p) => p !== undefined))];
  return patch.filter((op) => pointers.some((ptr) => op.path === ptr || op.path.startsWith(`${ptr}/`)));
}

function record(p: PlacedFinding, outcome: FindingOutcome): RecordedFinding {
  return { gap: p.finding.gap, rule: p.finding.rule, path: p.finding.path, outcome };
}

type Answer = Pick<AdmissionOutcome, 'response' | 'decision' | 'findings' | 'overLimit'>;

function validate(placed: readonly PlacedFinding[], isNew: (p: PlacedFinding) => boolean, mode: AdmissionMode, subject: string, uid: string, notes: string[], limits: ReviewLimits): Answer {
  const denied: PlacedFinding[] = [];
  const warnings: string[] = [];
  const findings: RecordedFinding[] = [];
  for (const p of placed) {
    const denies = p.finding.action === 'deny' && isNew(p);
    let outcome: FindingOutcome;
    if (denies && mode === 'enforce') {
      denied.push(p);
      outcome = 'deny';
    } else if (mode === 'audit' && p.finding.fixable && isNew(p)) {
      // Enforce's mutating call would fix it before validation: say so here, so that audit needs
      // no mutating call of its own (one webhook call per request instead of two).
      warnings.push(warningText(AUDIT_WOULD_PATCH, p));
      outcome = 'audit';
    } else if (denies) {
      warnings.push(warningText(AUDIT_WOULD_DENY, p));
      outcome = 'audit';
    } else {
      warnings.push(warningText(p.finding.action === 'deny' ? EXISTING_ON_UPDATE : '', p));
      outcome = 'warn';
    }
    findings.push(record(p, outcome));
  }
  const decision: Decision = denied.length ? 'deny' : findings.some((f) => f.outcome === 'audit') ? 'audit' : warnings.length ? 'warn' : 'allow';
  const response: AdmissionResponse = { uid, allowed: denied.length === 0, auditAnnotations: annotations(decision, placed) };
  if (denied.length) response.status = { code: 403, reason: 'Forbidden', message: denyMessage(subject, denied, limits) };
  // Notes (images without registry facts) are said, but are not findings: they change no decision.
  warnings.push(...notes);
  if (warnings.length) response.warnings = capWarnings(warnings);
  return { response, decision, findings };
}

function mutate(placed: readonly PlacedFinding[], isNew: (p: PlacedFinding) => boolean, patch: readonly PatchOperation[], isUpdate: boolean, mode: AdmissionMode, subject: string, uid: string, limits: ReviewLimits): Answer {
  const patchable = placed.filter((p) => p.finding.fixable && isNew(p));
  const response: AdmissionResponse = { uid, allowed: true };
  if (mode === 'audit') {
    const decision: Decision = patchable.length ? 'audit' : 'allow';
    if (patchable.length) response.warnings = capWarnings(patchable.map((p) => warningText(AUDIT_WOULD_PATCH, p)));
    response.auditAnnotations = annotations(decision, patchable);
    return { response, decision, findings: patchable.map((p) => record(p, 'audit')) };
  }
  const ops = isUpdate ? patchForNewFindings(patch, patchable) : patch;
  const decision: Decision = ops.length ? 'patch' : 'allow';
  if (ops.length) {
    const text = JSON.stringify(ops);
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.maxPatchBytes) return notJudged(`its JSON Patch of ${bytes} bytes is more than limits.maxPatchBytes (${limits.maxPatchBytes}) allows`, 'enforce', subject, uid);
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(text).toString('base64');
  }
  response.auditAnnotations = annotations(decision, ops.length ? patchable : []);
  return { response, decision, findings: ops.length ? patchable.map((p) => record(p, 'patch')) : [] };
}

/**
 * The answer for an object gapguard will not judge whole because it passes a review limit:
 * enforce denies naming the limit, audit allows and says so.
 */
function notJudged(reason: string, mode: Exclude<AdmissionMode, 'off'>, subject: string, uid: string): Answer {
  const annotations = { decision: mode === 'enforce' ? 'deny' : 'audit', limit: reason };
  const response: AdmissionResponse =
    mode === 'enforce'
      ? { uid, allowed: false, auditAnnotations: annotations, status: { code: 403, reason: 'Forbidden', message: `gapguard denied ${subject}: not judged, ${reason}` } }
      : { uid, allowed: true, auditAnnotations: annotations, warnings: [shortWarning(`${AUDIT_WOULD_DENY}not judged, ${reason}`)] };
  return { response, decision: mode === 'enforce' ? 'deny' : 'audit', findings: [], overLimit: reason };
}

function skipped(uid: string, mode: AdmissionMode, namespace: string, name: string, reason: string): AdmissionOutcome {
  return { response: { uid, allowed: true }, decision: 'skip', mode, namespace, name, findings: [], skipped: reason };
}

/**
 * Decides whether a request is judged: the answer for a request that is not, else the subject to
 * judge. Throws BadReviewError for a judged request without a usable object.
 */
export function admissionSubject(request: AdmissionRequest, sources: AdmissionSources, route: RouteMode): AdmissionOutcome | AdmissionSubject {
  const { uid, operation, kind } = request;
  const namespace = request.namespace || objectNamespace(request.object) || 'default';
  const name = request.name || (isObject(request.object) ? objectName(request.object as KubeObject) : '');
  const mode = resolveMode(sources, namespace, route);
  const skip = (reason: string) => skipped(uid, mode, namespace, name, reason);

  if (operation !== 'CREATE' && operation !== 'UPDATE') return skip(`${operation} is not judged`);
  const subResource = request.subResource ?? '';
  if (!JUDGED_SUBRESOURCES.has(subResource)) return skip(`subresource ${subResource} is not judged`);
  const gvk = `${kind.group ? `${kind.group}/` : ''}${kind.version}/${kind.kind}`;
  if (!JUDGED_GROUPS.has(kind.group) || !JUDGED.has(kind.kind)) return skip(`kind ${gvk} carries no pod spec`);
  if (mode === 'off') return skip(`mode is off for namespace ${namespace}`);

  const object = request.object;
  if (!isObject(object)) throw new BadReviewError(`request.object must be the ${kind.kind} for ${operation}`);
  if (object.kind !== kind.kind) {
    throw new BadReviewError(`request.object.kind must match request.kind.kind "${kind.kind}", got ${typeof object.kind === 'string' ? 'another kind' : describe(object.kind)}`);
  }
  return { request, object: object as KubeObject, namespace, name, mode, gvk };
}

export function isSubject(s: AdmissionOutcome | AdmissionSubject): s is AdmissionSubject {
  return 'object' in s;
}

/** The images a subject's evaluation may ask registry facts for: the new object's and, on UPDATE, the old one's. */
export function subjectImages(subject: AdmissionSubject): string[] {
  return [...podImages(subject.object), ...podImages(subject.request.oldObject)];
}

/** Judges a subject. Throws the engine's InputError or ShapeError for an object of the wrong shape. */
export function judge(endpoint: Endpoint, subject: AdmissionSubject, sources: AdmissionSources, options: Omit<AdmitOptions, 'route'>): AdmissionOutcome {
  const { request, object, namespace, name, mode, gvk } = subject;
  const limits = sources.policy.limits;
  const over = overLimit(object, limits);
  if (over) return outcomeOf(notJudged(over, mode, `${request.kind.kind} ${namespace}/${name}`, request.uid), mode, namespace, name);
  const lookups = options.imageLookups;
  const ctx: EvalContext = {
    policy: sources.policy,
    now: options.now,
    networkPolicies: (ns) => sources.networkPolicies(ns),
    // Unknown image facts are not findings: without a lookup, stale-image and the pin fix stay quiet.
    imageFacts: lookups ? factsFrom(lookups) : () => undefined,
    // With lookups on, a version tag is pinned by /mutate, or denied when its registry did not resolve it.
    admissionPinning: lookups !== undefined && pinsTags(sources.policy),
  };
  // /validate never sends a patch: it does not compute one.
  const result = evaluate(object, ctx, { defaultNamespace: namespace, patch: endpoint === 'mutate' });
  if (!result) return skipped(request.uid, mode, namespace, name, `kind ${gvk} carries no pod spec`);

  const known = request.operation === 'UPDATE' ? previousIdentities(request.oldObject, ctx, namespace) : undefined;
  const placed = result.findings.map((finding) => ({ finding, place: placeOf(object, finding) }));
  const isNew = (p: PlacedFinding): boolean => known === undefined || !known.has(p.place.identity);
  const notes = lookups ? [...lookups].map(([image, lookup]) => missingFactsNote(image, lookup)).filter((n) => n !== undefined) : [];
  const subjectName = `${request.kind.kind} ${namespace}/${result.name || name}`;
  const answer =
    endpoint === 'validate'
      ? validate(placed, isNew, mode, subjectName, request.uid, notes, limits)
      : mutate(placed, isNew, result.patch, known !== undefined, mode, subjectName, request.uid, limits);
  const outcome = outcomeOf(answer, mode, namespace, result.name || name);
  if (lookups?.size) outcome.imageLookups = lookups;
  return outcome;
}

/**
 * The answer with what was decided about its subject. Written out rather than spread: on Node 20 a
 * spread of the answer took about a tenth of judging the benchmark's review.
 */
function outcomeOf(answer: Answer, mode: AdmissionMode, namespace: string, name: string): AdmissionOutcome {
  const outcome: AdmissionOutcome = { response: answer.response, decision: answer.decision, mode, namespace, name, findings: answer.findings };
  if (answer.overLimit !== undefined) outcome.overLimit = answer.overLimit;
  return outcome;
}

/**
 * Answers one admission request with the facts already at hand. Throws ModeUnknownError when the
 * route leaves the mode to a namespace label that cannot be known yet, BadReviewError for a judged
 * request without a usable object, and the engine's InputError or ShapeError for an object of the
 * wrong shape.
 */
export function admit(endpoint: Endpoint, request: AdmissionRequest, sources: AdmissionSources, options: AdmitOptions): AdmissionOutcome {
  const subject = admissionSubject(request, sources, options.route);
  return isSubject(subject) ? judge(endpoint, subject, sources, options) : subject;
}
