// The compiled policy: what the loader (policy/load.ts) produces from the YAML policy file merged
// over the embedded default (policy/default.yaml). Checks and doors read only this.
import type { Action, GapId } from '../engine/types.js';
import type { SignatureRequirement } from '../signatures/types.js';

export type Mode = 'enforce' | 'audit';

export interface RuleSettings {
  action?: Action;
  fix?: boolean;
}

export interface GapSettings {
  action: Action;
  fix: boolean;
  /** Overrides per rule id (e.g. `privileged/escalation`). */
  rules: Record<string, RuleSettings>;
}

export interface ExemptionMatch {
  /** Glob patterns (`*` matches any run of characters, engine/match.ts); an absent list matches everything. */
  namespaces?: string[];
  serviceAccounts?: string[];
  names?: string[];
  /** Image patterns, matched as parsed references: registry, repository, tag and digest each on its own. */
  images?: string[];
}

export interface Exemption {
  /** Position in the policy file's `exemptions` list, for messages. */
  index: number;
  match: ExemptionMatch;
  gaps: GapId[];
  reason: string;
  /** End of the day (UTC) after which the exemption no longer applies. */
  expires?: Date;
}

/**
 * Bounds on the work of one admission review (policy `limits`). An object past an input limit is
 * not judged: enforce denies it naming the limit, audit allows it with a warning.
 */
export interface ReviewLimits {
  /** Containers of the pod spec, init, regular and ephemeral together (and a Pod's container statuses). */
  maxContainers: number;
  maxVolumes: number;
  /** `env` and `envFrom` entries of all containers together. */
  maxEnvEntries: number;
  /** Other list entries of all containers together: ports, volumeMounts, capabilities add and drop. */
  maxContainerListEntries: number;
  /** Labels of the pods (what NetworkPolicies select them by). */
  maxLabels: number;
  /** Longest string (or field name) of the pod spec and its labels; env names and values, commands, args and probes aside. */
  maxStringLength: number;
  /** Longest env name. */
  maxEnvNameLength: number;
  /** Characters of all env values of the object together (each is scanned for credential formats). */
  maxEnvValuesLength: number;
  /** Findings an answer lists; the rest are counted, not listed. */
  maxFindings: number;
  /** Longest denial message, in bytes. */
  maxMessageBytes: number;
  /** Largest JSON Patch, in bytes: a larger one is not offered (enforce denies, audit warns). */
  maxPatchBytes: number;
}

export interface Policy {
  mode: Mode;
  limits: ReviewLimits;
  gaps: Record<GapId, GapSettings>;
  dockerSocket: {
    /** Absolute paths of container-runtime sockets, as the policy writes them (the check normalises them). */
    socketPaths: string[];
  };
  runAsRoot: {
    /** Capability names without the CAP_ prefix, upper case. */
    allowedCapabilities: string[];
  };
  unverifiedImage: {
    /** Registry hosts (optionally with path prefixes) images may come from; empty allows any. */
    allowedRegistries: string[];
    /** Repositories (`docker.io/library/nginx`) that typosquats are measured against. */
    wellKnownImages: string[];
    typosquatMaxDistance: number;
    /** Images that must carry verified signatures (and attestations), with who may sign them. */
    signatures: SignatureRequirement[];
    /**
     * A version tag without a digest where nothing pins it (no registry lookups at admission, scan,
     * fix, the cluster audit): warn, or deny like latest and a missing tag.
     */
    unpinnedVersionTags: 'warn' | 'deny';
  };
  resourceLimits: {
    defaultLimits: { cpu: string; memory: string };
  };
  staleImage: {
    maxImageAgeDays: number;
    maxRunningAgeDays: number;
  };
  exemptions: Exemption[];
}
