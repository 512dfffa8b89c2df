// One resource kept in memory for the background audit: a paged list, then a watch from the list's
// resourceVersion, every object trimmed on arrival (trim.ts) so only what the engine reads is held.
// The client's own informer keeps whole objects, which for Pods is mostly managedFields and status
// the audit never reads: hence this small list-and-watch of our own. Lists are read as the API
// server sends them (kubeRequest), not through the typed client: one parse per page instead of a
// typed copy and a JSON round trip of each object, and no field the client's models lack is lost
// (the watch sends raw JSON too). A page is trimmed object by object, giving the event loop back
// between them (slices.ts). A watch that ends is resumed
// from the last resourceVersion seen (bookmarks keep it fresh); one the API server answers with 410
// Gone, or that fails, is replaced by a new list after a backoff. Objects of a namespace gapguard
// does not judge (the chart's exclusions) are dropped on arrival: never held, never judged.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../server/log.js';
import type { KubeObject } from '../workloads/locate.js';
import { describeFailure } from './status.js';
import { failureOf, kubeRequest } from './kube-request.js';
import { inNamespaces, type Listed } from './read.js';
import { Retry } from './retry.js';
import { slices } from './slices.js';
import { trimObject } from './trim.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
const PAGE_SIZE = 500;
/** The API server ends a watch after this; resuming from the last resourceVersion costs nothing. */
const WATCH_TIMEOUT_SECONDS = 300;

/** The path of a resource across all namespaces. */
export function resourcePath(listed: Listed): string {
  return listed.group ? `/apis/${listed.apiVersion}/${listed.resource}` : `/api/v1/${listed.resource}`;
}

/**
 * Every object of a resource, page by page as the API server sends them, each through keep (list
 * items carry no kind); resolves to the list's resourceVersion.
 */
export async function listPages(kubeConfig: KubeConfig, listed: Listed, keep: (obj: KubeObject) => void): Promise<string | undefined> {
  const path = resourcePath(listed);
  const pause = slices();
  let token: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const answer = await kubeRequest(kubeConfig, 'GET', `${path}?limit=${PAGE_SIZE}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
    if (answer.status !== 200) throw failureOf(`list ${path}`, answer);
    const page = answer.body as { items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } };
    for (const item of page.items ?? []) {
      await pause();
      keep(item);
    }
    token = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (token);
  return resourceVersion;
}

function keyOf(obj: KubeObject): string {
  const meta = obj.metadata;
  return `${String(meta?.namespace ?? '')}/${String(meta?.name ?? '')}`;
}

export class Reflector {
  /** Trimmed objects by namespace/name. */
  objects = new Map<string, KubeObject>();
  /** The first list succeeded: objects holds real (maybe stale) state. */
  synced = false;
  /** Why the resource is not being watched right now. */
  problem: string | undefined;
  private resourceVersion: string | undefined;
  private watching: AbortController | undefined;
  private readonly retry = new Retry(FIRST_RETRY_MS, MAX_RETRY_MS);
  private stopped = false;

  constructor(
    readonly listed: Listed,
    private readonly kubeConfig: KubeConfig,
    /** Called after every change to objects. */
    private readonly changed: () => void,
    private readonly logger: Logger,
    /** Namespaces whose objects are not kept (a Namespace by its own name). */
    private readonly excluded: ReadonlySet<string> = new Set(),
  ) {}

  private kept(obj: KubeObject): boolean {
    return !inNamespaces(this.excluded, this.listed.kind, obj);
  }

  /** Lists, then watches; resolves once the first list has succeeded or failed. */
  async start(): Promise<void> {
    await this.relist();
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    const fresh = new Map<string, KubeObject>();
    try {
      this.resourceVersion = await listPages(this.kubeConfig, this.listed, (obj) => {
        if (this.kept(obj)) fresh.set(keyOf(obj), trimObject(obj, this.listed.kind, this.listed.apiVersion));
      });
    } catch (err) {
      this.failed(err);
      return;
    }
    if (this.stopped) return;
    this.objects = fresh;
    this.synced = true;
    this.changed();
    await this.watch();
  }

  private async watch(): Promise<void> {
    let gone = false;
    const onEvent = (type: string, obj: KubeObject): void => {
      if (type === 'BOOKMARK') {
        this.resourceVersion = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? this.resourceVersion;
        return;
      }
      if (type === 'ERROR') {
        // A Status: 410 Gone means the resourceVersion is too old to resume from.
        gone = (obj as { code?: unknown }).code === 410;
        if (!gone) this.problem = `watch error: ${String((obj as { message?: unknown }).message ?? 'unknown')}`;
        return;
      }
      this.resourceVersion = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? this.resourceVersion;
      if (!this.kept(obj)) return;
      const key = keyOf(obj);
      if (type === 'DELETED') this.objects.delete(key);
      else this.objects.set(key, trimObject(obj, this.listed.kind, this.listed.apiVersion));
      this.changed();
    };
    const onDone = (err: unknown): void => {
      this.watching = undefined;
      if (this.stopped) return;
      if (err) this.failed(err);
      else if (gone) void this.relist();
      else {
        if (this.problem !== undefined) this.logger.info('background audit watch resumed', { resource: this.listed.resource });
        this.problem = undefined;
        this.retry.reset();
        void this.watch();
      }
    };
    this.watching = await new Watch(this.kubeConfig).watch(
      resourcePath(this.listed),
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
      onEvent,
      onDone,
    );
    if (this.stopped) this.watching?.abort();
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.problem = describeFailure(err);
    this.logger.warn('background audit watch failed; listing again', { resource: this.listed.resource, error: this.problem, retryInSeconds: this.retry.delayMs / 1000 });
    this.retry.schedule(() => void this.relist());
  }

  stop(): void {
    this.stopped = true;
    this.retry.cancel();
    this.watching?.abort();
  }
}
