import { ApiError } from '../../../../src/api/api-error.js';
import { earlierTry, idempotencyOf } from '../../../../src/api/use-cases/idempotency.js';

const SERVICE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const stored = (labels: Record<string, string>, annotations: Record<string, string>): { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } => ({ metadata: { labels, annotations } });

test('no header: no idempotency; a header: a label-sized key bound to route and component, and a digest of the body', () => {
  expect(idempotencyOf(undefined, 'POST backup', SERVICE_ID, {})).toBeUndefined();
  const one = idempotencyOf('k1', 'POST backup', SERVICE_ID, { desc: 'a', ttl: '7d' })!;
  expect(one.key).toMatch(/^[0-9a-f]{40}$/);
  expect(idempotencyOf('k1', 'POST restore', SERVICE_ID, {})!.key).not.toBe(one.key);
  expect(idempotencyOf('k1', 'POST backup', 'ffffffffffffffffffffffffffffffff', {})!.key).not.toBe(one.key);
  // Key order in the body does not matter: the same request serialised differently is the same request.
  expect(idempotencyOf('k1', 'POST backup', SERVICE_ID, { ttl: '7d', desc: 'a' })!.digest).toBe(one.digest);
});

test('a retry finds the object the first try created; the same key with another body is 422', () => {
  const first = idempotencyOf('k1', 'POST backup', SERVICE_ID, { desc: 'a' })!;
  const objects = [stored({}, {}), stored({ 'backup.wutong.io/idempotency-key': first.key }, { 'backup.wutong.io/request-digest': first.digest })];
  expect(earlierTry(objects, first)).toBe(objects[1]);
  expect(earlierTry(objects, idempotencyOf('k2', 'POST backup', SERVICE_ID, { desc: 'a' }))).toBeUndefined();
  expect(earlierTry(objects, undefined)).toBeUndefined();
  const reused = idempotencyOf('k1', 'POST backup', SERVICE_ID, { desc: 'b' });
  expect(() => earlierTry(objects, reused)).toThrow(ApiError);
  expect(() => earlierTry(objects, reused)).toThrow(/already used with a different request body/);
});
