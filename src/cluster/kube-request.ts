// A plain JSON request to the API server with the kubeconfig's credentials, for the Lease and the
// reports: the generated client has no types for the report CRDs, and its Lease model writes
// MicroTime fields in a form the API server refuses, so these few calls send JSON as written.
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

const TIMEOUT_MS = 15_000;

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
  const url = new URL(cluster.server + path);
  const options: import('node:https').RequestOptions = { method, headers: { accept: 'application/json' }, timeout: TIMEOUT_MS };
  await kubeConfig.applyToHTTPSOptions(options);
  const text = body === undefined ? undefined : JSON.stringify(body);
  if (text !== undefined) Object.assign(options.headers!, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  const send = url.protocol === 'http:' ? plainRequest : request;
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        let parsed: unknown = raw;
        try {
          parsed = raw ? JSON.parse(raw) : undefined;
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the API server within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(text);
  });
}

/** The answer's Status message, or the HTTP status alone. */
export function failureOf(what: string, answer: KubeAnswer): KubeRequestError {
  const message = typeof answer.body === 'object' && answer.body !== null ? (answer.body as { message?: unknown }).message : undefined;
  return new KubeRequestError(answer.status, `${what}: the API server answered HTTP ${answer.status}${typeof message === 'string' ? `: ${message}` : ''}`);
}
