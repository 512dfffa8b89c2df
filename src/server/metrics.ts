// Prometheus metrics of one server. Each server has its own registry, so that several servers in
// one process (the tests) do not share counters. Labels hold ids and decisions only, never object
// content, and kinds outside the judged set are folded into "other" so a stream of made-up kinds
// cannot grow the label space without bound.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Decision, Endpoint, FindingOutcome } from '../admission/admit.js';
import { OPERATIONS } from '../admission/types.js';
import type { GapId } from '../engine/types.js';
import type { LookupOutcome } from '../registry/cache.js';
import { JUDGED_KINDS } from '../workloads/locate.js';

const KNOWN_KINDS: ReadonlySet<string> = new Set(JUDGED_KINDS);
const KNOWN_OPERATIONS: ReadonlySet<string> = new Set(OPERATIONS);
/** How often the event-loop delay is sampled for the default metrics (nodejs_eventloop_lag_*). */
const EVENT_LOOP_SAMPLE_MS = 100;

export type RequestDecision = Decision | 'error';

/**
 * Increments of one counter by label set, kept as plain numbers on the admission path and added to
 * the counter when it is collected (at every scrape): prom-client builds, validates and hashes a
 * label string on every call, which cost more than the rest of an answer's bookkeeping. Label sets
 * are added in the order they first occurred, as direct increments would have added them.
 */
class Tally<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; n: number }>();

  /** One increment of the label set `key` names; `labels` makes it the first time. */
  add(key: string, labels: () => Record<L, string>): void {
    const entry = this.counts.get(key);
    if (entry) entry.n++;
    else this.counts.set(key, { labels: labels(), n: 1 });
  }

  flushInto(counter: Counter<L>): void {
    for (const entry of this.counts.values()) {
      if (entry.n === 0) continue;
      counter.inc(entry.labels, entry.n);
      entry.n = 0;
    }
  }
}

const DURATION_LABELS: Readonly<Record<Endpoint, { endpoint: Endpoint }>> = { validate: { endpoint: 'validate' }, mutate: { endpoint: 'mutate' } };

