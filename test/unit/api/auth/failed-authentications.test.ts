import { FailedAuthentications, sourceAddress } from '../../../../src/api/auth/failed-authentications.js';

function limiter(limit: number, windowMs = 10_000, maxSources?: number) {
  let t = 1_000_000;
  const failed = new FailedAuthentications({ limit, windowMs, ...(maxSources === undefined ? {} : { maxSources }), now: () => t });
  return { failed, advance: (ms: number) => (t += ms) };
}

test('a source is refused once it has `limit` failures in the window, until the oldest leaves it (sliding)', () => {
  const { failed, advance } = limiter(3);
  for (let i = 0; i < 3; i++) {
    expect(failed.retryAfterMs('a')).toBe(0);
    failed.recordFailure('a');
    advance(1_000);
  }
  // Failures at 0, 1 and 2 s; now 3 s: refused until the first is 10 s old.
  expect(failed.retryAfterMs('a')).toBe(7_000);
  expect(failed.retryAfterMs('b')).toBe(0);
  advance(7_000);
  expect(failed.retryAfterMs('a')).toBe(0);
  failed.recordFailure('a');
  expect(failed.retryAfterMs('a')).toBe(1_000);
});

test('reviews under way take the slots failures would: `limit` at once, and one back per endReview', () => {
  const { failed } = limiter(3);
  failed.recordFailure('a');
  expect(failed.tryStartReview('a')).toBe(true);
  expect(failed.tryStartReview('a')).toBe(true);
  expect(failed.tryStartReview('a')).toBe(false);
  expect(failed.tryStartReview('b')).toBe(true);
  failed.endReview('a');
  expect(failed.tryStartReview('a')).toBe(true);
});

test('a source with nothing in the window and no review under way is forgotten', () => {
  const { failed, advance } = limiter(3);
  failed.recordFailure('a');
  expect(failed.tryStartReview('b')).toBe(true);
  expect(failed.size).toBe(2);
  failed.endReview('b');
  expect(failed.size).toBe(1);
  advance(10_000);
  expect(failed.retryAfterMs('a')).toBe(0);
  expect(failed.size).toBe(0);
});

test('memory is bounded: past maxSources the least recently failing source is dropped', () => {
  const { failed } = limiter(2, 10_000, 100);
  for (let i = 0; i < 10_000; i++) failed.recordFailure(`10.0.${i >> 8}.${i & 255}`);
  expect(failed.size).toBe(100);
  failed.recordFailure('10.0.39.15');
  expect(failed.retryAfterMs('10.0.39.15')).toBeGreaterThan(0);
  expect(failed.retryAfterMs('10.0.0.0')).toBe(0);
});

test('a source keeps at most `limit` timestamps however often it fails', () => {
  const { failed } = limiter(4);
  for (let i = 0; i < 1_000; i++) failed.recordFailure('a');
  expect(failed.retryAfterMs('a')).toBe(10_000);
});

test('limit 0, or no source: never refused, nothing kept', () => {
  const { failed } = limiter(0);
  for (let i = 0; i < 10; i++) failed.recordFailure('a');
  expect(failed.retryAfterMs('a')).toBe(0);
  expect(failed.tryStartReview('a')).toBe(true);
  expect(failed.size).toBe(0);
  const other = limiter(1).failed;
  other.recordFailure(undefined);
  expect(other.retryAfterMs(undefined)).toBe(0);
  expect(other.size).toBe(0);
});

test('sourceAddress is the TCP peer; an IPv4-mapped IPv6 address is its IPv4 address', () => {
  expect(sourceAddress({ remoteAddress: '10.1.2.3' })).toBe('10.1.2.3');
  expect(sourceAddress({ remoteAddress: '::ffff:10.1.2.3' })).toBe('10.1.2.3');
  expect(sourceAddress({ remoteAddress: 'fd00::1' })).toBe('fd00::1');
  expect(sourceAddress({ remoteAddress: undefined })).toBeUndefined();
  expect(sourceAddress(undefined)).toBeUndefined();
});
