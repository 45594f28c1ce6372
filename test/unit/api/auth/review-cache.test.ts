import { reviewCache } from '../../../../src/api/auth/review-cache.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A load that counts its calls and settles when the test says. */
function deferredLoads<T>(): { load: () => Promise<T>; calls: () => number; resolve: (v: T) => void; reject: (e: Error) => void } {
  let calls = 0;
  const pending: Array<{ resolve: (v: T) => void; reject: (e: Error) => void }> = [];
  return {
    load: () => {
      calls++;
      return new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
    },
    calls: () => calls,
    resolve: (v) => pending.shift()?.resolve(v),
    reject: (e) => pending.shift()?.reject(e),
  };
}

test('concurrent lookups of one key share one load, and its result is kept for the TTL', async () => {
  const c = clock();
  const cache = reviewCache<string>({ ttlMs: 10_000, maxEntries: 10, now: c.now });
  const loads = deferredLoads<string>();
  const all = Promise.all(Array.from({ length: 50 }, () => cache.get('k', loads.load)));
  expect(loads.calls()).toBe(1);
  loads.resolve('v');
  expect(await all).toEqual(Array(50).fill('v'));

  c.advance(9_999);
  await expect(cache.get('k', loads.load)).resolves.toBe('v');
  expect(loads.calls()).toBe(1);

  c.advance(1);
  const again = cache.get('k', loads.load);
  expect(loads.calls()).toBe(2);
  loads.resolve('w');
  await expect(again).resolves.toBe('w');
});

test('a rejected load is not kept: every waiter sees the error, and the next lookup loads again', async () => {
  const cache = reviewCache<string>({ ttlMs: 10_000, maxEntries: 10, now: clock().now });
  const loads = deferredLoads<string>();
  const waiting = [cache.get('k', loads.load), cache.get('k', loads.load)];
  loads.reject(new Error('no answer'));
  for (const w of waiting) await expect(w).rejects.toThrow('no answer');
  const next = cache.get('k', loads.load);
  expect(loads.calls()).toBe(2);
  loads.resolve('v');
  await expect(next).resolves.toBe('v');
  expect(cache.size()).toBe(1);
});

test('holds at most maxEntries, dropping the least recently used', async () => {
  const cache = reviewCache<string>({ ttlMs: 10_000, maxEntries: 3, now: clock().now });
  let loads = 0;
  const load = (v: string) => () => {
    loads++;
    return Promise.resolve(v);
  };
  for (const k of ['a', 'b', 'c']) await cache.get(k, load(k));
  await cache.get('a', load('a')); // a is now the most recently used
  await cache.get('d', load('d')); // drops b
  expect(cache.size()).toBe(3);
  expect(loads).toBe(4);
  await cache.get('a', load('a'));
  await cache.get('c', load('c'));
  await cache.get('d', load('d'));
  expect(loads).toBe(4);
  await cache.get('b', load('b'));
  expect(loads).toBe(5);
});

test('a TTL of 0 keeps nothing but still shares the in-flight load', async () => {
  const cache = reviewCache<string>({ ttlMs: 0, maxEntries: 10, now: clock().now });
  const loads = deferredLoads<string>();
  const both = Promise.all([cache.get('k', loads.load), cache.get('k', loads.load)]);
  loads.resolve('v');
  await both;
  expect(loads.calls()).toBe(1);
  void cache.get('k', loads.load);
  expect(loads.calls()).toBe(2);
  expect(cache.size()).toBe(0);
});

test('peek answers a held, unexpired result without loading; isLoading says whether a get would share a load', async () => {
  const c = clock();
  const cache = reviewCache<string>({ ttlMs: 10_000, maxEntries: 10, now: c.now });
  const loads = deferredLoads<string>();
  expect(cache.peek('k')).toBeUndefined();
  expect(cache.isLoading('k')).toBe(false);
  const got = cache.get('k', loads.load);
  expect(cache.isLoading('k')).toBe(true);
  expect(cache.peek('k')).toBeUndefined();
  loads.resolve('v');
  await got;
  expect(cache.isLoading('k')).toBe(false);
  expect(cache.peek('k')).toBe('v');
  c.advance(10_000);
  expect(cache.peek('k')).toBeUndefined();
  expect(loads.calls()).toBe(1);
});