export class Metrics {
  readonly registry = new Registry();
  private readonly requestTally = new Tally<'endpoint' | 'kind' | 'operation' | 'decision'>();
  private readonly requests: Counter<'endpoint' | 'kind' | 'operation' | 'decision'> = new Counter({
    name: 'gapguard_admission_requests_total',
    help: 'Admission requests answered, by endpoint, object kind, operation and decision (error: a 4xx or 5xx answer).',
    labelNames: ['endpoint', 'kind', 'operation', 'decision'] as const,
    registers: [this.registry],
    collect: () => this.requestTally.flushInto(this.requests),
  });
  private readonly duration = new Histogram({
    name: 'gapguard_admission_duration_seconds',
    help: 'Time from the start of an admission request to its answer, body reading included.',
    labelNames: ['endpoint'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  /** Requests being answered. A drain waits for their connections (server.ts), not for this gauge. */
  private admissionsInFlight = 0;
  private readonly inFlight: Gauge = new Gauge({
    name: 'gapguard_admission_requests_in_flight',
    help: 'Admission requests received and not yet answered.',
    registers: [this.registry],
    collect: () => this.inFlight.set(this.admissionsInFlight),
  });
  private readonly uploadsAborted = new Counter({
    name: 'gapguard_admission_uploads_aborted_total',
    help: 'Admission requests whose client closed the connection, or timed out, before the body ended (not answered, not counted in gapguard_admission_requests_total).',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  private readonly handshakes = new Counter({
    name: 'gapguard_tls_handshakes_total',
    help: 'TLS handshakes completed (new connections). Against gapguard_admission_requests_total: well under one a request when clients keep their connections open.',
    registers: [this.registry],
  });
  private readonly findingTally = new Tally<'gap' | 'action'>();
  private readonly findings: Counter<'gap' | 'action'> = new Counter({
    name: 'gapguard_findings_total',
    help: 'Findings reported by /validate, by gap and what happened (deny, warn, audit: enforce would have denied or patched).',
    labelNames: ['gap', 'action'] as const,
    registers: [this.registry],
    collect: () => this.findingTally.flushInto(this.findings),
  });
  private readonly policyReloads = new Counter({
    name: 'gapguard_policy_reloads_total',
    help: 'Reloads of the policy file after a change, by result (success, failure: the last good policy stays).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly policyInfo = new Gauge({
    name: 'gapguard_policy_info',
    help: 'The policy in force: 1 for the sha256 (first 16 hex digits) of its file, "embedded" for the embedded default.',
    labelNames: ['sha256'] as const,
    registers: [this.registry],
  });
  private readonly certificateExpiry = new Gauge({
    name: 'gapguard_certificate_expiry_timestamp_seconds',
    help: 'Expiry time (Unix seconds) of the serving certificate in use.',
    registers: [this.registry],
  });

  private readonly imageLookupTally = new Tally<'outcome'>();
  private readonly imageLookups: Counter<'outcome'> = new Counter({
    name: 'gapguard_image_lookups_total',
    help: 'Registry facts asked for by admission requests, per image, by outcome (hit: from the cache; miss-resolved: fetched within the budget; failed: the lookup failed, now or within the failure TTL; timed-out: not there within the budget).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
    collect: () => this.imageLookupTally.flushInto(this.imageLookups),
  });
  private imageCacheSize: () => number = () => 0;
  private readonly imageCacheEntries: Gauge = new Gauge({
    name: 'gapguard_image_facts_cache_entries',
    help: 'Images in the registry facts cache (facts and remembered failures).',
    registers: [this.registry],
    collect: () => this.imageCacheEntries.set(this.imageCacheSize()),
  });

  /** Exposition text of registries in other threads (the background audit's), served after this one's. */
  private readonly sources: (() => Promise<string>)[] = [];

  constructor() {
    // The event-loop delay histogram samples every 100 ms: prom-client's default 10 ms woke an idle
    // server 100 times a second, 4 of the 5.5 to 6.5 ms of CPU a second an idle server used.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Present from the start, so that an alert on failures has a series to watch.
    this.policyReloads.inc({ result: 'success' }, 0);
    this.policyReloads.inc({ result: 'failure' }, 0);
    for (const outcome of ['hit', 'miss-resolved', 'failed', 'timed-out'] as const) this.imageLookups.inc({ outcome }, 0);
  }

  /** Adds another thread's metrics to what /metrics serves: its text, or "" when it has none to give. */
  addSource(text: () => Promise<string>): void {
    this.sources.push(text);
  }

  /** What /metrics serves: this registry's text, then each source's (metric names do not overlap). */
  async text(): Promise<string> {
    const parts = await Promise.all([this.registry.metrics(), ...this.sources.map((source) => source())]);
    return parts.join('');
  }

  admissionStarted(): void {
    this.admissionsInFlight++;
  }

  admissionEnded(): void {
    this.admissionsInFlight--;
  }

  request(endpoint: Endpoint, kind: string | undefined, operation: string | undefined, decision: RequestDecision, seconds: number): void {
    const k = kind === undefined ? 'unknown' : KNOWN_KINDS.has(kind) ? kind : 'other';
    const op = operation !== undefined && KNOWN_OPERATIONS.has(operation) ? operation : 'unknown';
    this.requestTally.add(`${endpoint} ${k} ${op} ${decision}`, () => ({ endpoint, kind: k, operation: op, decision }));
    this.duration.observe(DURATION_LABELS[endpoint], seconds);
  }

  tlsHandshake(): void {
    this.handshakes.inc();
  }

  uploadAborted(endpoint: Endpoint): void {
    this.uploadsAborted.inc({ endpoint });
  }

  findingsOf(findings: readonly { gap: GapId; outcome: FindingOutcome }[]): void {
    for (const { gap, outcome } of findings) this.findingTally.add(`${gap} ${outcome}`, () => ({ gap, action: outcome }));
  }

  imageLookup(outcome: LookupOutcome): void {
    this.imageLookupTally.add(outcome, () => ({ outcome }));
  }

  /** The cache whose size the gauge reports. */
  watchImageCache(size: () => number): void {
    this.imageCacheSize = size;
  }

  policyReload(result: 'success' | 'failure'): void {
    this.policyReloads.inc({ result });
  }

  policyInForce(hash: string): void {
    this.policyInfo.reset();
    this.policyInfo.set({ sha256: hash }, 1);
  }

  certificateExpiresAt(date: Date): void {
    this.certificateExpiry.set(date.getTime() / 1000);
  }
}
