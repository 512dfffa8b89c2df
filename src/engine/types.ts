// Public vocabulary of the engine: gap ids, findings, and the context every check receives.
import type { Operation } from 'fast-json-patch';
import type { Policy } from '../policy/types.js';
import type { ImageVerification } from '../signatures/types.js';
import type { ContainerRef, PodTarget, Segment } from '../workloads/types.js';

export const GAP_IDS = [
  'docker-socket',
  'privileged',
  'run-as-root',
  'env-secrets',
  'unverified-image',
  'flat-network',
  'resource-limits',
  'stale-image',
] as const;
export type GapId = (typeof GAP_IDS)[number];

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Action = 'deny' | 'warn' | 'off';

/** A fix is expressed as intents; buildPatch turns them into RFC 6902 operations on the original. */
export type FixIntent =
  /** Set a value only where the author set none (absent or null). */
  | { op: 'set-if-absent'; path: Segment[]; value: unknown }
  /** Append to an array, creating it when absent. */
  | { op: 'append'; path: Segment[]; value: unknown }
  /** Replace an author's value; only for fixes the gap model allows (digest pinning, a limit of zero). */
  | { op: 'replace'; path: Segment[]; value: unknown };

/** What a check reports; the engine adds the policy's action and whether the fix is enabled. */
export interface CheckFinding {
  gap: GapId;
  rule: string;
  severity: Severity;
  path: Segment[];
  message: string;
  remediation: string;
  fix?: FixIntent[];
  /** The container the finding is about, when it is about one (used by exemptions on images). */
  container?: ContainerRef;
  /** A few words the one-line admission answer adds to the rule and place (`built 412 days ago`). */
  detail?: string;
  /** The policy's deny becomes a warning for this finding (a version tag nothing will pin, by default). */
  warnOnly?: boolean;
}

export interface Finding {
  gap: GapId;
  rule: string;
  severity: Severity;
  action: Exclude<Action, 'off'>;
  /** Where in the object, as people read it (`spec.containers[0].image`). */
  path: string;
  /** The same place as segments, for code (so `path` is never parsed back). */
  segments: readonly Segment[];
  message: string;
  remediation: string;
  fixable: boolean;
  detail?: string;
}

/** Facts about one image reference, fetched from a registry before evaluation. */
export interface ImageFacts {
  /** The manifest digest the tag resolved to (sha256:...). */
  digest?: string;
  /** The image config's `created` time. */
  created?: Date;
  /** Signature verification, for an image that falls under a signature requirement. */
  verification?: ImageVerification;
}

export interface NetworkPolicyLike {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: unknown[];
    egress?: unknown[];
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Read-only lookups prepared before evaluation; checks never do I/O. */
export interface EvalContext {
  policy: Policy;
  now: Date;
  /** NetworkPolicies of a namespace, or undefined when they are unknown (unknown is not a finding). */
  networkPolicies(namespace: string): readonly NetworkPolicyLike[] | undefined;
  /** Registry facts of an image reference, or undefined when none were fetched. */
  imageFacts(image: string): ImageFacts | undefined;
  /**
   * True for an admission answer whose registry lookups pin tags (lookups on, the pin fix on): a
   * version tag the registry resolved is pinned by the patch, one it did not resolve is denied.
   * Otherwise (no lookups, scan, fix, the cluster audit) nothing pins at admission time.
   */
  admissionPinning?: boolean;
}

export interface GapCheck {
  gap: GapId;
  /** Rule ids of this gap: the policy may set an action or fix only for these. Actions come from the policy. */
  rules: readonly string[];
  check(pod: PodTarget, ctx: EvalContext): CheckFinding[];
}

export interface ObjectResult {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  findings: Finding[];
  /** RFC 6902 operations against the evaluated object for the enabled fixes. */
  patch: Operation[];
  /** Human notes: exemptions applied, exemptions expired. */
  notes: string[];
}
