// Whether Velero will run a Schedule with this cron spec. Velero parses
// Schedule.spec.schedule with robfig/cron's ParseStandard and marks a Schedule
// it cannot parse FailedValidation, after we have already answered the
// console: so the API checks first and answers 400.
//
// Written here rather than taken from npm: the cron libraries there (cron-parser,
// croner, node-cron) accept seconds fields, L, W, # and year fields, which
// robfig/cron rejects: validating with one of them would let through exactly
// the specs Velero then refuses. This accepts a subset of ParseStandard (robfig
// cron v1.1.0 parser.go, and v3's, which reads the same grammar):
//   - five fields (minute hour day-of-month month day-of-week), separated by
//     spaces or tabs; each a comma list of `*`, `?`, `n` or `n-m`, each
//     optionally `/step`; month and weekday names (jan, mon) in any case;
//   - @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly;
//   - @every <Go duration> (time.ParseDuration), above zero.
// It rejects what robfig tolerates but nobody means: empty list items ("1,,2"),
// signs ("+5"), "*-5", leading or trailing whitespace, negative or zero @every.
import { durationMs, GO_DURATION } from '../duration.js';

export const BACKUP_CRON_RULE =
  'a standard 5-field cron spec (minute hour day-of-month month day-of-week), like "0 2 * * *", ' +
  'or @yearly, @monthly, @weekly, @daily, @hourly, or "@every <duration>" like "@every 12h"';

interface FieldBounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

// robfig/cron spec.go bounds; day-of-week is 0-6 (7 is rejected there).
const FIELDS: readonly FieldBounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DAY_NAMES },
];

const DESCRIPTORS: ReadonlySet<string> = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const EVERY = '@every ';
const NUMBER = /^[0-9]{1,4}$/;

function value(text: string, bounds: FieldBounds): number | undefined {
  if (NUMBER.test(text)) return Number(text);
  return bounds.names?.[text.toLowerCase()];
}

/** One comma-separated item: `*`, `?`, `n`, `n-m`, each with an optional `/step`, as robfig's getRange reads it. */
function isRange(item: string, bounds: FieldBounds): boolean {
  const parts = item.split('/');
  if (parts.length > 2) return false;
  const [span = '', stepText] = parts;
  if (stepText !== undefined && !(NUMBER.test(stepText) && Number(stepText) > 0)) return false;
  if (span === '*' || span === '?') return true;
  const ends = span.split('-');
  if (ends.length > 2) return false;
  const start = value(ends[0] ?? '', bounds);
  // "5/15" means 5 to the maximum in steps of 15 (robfig: a single value with a step runs to the field's end).
  const end = ends.length === 2 ? value(ends[1] ?? '', bounds) : stepText !== undefined ? bounds.max : start;
  return start !== undefined && end !== undefined && start >= bounds.min && end <= bounds.max && start <= end;
}

export function isBackupCron(text: string): boolean {
  if (DESCRIPTORS.has(text)) return true;
  if (text.startsWith(EVERY)) {
    const ms = durationMs(text.slice(EVERY.length), GO_DURATION);
    return ms !== undefined && ms > 0;
  }
  const fields = text.split(/[ \t]+/);
  if (fields.length !== FIELDS.length) return false;
  return fields.every((field, i) => {
    const bounds = FIELDS[i];
    return bounds !== undefined && field.split(',').every((item) => isRange(item, bounds));
  });
}
