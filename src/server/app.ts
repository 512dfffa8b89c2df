// The HTTP face of the webhook: the admission routes (/validate and /mutate, each with an /audit
// twin that never denies or patches), health, readiness and metrics. The admission
// routes are the hot path and are dispatched before Express, whose per-request work (request and
// response decoration, the router's layer walk, query parsing) is more than the whole evaluation:
// routed through Express, /validate did about 7,900 req/s with a p99 of 13 ms in the benchmark;
// dispatched before it, about 12,600 req/s and 7.7 ms (bench/README.md). Express serves the rest.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import { admissionSubject, admit, isSubject, judge, ModeUnknownError, subjectImages, type AdmissionOutcome, type AdmissionSources, type Endpoint, type RouteMode } from '../admission/admit.js';
import { BadReviewError, parseReview } from '../admission/review.js';
import { ADMISSION_API_VERSION, ADMISSION_KIND, type AdmissionRequest, type AdmissionReviewResponse } from '../admission/types.js';
import type { ImageLookupService } from '../registry/lookups.js';
import { InputError } from '../workloads/locate.js';
import { ShapeError } from '../workloads/shape.js';
import { BodyTooLargeError, readBody, UploadAbortedError } from './body.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export interface Readiness {
  ready: boolean;
  detail: Record<string, unknown>;
}

export interface AppState {
  sources: AdmissionSources;
  /**
   * Admission requests must come with a client certificate the server verified. Checked per
   * request rather than at the handshake, so that probes and metric scrapes without one still work.
   */
  requireClientCert: boolean;
  /** Names the client certificate must carry one of (subject CN or DNS SAN); any name without it. */
  clientNames?: readonly string[];
  metrics: Metrics;
  logger: Logger;
  bodyLimit: number;
  readiness(): Readiness;
  /** Registry lookups of the images of judged objects; without it, no image has facts. */
  imageLookups?: ImageLookupService;
}

function sendJson(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}

/**
 * `?mode=audit` caps the answer at audit, for callers other than webhook configurations: those
 * cannot carry a query string and call the /audit routes instead.
 */
function auditOnlyQuery(query: string): boolean {
  if (query === '') return false;
  const modes = new URLSearchParams(query).getAll('mode');
  if (modes.length === 0) return false;
  if (modes.length === 1 && modes[0] === 'audit') return true;
  throw new BadReviewError('the query parameter mode can only be "audit"');
}

class ClientCertificateError extends Error {}

/** The names a certificate is for: its subject CN and its DNS subject alternative names. */
function certificateNames(socket: TLSSocket): string[] {
  const cert = socket.getPeerCertificate();
  const cn = cert.subject?.CN;
  const names = Array.isArray(cn) ? [...cn] : cn ? [cn] : [];
  for (const entry of cert.subjectaltname?.split(', ') ?? []) if (entry.startsWith('DNS:')) names.push(entry.slice(4));
  return names;
}

function assertClientCertificate(req: IncomingMessage, clientNames: readonly string[] | undefined): void {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) {
    const reason = socket.authorizationError ? ` (${String(socket.authorizationError)})` : '';
    throw new ClientCertificateError(`a client certificate signed by the configured client CA is required${reason}`);
  }
  if (clientNames && !certificateNames(socket).some((name) => clientNames.includes(name))) {
    throw new ClientCertificateError(`the client certificate is not for a name the server accepts (${clientNames.join(', ')})`);
  }
}

/** HTTP status and error text of a failed admission request. */
function failure(err: unknown): { status: number; message: string } {
  if (err instanceof ClientCertificateError) return { status: 401, message: err.message };
  if (err instanceof BodyTooLargeError) return { status: 413, message: err.message };
  if (err instanceof BadReviewError) return { status: 400, message: err.message };
  // Unanswerable for now: the kube-apiserver applies the webhook's failurePolicy.
  if (err instanceof ModeUnknownError) return { status: 503, message: err.message };
  if (err instanceof InputError || err instanceof ShapeError) return { status: 400, message: `request.object: ${err.message}` };
  return { status: 500, message: 'internal error: see the gapguard log' };
}

function logOutcome(logger: Logger, endpoint: Endpoint, request: AdmissionRequest, outcome: AdmissionOutcome, seconds: number, maxFindings: number): void {
  const level = outcome.decision === 'allow' || outcome.decision === 'skip' ? 'debug' : 'info';
  if (!logger.enabled(level)) return;
  // The gaps (each once, in order) and the listed findings in one pass over the findings.
  const gaps: string[] = [];
  const findings: string[] = [];
  for (const f of outcome.findings) {
    if (!gaps.includes(f.gap)) gaps.push(f.gap);
    // Within the policy's maxFindings, like the denial: a log line stays bounded too.
    if (findings.length < maxFindings) findings.push(`${f.outcome} ${f.rule} ${f.path}`);
  }
  logger[level]('admission', {
    uid: request.uid,
    endpoint,
    kind: request.kind.kind,
    subResource: request.subResource || undefined,
    operation: request.operation,
    namespace: outcome.namespace,
    name: outcome.name,
    user: typeof request.userInfo?.username === 'string' ? request.userInfo.username : undefined,
    dryRun: request.dryRun === true,
    mode: outcome.mode,
    decision: outcome.decision,
    gaps,
    findings,
    findingsNotListed: outcome.findings.length > maxFindings ? outcome.findings.length - maxFindings : undefined,
    reason: outcome.skipped,
    overLimit: outcome.overLimit,
    imagesWithoutFacts: outcome.imageLookups && [...outcome.imageLookups].filter(([, l]) => !('facts' in l)).map(([image, l]) => `${image} (${l.outcome})`),
    ms: Math.round(seconds * 1e6) / 1e3,
  });
}

