// Image facts (and signature verdicts) with a time to live, shared by every request: one lookup per
// key however many pods name it at once, a short memory of failures so a registry outage is not
// hammered, and a bound on the number of entries so a stream of unique names cannot grow memory
// without limit.
import type { ImageFacts } from '../engine/types.js';

export interface FactsCacheOptions<T> {
  /** How long a value is kept; a function to keep some values (say, negative verdicts) or keys shorter. */
  ttlMs: number | ((value: T, key: string) => number);
  failureTtlMs: number;
  maxEntries: number;
}

/**
 * How the lookup of one image went: served from the cache, fetched within the budget, failed (now
 * or recently: failures are remembered for a short while), or still running at the deadline.
 */
export type LookupOutcome = 'hit' | 'miss-resolved' | 'failed' | 'timed-out';

export type ImageLookup<T = ImageFacts> =
  | { outcome: 'hit' | 'miss-resolved'; facts: T }
  | { outcome: 'failed'; error: string }
  | { outcome: 'timed-out' };

interface Entry<T> {
  facts: T | undefined;
  error: string | undefined;
  expires: number;
}

export class ImageFactsCache<T = ImageFacts> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inFlight = new Map<string, Promise<Entry<T>>>();

  constructor(
    private readonly lookup: (image: string) => Promise<T>,
    private readonly options: FactsCacheOptions<T>,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Cached facts, or undefined when the image is unknown, expired or its lookup failed. */
  peek(image: string): T | undefined {
    const e = this.entries.get(image);
    return e && e.expires > this.now() ? e.facts : undefined;
  }

  /**
   * Looks each image up, waiting at most `budgetMs`, and says per image how it went. Lookups still
   * running at the deadline go on and fill the cache for the next request.
   */
  async prefetch(images: readonly string[], budgetMs: number): Promise<Map<string, ImageLookup<T>>> {
    const results = new Map<string, ImageLookup<T>>();
    const pending: Promise<void>[] = [];
    for (const image of new Set(images)) {
      const cached = this.entries.get(image);
      if (cached && cached.expires > this.now()) {
        results.set(image, cached.facts ? { outcome: 'hit', facts: cached.facts } : { outcome: 'failed', error: cached.error! });
        continue;
      }
      results.set(image, { outcome: 'timed-out' });
      pending.push(
        this.load(image).then((e) => {
          results.set(image, e.facts ? { outcome: 'miss-resolved', facts: e.facts } : { outcome: 'failed', error: e.error! });
        }),
      );
    }
    if (pending.length) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs)));
      await Promise.race([Promise.all(pending), deadline]);
      clearTimeout(timer);
    }
    // A copy: lookups that finish later must not change an answer already given.
    return new Map(results);
  }

  private load(image: string): Promise<Entry<T>> {
    let p = this.inFlight.get(image);
    if (p) return p;
    p = this.lookup(image).then(
      (facts) => {
        const { ttlMs } = this.options;
        return { facts, error: undefined, expires: this.now() + (typeof ttlMs === 'number' ? ttlMs : ttlMs(facts, image)) };
      },
      (err: Error) => ({ facts: undefined, error: err.message, expires: this.now() + this.options.failureTtlMs }),
    );
    const settled = p.then((entry) => {
      this.inFlight.delete(image);
      this.store(image, entry);
      return entry;
    });
    this.inFlight.set(image, settled);
    return settled;
  }

  private store(image: string, entry: Entry<T>): void {
    this.entries.delete(image); // re-insert so Map order is least recently stored first
    this.entries.set(image, entry);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
