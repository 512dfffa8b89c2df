export interface MemoOptions {
  /** Entries kept; the oldest is forgotten beyond this (default 4096). */
  maxEntries?: number;
  /**
   * String keys longer than this are computed every time and never kept (default 1024), so a
   * stream of hostile megabyte-long image names or variable names cannot pin memory.
   */
  maxKeyLength?: number;
}

/**
 * Remembers the results of a pure function of one key. The cache is bounded in entries and in key
 * size, so unique keys cannot grow memory without bound while the few keys a cluster really uses
 * (image names, variable names) stay cached.
 */
export function memoize<K, V>(compute: (key: K) => V, options: MemoOptions = {}): (key: K) => V {
  const maxEntries = options.maxEntries ?? 4096;
  const maxKeyLength = options.maxKeyLength ?? 1024;
  const cache = new Map<K, V>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined || cache.has(key)) return hit as V;
    const value = compute(key);
    if (typeof key === 'string' && key.length > maxKeyLength) return value;
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as K);
    cache.set(key, value);
    return value;
  };
}
