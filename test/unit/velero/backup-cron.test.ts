import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { isBackupCron } from '../../../src/velero/backup-cron.js';

interface GoCron {
  generator: string;
  specs: { spec: string; v1: boolean; v3: boolean }[];
}
const robfig = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'go-cron', 'expected.json'), 'utf8')) as GoCron;

// What robfig/cron accepts and we refuse on purpose (see backup-cron.ts): nobody means these.
// The last: no run within five years, which Velero v1.11.1 takes as due at every check (isBackupCron).
const DELIBERATELY_STRICTER = [/^\s|\s$/, /,,/, /\+/, /\*-/, /^@every (0s|-)/, /^0 0 30 2 \*$/];

// Each accepted spec is one robfig/cron ParseStandard accepts (its parser_test.go and README use most of them).
test.each([
  '0 2 * * *',
  '*/15 * * * *',
  '0 0 1 * *',
  '5 4 * * sun',
  '0 0 * * MON-FRI',
  '0 3 * jan,jul *',
  '0 0 1-31/2 * *',
  '5/15 * * * *',
  '0 */6 * * ?',
  '59 23 31 12 6',
  '0 0 * * 0',
  '0\t2 * * *',
  '0 8-18/2 * * 1-5',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
  '@every 12h',
  '@every 1h30m',
  '@every 90s',
])('accepts "%s"', (spec) => {
  expect(isBackupCron(spec)).toBe(true);
});

test.each([
  ['', 'empty'],
  ['0 2 * *', 'four fields'],
  ['0 0 2 * * *', 'six fields (seconds): ParseStandard has none'],
  ['60 * * * *', 'minute 60'],
  ['* 24 * * *', 'hour 24'],
  ['* * 0 * *', 'day 0'],
  ['* * 32 * *', 'day 32'],
  ['* * * 13 *', 'month 13'],
  ['* * * * 7', 'weekday 7 (robfig allows 0-6)'],
  ['5-1 * * * *', 'range backwards'],
  ['*/0 * * * *', 'step 0'],
  ['1-2-3 * * * *', 'two hyphens'],
  ['*/2/3 * * * *', 'two slashes'],
  ['0 0 L * *', 'L (Quartz)'],
  ['0 0 * * 1#2', '# (Quartz)'],
  ['0 0 15W * *', 'W (Quartz)'],
  ['0 0 * * funday', 'unknown day name'],
  ['@reboot', 'not a robfig descriptor'],
  ['@every', 'no duration'],
  ['@every 1d', 'Go has no day unit'],
  ['@every 0s', 'zero interval'],
  ['@every -1h', 'negative interval'],
  [' 0 2 * * *', 'leading space'],
  ['0 2 * * * ', 'trailing space'],
  ['@daily ', 'descriptor with a trailing space (robfig rejects it)'],
  ['1,,2 * * * *', 'empty list item'],
  ['+5 * * * *', 'sign'],
  ['0 0 30 2 *', 'never runs: robfig Next gives the zero time, and Velero v1.11.1 backs up at every check (schedule_controller.go L246-257)'],
  ['0 0 31 4,6,9,11 *', 'never runs either'],
])('rejects "%s" (%s)', (spec) => {
  expect(isBackupCron(spec)).toBe(false);
});

describe(`against real robfig/cron ParseStandard (${robfig.generator})`, () => {
  test(`never accepts a spec robfig v1.1.0 or v3.0.1 rejects, of ${robfig.specs.length}`, () => {
    expect(robfig.specs.length).toBeGreaterThan(200);
    expect(robfig.specs.filter((r) => isBackupCron(r.spec) && !(r.v1 && r.v3)).map((r) => r.spec)).toEqual([]);
  });

  test('accepts every spec both accept, except the deliberately refused oddities', () => {
    const refused = robfig.specs.filter((r) => r.v1 && r.v3 && !isBackupCron(r.spec)).map((r) => r.spec);
    expect(refused.filter((spec) => !DELIBERATELY_STRICTER.some((odd) => odd.test(spec)))).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
  });
});
