// A plain JSON request to the API server with the kubeconfig's credentials, for the Lease and the
// reports: the generated client has no types for the report CRDs, and its Lease model writes
// MicroTime fields in a form the API server refuses, so these few calls send JSON as written.
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { httpRequest } from '../http-request.js';

const TIMEOUT_MS = 15_000;
/** A list page of 500 Pods is a few MiB; a Lease or a report far less. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface KubeAnswer {
  status: number;
  body: unknown;
}

/** An answer the caller did not expect: the status and the Status message, never the body. */
export class KubeRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

export async function kubeRequest(kubeConfig: KubeConfig, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeAnswer> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  // The kubeconfig's CA, client certificate or token (a header), and its agent.
  const tls: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(tls);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const res = await httpRequest(new URL(cluster.server + path), {
    method,
    headers: { accept: 'application/json', ...(text !== undefined ? { 'content-type': contentType } : {}) },
    ...(text !== undefined ? { body: text } : {}),
    tls,
    timeoutMs: TIMEOUT_MS,
    maxBytes: MAX_ANSWER_BYTES,
    peer: 'the API server',
    holdsProcess: true,
  });
  const raw = res.body.toString();
  let parsed: unknown = raw;
  try {
    parsed = raw ? JSON.parse(raw) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, body: parsed };
}

/** The answer's Status message, or the HTTP status alone. */
export function failureOf(what: string, answer: KubeAnswer): KubeRequestError {
  const message = typeof answer.body === 'object' && answer.body !== null ? (answer.body as { message?: unknown }).message : undefined;
  return new KubeRequestError(answer.status, `${what}: the API server answered HTTP ${answer.status}${typeof message === 'string' ? `: ${message}` : ''}`);
}
