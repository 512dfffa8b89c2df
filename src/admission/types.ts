// AdmissionReview admission.k8s.io/v1, written by hand from the Kubernetes API reference:
// @kubernetes/client-node has no types for it. Only what gapguard reads or writes is typed.

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type AdmissionOperation = (typeof OPERATIONS)[number];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  /** The kind of `object` as the webhook registered for it (after any version conversion). */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  /** The new object; null for DELETE. */
  object?: unknown;
  /** The existing object for UPDATE and DELETE; null for CREATE. */
  oldObject?: unknown;
  dryRun?: boolean;
  /** CreateOptions, UpdateOptions or DeleteOptions. */
  options?: unknown;
}

/** metav1.Status, as much of it as a denial needs. */
export interface Status {
  code: number;
  reason?: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  /** base64 of an RFC 6902 JSON Patch. */
  patch?: string;
  patchType?: 'JSONPatch';
  /** The kube-apiserver prefixes each key with the webhook's name, so keys carry no prefix of their own. */
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReviewRequest {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  request: AdmissionRequest;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}
