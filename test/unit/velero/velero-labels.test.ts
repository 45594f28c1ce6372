import { veleroLabelValue } from '../../../src/velero/velero-labels.js';

test('names up to 63 characters are their own label value', () => {
  expect(veleroLabelValue('b-1')).toBe('b-1');
  expect(veleroLabelValue('x'.repeat(63))).toBe('x'.repeat(63));
});

test("longer names are shortened as Velero's label.GetValidName does: 57 characters and 6 hex of the sha256", () => {
  // Expected value computed independently: python3 hashlib.sha256(name).hexdigest()[:6]
  const name = 'nightly-database-backup-for-the-production-cluster-in-region-east-20240101000000';
  expect(veleroLabelValue(name)).toBe('nightly-database-backup-for-the-production-cluster-in-reg46bf3c');
  expect(veleroLabelValue(name)).toHaveLength(63);
});
