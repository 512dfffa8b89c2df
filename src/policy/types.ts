// The compiled policy: what the loader (policy/load.ts) produces from the YAML policy file merged
// over the embedded default (policy/default.yaml). Checks and doors read only this.
import type { Action, GapId } from '../engine/types.js';

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
  /** Glob patterns (`*` matches any run of characters); an absent list matches everything. */
  namespaces?: string[];
  serviceAccounts?: string[];
  names?: string[];
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

export interface Policy {
  mode: Mode;
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
