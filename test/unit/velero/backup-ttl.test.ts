import { BACKUP_TTL_RULE, DEFAULT_BACKUP_TTL, parseBackupTtl } from '../../../src/velero/backup-ttl.js';

test.each([
  ['30d', '720h0m0s'],
  ['720h', '720h0m0s'],
  ['1h', '1h0m0s'],
  ['7d', '168h0m0s'],
  ['3650d', '87600h0m0s'],
  ['87600h', '87600h0m0s'],
])('accepts %s as spec %s, keeping the label as written', (text, spec) => {
  expect(parseBackupTtl(text)).toEqual({ label: text, spec });
});

// The region API turned each of these into 30 days without a word.
test.each(['', '30', 'd', 'h', '0h', '0d', '1.5h', '-1h', '+1h', '1h30m', '30m', '1w', '30D', ' 30d', '30d ', '030d', '3651d', '87601h', '1e3h', 'abc', '9999999999h'])(
  'rejects "%s"',
  (text) => {
    expect(parseBackupTtl(text)).toBeUndefined();
  },
);

test('the default is 30 days, written as Velero writes its own default', () => {
  expect(DEFAULT_BACKUP_TTL).toEqual(parseBackupTtl('720h'));
  expect(parseBackupTtl('30d')?.spec).toBe(DEFAULT_BACKUP_TTL.spec);
  expect(BACKUP_TTL_RULE).toMatch(/1h to 3650d/);
});
