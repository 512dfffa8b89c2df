// Reads an AdmissionReview request body. The kube-apiserver always sends a well-formed review, so
// anything else is a client bug or a probe: it gets a 400 naming the first thing that is wrong,
// never a guess at what was meant.
import { isObject } from '../workloads/locate.js';
import { ADMISSION_API_VERSION, ADMISSION_KIND, OPERATIONS, type AdmissionRequest } from './types.js';

/** The body is not an AdmissionReview gapguard can answer; the message names what is wrong. */
export class BadReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadReviewError';
  }
}

/** What a wrong value is, never the value: a review can carry secrets, and 400 answers are logged. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : 'number'} (not shown)`;
}

function optionalString(request: Record<string, unknown>, field: string): void {
  const v = request[field];
  if (v !== undefined && v !== null && typeof v !== 'string') throw new BadReviewError(`request.${field} must be a string, got ${describe(v)}`);
}

function optionalObject(request: Record<string, unknown>, field: string): void {
  const v = request[field];
  if (v !== undefined && v !== null && !isObject(v)) throw new BadReviewError(`request.${field} must be an object or null, got ${describe(v)}`);
}

/** Parses and checks a review body; throws BadReviewError. */
export function parseReview(body: string): AdmissionRequest {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    // V8's message quotes the text around the error: keep only where it is.
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new BadReviewError(`the body is not valid JSON${position === undefined ? '' : ` (at byte ${position})`}`);
  }
  if (!isObject(review)) throw new BadReviewError(`the body must be a JSON object (an AdmissionReview), got ${describe(review)}`);
  if (review.apiVersion !== ADMISSION_API_VERSION) {
    throw new BadReviewError(`apiVersion must be "${ADMISSION_API_VERSION}", got ${describe(review.apiVersion)}`);
  }
  if (review.kind !== ADMISSION_KIND) throw new BadReviewError(`kind must be "${ADMISSION_KIND}", got ${describe(review.kind)}`);
  const request = review.request;
  if (!isObject(request)) throw new BadReviewError(`request must be an object, got ${describe(request)}`);
  if (typeof request.uid !== 'string' || request.uid === '') throw new BadReviewError(`request.uid must be a non-empty string, got ${describe(request.uid)}`);
  if (!(OPERATIONS as readonly unknown[]).includes(request.operation)) {
    throw new BadReviewError(`request.operation must be one of ${OPERATIONS.join(', ')}, got ${describe(request.operation)}`);
  }
  const kind = request.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string' || typeof kind.group !== 'string' || typeof kind.version !== 'string') {
    throw new BadReviewError('request.kind must be an object with string group, version and kind');
  }
  for (const field of ['subResource', 'name', 'namespace']) optionalString(request, field);
  for (const field of ['object', 'oldObject', 'userInfo', 'resource', 'options']) optionalObject(request, field);
  if (request.dryRun !== undefined && request.dryRun !== null && typeof request.dryRun !== 'boolean') {
    throw new BadReviewError(`request.dryRun must be true or false, got ${describe(request.dryRun)}`);
  }
  return request as unknown as AdmissionRequest;
}
