// Image facts with a time to live, shared by every request: one lookup per image however many pods
// name it at once, a short memory of failures so a registry outage is not hammered, and a bound on
// the number of entries so a stream of unique image names cannot grow memory without limit.
import type { ImageFacts } from '../engine/types.js';

export interface FactsCacheOptions {
  ttlMs: number;
  failureTtlMs: number;
  maxEntries: number;
}

interface Entry {
  facts: ImageFacts | undefined;
  error: string | undefined;
  expires: number;
}

export class ImageFactsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();

  constructor(
    private readonly lookup: (image: string) => Promise<ImageFacts>,
    private readonly options: FactsCacheOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Cached facts, or undefined when the image is unknown, expired or its lookup failed. */
  peek(image: string): ImageFacts | undefined {
    const e = this.entries.get(image);
    return e && e.expires > this.now() ? e.facts : undefined;
  }

  /**
   * Facts for each image, waiting at most `budgetMs`; images still unresolved then are left out
   * (their lookups go on and fill the cache for the next request).
   */
  async prefetch(images: readonly string[], budgetMs: number): Promise<{ facts: Map<string, ImageFacts>; errors: Map<string, string> }> {
    const facts = new Map<string, ImageFacts>();
    const errors = new Map<string, string>();
    const pending: Promise<void>[] = [];
    for (const image of new Set(images)) {
      const cached = this.entries.get(image);
      if (cached && cached.expires > this.now()) {
        if (cached.facts) facts.set(image, cached.facts);
        if (cached.error) errors.set(image, cached.error);
        continue;
      }
      pending.push(
        this.load(image).then((e) => {
          if (e.facts) facts.set(image, e.facts);
          if (e.error) errors.set(image, e.error);
        }),
      );
    }
    if (pending.length) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs)));
      await Promise.race([Promise.all(pending), deadline]);
      clearTimeout(timer);
    }
    return { facts, errors };
  }

  private load(image: string): Promise<Entry> {
    let p = this.inFlight.get(image);
    if (p) return p;
    p = this.lookup(image).then(
      (facts) => ({ facts, error: undefined, expires: this.now() + this.options.ttlMs }),
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

  private store(image: string, entry: Entry): void {
    this.entries.delete(image); // re-insert so Map order is least recently stored first
    this.entries.set(image, entry);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
