import { durationFromEnv, durationMs, formatDuration, GO_DURATION, isGoDuration, parseDuration, SETTING_DURATION } from '../../src/duration.js';

test.each([
  ['8760h', 8760 * 3_600_000],
  ['365d', 365 * 86_400_000],
  ['30s', 30_000],
  ['1h30m', 5_400_000],
  ['1.5h', 5_400_000],
  ['250ms', 250],
  [' 2s ', 2_000],
])('parses %s', (text, ms) => {
  expect(parseDuration(text, 'CERT_VALIDITY')).toBe(ms);
});

test.each(['', '10', 'h', '1y', '-5s', '5 s', '0s', '1h-', '1e3s'])('rejects "%s" naming the setting', (text) => {
  expect(() => parseDuration(text, 'CERT_VALIDITY')).toThrow(/^CERT_VALIDITY must be/);
});

test('env: unset or empty falls back to the default', () => {
  expect(durationFromEnv({}, 'TLS_CHECK_INTERVAL', 42)).toBe(42);
  expect(durationFromEnv({ TLS_CHECK_INTERVAL: '' }, 'TLS_CHECK_INTERVAL', 42)).toBe(42);
  expect(durationFromEnv({ TLS_CHECK_INTERVAL: '2s' }, 'TLS_CHECK_INTERVAL', 42)).toBe(2_000);
});

test('formats in the largest whole unit', () => {
  expect(formatDuration(365 * 86_400_000)).toBe('365d');
  expect(formatDuration(3_600_000 * 25)).toBe('25h');
  expect(formatDuration(30_000)).toBe('30s');
  expect(formatDuration(1_500)).toBe('1500ms');
});

describe('Velero hook timeouts: Go time.ParseDuration syntax, no days', () => {
  test.each(['30s', '5m', '1h30m', '2h', '250ms', '10us', '10µs', '10μs', '100ns', '1.5h'])('accepts %s', (text) => {
    expect(isGoDuration(text)).toBe(true);
  });

  // "1d": Go rejects the unit, so Velero would fail the hook's timeout.
  test.each(['1d', '', '10', ' 30s', '30s ', '-5s', '1e3s', 'h', '5 m', '1h-'])('rejects "%s"', (text) => {
    expect(isGoDuration(text)).toBe(false);
  });

  test('the same parser reads both syntaxes, with days only where asked for', () => {
    expect(durationMs('1d2h', SETTING_DURATION)).toBe(26 * 3_600_000);
    expect(durationMs('1d2h', GO_DURATION)).toBeUndefined();
    expect(durationMs('1h30m', GO_DURATION)).toBe(durationMs('1h30m', SETTING_DURATION));
  });
});