/** Decides first, so that skipped requests cost no lookup; then judges on the facts that arrived within the budget. */
async function admitWithLookups(lookups: ImageLookupService, endpoint: Endpoint, request: AdmissionRequest, sources: AdmissionSources, route: RouteMode): Promise<AdmissionOutcome> {
  const subject = admissionSubject(request, sources, route);
  if (!isSubject(subject)) return subject;
  const imageLookups = await lookups.lookUp(subjectImages(subject), sources.policy);
  return judge(endpoint, subject, sources, { now: new Date(), imageLookups });
}

async function answerAdmission(state: AppState, route: Route, query: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { metrics, logger } = state;
  const { endpoint } = route;
  const started = performance.now();
  let request: AdmissionRequest | undefined;
  let outcome: AdmissionOutcome;
  // Counted down when the answer is sent or the upload given up, not on the response's 'close':
  // a listener per request cost more than the count.
  metrics.admissionStarted();
  try {
    try {
      if (state.requireClientCert) assertClientCertificate(req, state.clientNames);
      const routeMode = auditOnlyQuery(query) ? 'audit' : route.mode;
      request = parseReview(await readBody(req, state.bodyLimit));
      outcome = state.imageLookups
        ? await admitWithLookups(state.imageLookups, endpoint, request, state.sources, routeMode)
        : admit(endpoint, request, state.sources, { route: routeMode, now: new Date() });
    } catch (err) {
      if (err instanceof UploadAbortedError) {
        // Nobody is left to answer, and it is not the webhook's error: one line and its own counter.
        metrics.uploadAborted(endpoint);
        logger.info('admission upload aborted by the client', { endpoint, error: err.message });
        return;
      }
      const { status, message } = failure(err);
      // Past the limit the rest of the body is not read, so the connection cannot be reused.
      sendJson(res, status, { error: message }, status === 413);
      metrics.request(endpoint, request?.kind.kind, request?.operation, 'error', (performance.now() - started) / 1000);
      const fields = { endpoint, uid: request?.uid, status, error: message };
      if (status === 500) logger.error('admission failed', { ...fields, cause: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
      else logger.warn('admission request refused', fields);
      return;
    }
    const review: AdmissionReviewResponse = { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response: outcome.response };
    sendJson(res, 200, review);
    const seconds = (performance.now() - started) / 1000;
    metrics.request(endpoint, request.kind.kind, request.operation, outcome.decision, seconds);
    if (endpoint === 'validate') metrics.findingsOf(outcome.findings);
    for (const lookup of outcome.imageLookups?.values() ?? []) metrics.imageLookup(lookup.outcome);
    logOutcome(logger, endpoint, request, outcome, seconds, state.sources.policy.limits.maxFindings);
  } finally {
    metrics.admissionEnded();
  }
}

interface Route {
  endpoint: Endpoint;
  /**
   * The enforce routes always enforce: the chart's fail-closed webhooks call them for the namespaces
   * the kube-apiserver found in enforce mode. The audit routes never deny or patch: the chart's
   * fail-open webhooks call them. The plain routes follow the namespace label, else the policy.
   */
  mode: RouteMode;
}

// The mode is a path segment for webhook configurations, since the kube-apiserver refuses query
// strings in webhook URLs; the audit cap is also a query (?mode=audit) for other callers.
const ADMISSION_ROUTES: ReadonlyMap<string, Route> = new Map([
  ['/validate', { endpoint: 'validate', mode: undefined }],
  ['/mutate', { endpoint: 'mutate', mode: undefined }],
  ['/validate/enforce', { endpoint: 'validate', mode: 'enforce' }],
  ['/mutate/enforce', { endpoint: 'mutate', mode: 'enforce' }],
  ['/validate/audit', { endpoint: 'validate', mode: 'audit' }],
  ['/mutate/audit', { endpoint: 'mutate', mode: 'audit' }],
]);

/** The server's request listener: the admission routes directly, the rest through Express. */
export function createRequestListener(state: AppState): RequestListener {
  const app = createApp(state);
  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = req.method === 'POST' ? ADMISSION_ROUTES.get(q < 0 ? url : url.slice(0, q)) : undefined;
    if (!route) {
      app(req, res);
      return;
    }
    // Every failure is answered inside; this catch keeps a bug in metrics or logging from ending the process.
    answerAdmission(state, route, q < 0 ? '' : url.slice(q + 1), req, res).catch((err: unknown) =>
      state.logger.error('admission bookkeeping failed', { error: err instanceof Error ? err.message : String(err) }),
    );
  };
}

function createApp(state: AppState): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const { ready, detail } = state.readiness();
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...detail });
  });
  app.get('/metrics', async (_req, res) => {
    const text = await state.metrics.text();
    res.writeHead(200, { 'content-type': state.metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  app.use((req, res) => sendJson(res, 404, { error: `no route for ${req.method} ${req.path}` }));
  // Express calls a four-argument handler for errors thrown outside the routes' own try blocks.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    state.logger.error('request failed', { error: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error: see the gapguard log' });
  });
  return app;
}
