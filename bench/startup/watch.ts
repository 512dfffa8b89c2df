// A watch on the bench's Pods through the kube-apiserver, timing on the bench's own clock
// (performance.now(), sub-millisecond) when each Pod is first seen Running: the kubelet's status
// update as the API serves it. Timestamps the API carries (creationTimestamp, startedAt, condition
// times) have 1 s resolution; they are kept for a coarse cross-check only.
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { ApiClient } from '../../e2e/support/api.js';

export interface Running {
  /** performance.now() when the watch event reached the bench. */
  seenAt: number;
  /** Server timestamps (RFC 3339, whole seconds): created, and the container's startedAt. */
  created: string;
  startedAt?: string;
}

interface WatchEvent {
  type: string;
  object: { metadata: { name: string; namespace: string; resourceVersion: string; creationTimestamp: string }; status?: { phase?: string; containerStatuses?: { state?: { running?: { startedAt?: string } } }[] } };
}

export class PodWatch {
  /** namespace/name of every Pod seen Running, first sighting. */
  readonly running = new Map<string, Running>();
  private resourceVersion = '';
  private req: ClientRequest | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private readonly url: URL;
  private readonly ca: Buffer;

  constructor(server: string, caFile: string, private readonly token: string, private readonly labelSelector: string) {
    this.url = new URL(server);
    this.ca = readFileSync(caFile);
  }

  /** Lists once for a resourceVersion, then watches from it (and again from the last event whenever the server ends the watch). */
  async start(client: ApiClient): Promise<void> {
    const r = await client.send('GET', `/api/v1/pods?labelSelector=${encodeURIComponent(this.labelSelector)}&limit=1`);
    if (r.status !== 200) throw new Error(`listing Pods: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    const list = JSON.parse(r.body) as { metadata: { resourceVersion: string } };
    this.resourceVersion = list.metadata.resourceVersion;
    this.connect();
  }

  /** Throws if the watch broke in a way it could not resume from. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  stop(): void {
    this.stopped = true;
    this.req?.destroy();
  }

  private connect(): void {
    const path = `/api/v1/pods?watch=1&labelSelector=${encodeURIComponent(this.labelSelector)}&resourceVersion=${this.resourceVersion}&timeoutSeconds=3600`;
    let buffered = '';
    const req = request({ host: this.url.hostname, port: this.url.port, path, ca: this.ca, agent: false, headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        this.failure = new Error(`watch: HTTP ${res.statusCode}`);
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line) this.onEvent(JSON.parse(line) as WatchEvent, now);
        }
      });
      res.on('end', () => {
        if (!this.stopped && !this.failure) this.connect();
      });
    });
    req.on('error', (err) => {
      if (!this.stopped) this.failure = new Error(`watch: ${err.message}`);
    });
    req.end();
    this.req = req;
  }

  private onEvent(event: WatchEvent, now: number): void {
    if (event.type === 'ERROR') {
      // 410 Gone: the resourceVersion is too old to resume from; the run's timings would have a hole.
      this.failure = new Error(`watch: ${JSON.stringify(event.object)}`);
      return;
    }
    const { metadata, status } = event.object;
    this.resourceVersion = metadata.resourceVersion;
    const key = `${metadata.namespace}/${metadata.name}`;
    if (status?.phase === 'Running' && !this.running.has(key)) {
      this.running.set(key, { seenAt: now, created: metadata.creationTimestamp, startedAt: status.containerStatuses?.[0]?.state?.running?.startedAt });
    }
  }
}
