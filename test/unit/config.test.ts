import { configFromEnv } from '../../src/config.js';

describe('BACKFILL_RATE', () => {
  test('defaults to 20 patches a second', () => {
    expect(configFromEnv({}).backfillRate).toBe(20);
  });
  test.each([['2', 2], ['0.5', 0.5], [' 50 ', 50]])('%j → %s', (value, rate) => {
    expect(configFromEnv({ BACKFILL_RATE: value }).backfillRate).toBe(rate);
  });
  test.each(['0', '-1', 'fast', 'Infinity'])('%j is refused, naming the setting', (value) => {
    expect(() => configFromEnv({ BACKFILL_RATE: value })).toThrow(`BACKFILL_RATE must be a positive number per second, got "${value}"`);
  });
});
