import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { humanBytes, progressRate, recordTime, ttlText } from '../../../../src/api/records/record-format.js';
import { PACKAGE_ROOT } from '../../../../src/package-root.js';

interface GoFormats {
  generator: string;
  bytes: { in: number; out: string }[];
  rates: { total: number; done: number; out: string }[];
  times: { in: string; out: string }[];
}
const go = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'go-record-formats', 'expected.json'), 'utf8')) as GoFormats;

describe('humanBytes: go-humanize Bytes', () => {
  // go-humanize's own TestBytes table (bytes_test.go, v1.0.1 and master), SI half.
  test.each([
    [1, '1 B'],
    [803, '803 B'],
    [999, '999 B'],
    [1024, '1.0 kB'],
    [9999, '10 kB'],
    [1_000_000 - 1, '1000 kB'],
    [1024 * 1024, '1.0 MB'],
    [1e9 - 1e3, '1000 MB'],
    [1e9, '1.0 GB'],
    [1e12 - 1e6, '1000 GB'],
    [9999 * 1000, '10 MB'],
    [1e12, '1.0 TB'],
    [1e15 - 1e12, '999 TB'],
    [1e15, '1.0 PB'],
    [1e18 - 1e15, '999 PB'],
    [1e18, '1.0 EB'],
    [5.5e9, '5.5 GB'],
    // its doc comment
    [82854982, '83 MB'],
  ])('%d → %s (go-humanize test table)', (n, text) => {
    expect(humanBytes(n)).toBe(text);
  });

  test('0 is "-", as the region API shows a backup with no volume data yet', () => {
    expect(humanBytes(0)).toBe('-');
  });

  test(`agrees with real Go on ${go.bytes.length} sizes: unit boundaries and "%.0f" ties (${go.generator})`, () => {
    expect(go.bytes.length).toBeGreaterThan(50);
    const mismatches = go.bytes.filter((c) => humanBytes(c.in) !== c.out).map((c) => `${c.in}: ours ${humanBytes(c.in)}, Go ${c.out}`);
    expect(mismatches).toEqual([]);
  });

  test('rounds a tie to even as Go\'s "%.0f" does, where toFixed would round up', () => {
    expect(humanBytes(12_500)).toBe('12 kB');
    expect(humanBytes(13_500)).toBe('14 kB');
    expect((12.5).toFixed(0)).toBe('13');
  });
});

describe('progressRate: Go "%.2f%%" of done/total*100', () => {
  test.each([
    [0, 0, '-'],
    [200, 90, '45.00%'],
    [3, 1, '33.33%'],
    [3, 2, '66.67%'],
    [1, 1, '100.00%'],
  ])('total %d done %d → %s', (total, done, text) => {
    expect(progressRate(total, done)).toBe(text);
  });

  test('ties round to even on the exact binary value, as Go does (0.125 → 0.12, 0.375 → 0.38)', () => {
    expect(progressRate(800, 1)).toBe('0.12%');
    expect(progressRate(800, 3)).toBe('0.38%');
    expect((0.125).toFixed(2)).toBe('0.13');
  });

  test(`agrees with real Go on ${go.rates.length} pairs, every done/total up to 64 among them`, () => {
    expect(go.rates.length).toBeGreaterThan(2000);
    const mismatches = go.rates
      .filter((c) => progressRate(c.total, c.done) !== c.out)
      .map((c) => `${c.done}/${c.total}: ours ${progressRate(c.total, c.done)}, Go ${c.out}`);
    expect(mismatches).toEqual([]);
  });
});

describe('recordTime: Go layout 2006-01-02 15:04:05 in UTC', () => {
  test.each(go.times.map((c) => [c.in, c.out]))('%s → %s (real Go)', (iso, text) => {
    expect(recordTime(iso)).toBe(text);
  });

  test('a comma before the fraction, which Go 1.19 time.Parse accepts too', () => {
    expect(recordTime('2024-01-02T03:04:05,5Z')).toBe('2024-01-02 03:04:05');
  });

  // Each rejected by Go's time.Parse(time.RFC3339, ...) too (checked with go1.19.8).
  test.each([undefined, '', 'yesterday', '2024-02-30T00:00:00Z', '2024-01-02 03:04:05', '2024-01-02T24:00:00Z', '2024-01-02T03:04:05', '2024-01-02t03:04:05z'])(
    'unset or not RFC 3339 (%s) → "-"',
    (iso) => {
      expect(recordTime(iso)).toBe('-');
    },
  );
});

describe('ttlText: the label as written, else the spec TTL in whole hours', () => {
  test.each([
    ['30d', '720h0m0s', '30d'],
    ['720h', '720h0m0s', '720h'],
    [undefined, '720h0m0s', '720h'],
    ['', '168h0m0s', '168h'],
    [undefined, '1h30m0s', '1h'],
    [undefined, undefined, '-'],
    [undefined, 'forever', '-'],
  ])('label %s, spec %s → %s', (label, spec, text) => {
    expect(ttlText(label, spec)).toBe(text);
  });
});
