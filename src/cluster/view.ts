// What the webhook needs to know about the cluster, behind one interface: the real one is fed by
// informers (cluster/informers.ts); tests and the no-cluster mode use others.
import type { AdmissionMode } from '../admission/admit.js';
import type { NetworkPolicyLike } from '../engine/types.js';

export interface ClusterView {
  /** The namespace's valid `gapguard.io/mode` label, or undefined (unknown namespace, no label). */
  namespaceMode(namespace: string): AdmissionMode | undefined;
  /** The namespace's NetworkPolicies, or undefined while they are unknown (unknown is not a finding). */
  networkPolicies(namespace: string): readonly NetworkPolicyLike[] | undefined;
  /** Every cache is synced and watching: what it answers is the cluster's current state. */
  inSync(): boolean;
  /** For /readyz: "synced", "unavailable: <why>" or "disabled". */
  status(): string;
  /** Resolves once the first list of every resource has succeeded or failed. */
  firstListsDone(): Promise<void>;
  stop(): Promise<void>;
}

/** No cluster configured: the webhook judges from the policy alone. */
export const NO_CLUSTER: ClusterView = {
  namespaceMode: () => undefined,
  networkPolicies: () => undefined,
  inSync: () => true,
  status: () => 'disabled',
  firstListsDone: async () => {},
  stop: async () => {},
};
