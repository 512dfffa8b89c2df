// Minimal typed view of the pod-spec fields gapguard reads. Input is checked against this shape
// (workloads/shape.ts) before any check runs, so checks can trust the types.

export type Segment = string | number;

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

export interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  readOnlyRootFilesystem?: boolean;
  capabilities?: Capabilities;
  seccompProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean; runAsUserName?: string };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    [other: string]: unknown;
  };
}

export interface EnvFromSource {
  secretRef?: { name?: string };
  configMapRef?: { name?: string };
  prefix?: string;
}

export interface ResourceList {
  cpu?: string | number;
  memory?: string | number;
  [other: string]: string | number | undefined;
}

export interface Container {
  name?: string;
  image?: string;
  securityContext?: SecurityContext | null;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  ports?: { containerPort?: number; hostPort?: number; protocol?: string }[];
  resources?: { limits?: ResourceList; requests?: ResourceList } | null;
  volumeMounts?: { name?: string; mountPath?: string; readOnly?: boolean }[];
}

export interface Volume {
  name?: string;
  hostPath?: { path?: string; type?: string };
  [other: string]: unknown;
}

export interface PodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean; runAsUserName?: string };
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
  securityContext?: PodSecurityContext | null;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  os?: { name?: string };
  serviceAccountName?: string;
  resources?: { limits?: ResourceList; requests?: ResourceList } | null;
}

export type ContainerList = 'initContainers' | 'containers' | 'ephemeralContainers';

export interface ContainerRef {
  container: Container;
  list: ContainerList;
  index: number;
  /** Path from the object root to the container. */
  path: Segment[];
  name: string;
}

/** What the kubelet reports about one container of a Pod (`status.*ContainerStatuses[]`). */
export interface ContainerStatus {
  name?: string;
  image?: string;
  /** The digest the container runs, as the runtime resolved it (`repo@sha256:...`). */
  imageID?: string;
  state?: { running?: { startedAt?: string } | null } | null;
}

/** One container status of a Pod, with the spec container of the same name when there is one. */
export interface StatusRef {
  status: ContainerStatus;
  /** Path from the object root to the status entry. */
  path: Segment[];
  name: string;
  container?: ContainerRef;
}

/** One pod spec inside an object: a Pod's spec or a controller's template. */
export interface PodTarget {
  spec: PodSpec;
  /** Path from the object root to the pod spec. */
  specPath: Segment[];
  /** Labels the pods will carry (for NetworkPolicy selection). */
  labels: Record<string, string>;
  namespace: string;
  /** Workload name and service account, for exemptions. */
  workloadName: string;
  serviceAccount: string;
  containers: ContainerRef[];
  /** A Pod's container statuses (running state); empty for templates and Pods without status. */
  statuses: StatusRef[];
  windows: boolean;
}
