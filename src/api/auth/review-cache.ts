/**
 * A small bounded cache of review results with a time to live, for the
 * TokenReviews and SubjectAccessReviews behind every API request:
 *
 * - a result is kept for ttlMs from when it arrived, measured on the injected
 *   clock (tests move time without waiting);
 * - at most maxEntries results, least recently used dropped first, so a flood
 *   of distinct tokens costs bounded memory;
 * - concurrent lookups of one key share one in-flight load: 50 requests
 *   arriving together with one token make one TokenReview;
 * - a load that rejects (the API server could not be asked) is not kept: the
 *   next request asks again instead of failing for a whole TTL.
 *
 * Keys are chosen by the caller and must never be secrets (the token cache
 * keys by a sha256 of the token).
 */
export interface ReviewCache<T> {
  get(key: string, load: () => Promise<T>): Promise<T>;
  /** The result held for key and not yet expired, without loading or reordering anything. */
  peek(key: string): T | undefined;
  /** Whether a load of key is under way (a get now would share it). */
  isLoading(key: string): boolean;
  /** Results held now (expired ones not yet dropped included). */
  size(): number;
}

export interface ReviewCacheOptions {
  ttlMs: number;
  maxEntries: number;
  now: () => number;
}

export function reviewCache<T>({ ttlMs, maxEntries, now }: ReviewCacheOptions): ReviewCache<T> {
  // A Map iterates in insertion order: re-inserting on every hit keeps the
  // least recently used entry first, which is the one to drop.
  const results = new Map<string, { value: T; expiresAt: number }>();
  const inFlight = new Map<string, Promise<T>>();

  const keep = (key: string, value: T): void => {
    if (ttlMs <= 0 || maxEntries <= 0) return;
    results.delete(key);
    results.set(key, { value, expiresAt: now() + ttlMs });
    while (results.size > maxEntries) {
      const oldest = results.keys().next();
      if (oldest.done) break;
      results.delete(oldest.value);
    }
  };

  return {
    get(key, load) {
      const held = results.get(key);
      if (held) {
        results.delete(key);
        if (held.expiresAt > now()) {
          results.set(key, held);
          return Promise.resolve(held.value);
        }
      }
      const pending = inFlight.get(key);
      if (pending) return pending;
      const loading = load().then(
        (value) => {
          inFlight.delete(key);
          keep(key, value);
          return value;
        },
        (err: unknown) => {
          inFlight.delete(key);
          throw err;
        },
      );
      inFlight.set(key, loading);
      return loading;
    },
    peek(key) {
      const held = results.get(key);
      return held && held.expiresAt > now() ? held.value : undefined;
    },
    isLoading: (key) => inFlight.has(key),
    size: () => results.size,
  };
}
