// The one useful line of an API server's error answer. The client's own message for an HTTP error
// carries the whole response, headers included; the Status object's message is what helps.
import { ApiException } from '@kubernetes/client-node';

/** The `message` of the Status in an error answer's body (text or parsed), or '' when it has none. */
export function apiStatusMessage(err: ApiException<unknown>): string {
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : '';
}

/** One line on why a list or watch failed: the status code and the Status message, for an HTTP error. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiException) {
    const message = apiStatusMessage(err);
    return `the API server answered HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
