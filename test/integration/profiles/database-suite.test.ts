import { databaseSuite, SKIP_PROFILES_HINT } from './database-tools.js';

// The database profile suites used to turn into describe.skip when apt could
// not install their servers, leaving CI green with nothing run.

test('a suite whose tools cannot be installed fails, naming the explicit way to skip', () => {
  // No Debian package provides this tool, so the installer cannot help.
  expect(() => databaseSuite(['wutong-backup-no-such-database-tool'], {})).toThrow(SKIP_PROFILES_HINT);
}, 20 * 60_000);

test('PROFILES=0 skips, without installing anything', () => {
  expect(databaseSuite(['wutong-backup-no-such-database-tool'], { PROFILES: '0' })).toBe(describe.skip);
});

test('present tools give a suite that runs', () => {
  expect(databaseSuite(['sh'], {})).toBe(describe);
});
