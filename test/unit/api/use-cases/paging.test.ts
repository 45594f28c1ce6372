import { isContinueToken, newestFirst, page } from '../../../../src/api/use-cases/backups.js';

const item = (name: string, creationTimestamp: string): { metadata: { name: string; creationTimestamp: string } } => ({ metadata: { name, creationTimestamp } });

test('newest first by creationTimestamp, ties broken by name so the order is stable', () => {
  const sorted = [item('a', '2026-12-01T00:00:00Z'), item('c', '2026-12-02T00:00:00Z'), item('b', '2026-12-02T00:00:00Z')].sort(newestFirst);
  expect(sorted.map((i) => i.metadata.name)).toEqual(['c', 'b', 'a']);
});

test('pages follow each other without repeats or gaps, and a record created between two pages does not shift the next one', () => {
  const all = Array.from({ length: 5 }, (_, i) => item(`b${i}`, `2026-12-0${i + 1}T00:00:00Z`)).sort(newestFirst);
  const first = page(all, 2, undefined);
  expect(first.items.map((i) => i.metadata.name)).toEqual(['b4', 'b3']);
  const withNewer = [item('b9', '2026-12-09T00:00:00Z'), ...all];
  const second = page(withNewer, 2, first.next);
  expect(second.items.map((i) => i.metadata.name)).toEqual(['b2', 'b1']);
  const last = page(withNewer, 2, second.next);
  expect(last.items.map((i) => i.metadata.name)).toEqual(['b0']);
  expect(last.next).toBeUndefined();
});

test('without a limit everything comes at once, with no continue token', () => {
  expect(page([item('a', '2026-12-01T00:00:00Z')], undefined, undefined)).toEqual({ items: [item('a', '2026-12-01T00:00:00Z')] });
});

test('only tokens this API made are accepted', () => {
  const token = page([item('a', '1'), item('b', '0')], 1, undefined).next!;
  expect(isContinueToken(token)).toBe(true);
  expect(isContinueToken('garbage')).toBe(false);
  expect(isContinueToken(Buffer.from('{"a":1}').toString('base64url'))).toBe(false);
});
