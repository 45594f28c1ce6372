// Whether Velero will run a Schedule with this cron spec, and when. Velero parses
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
// signs ("+5"), "*-5", leading or trailing whitespace, negative or zero @every,
// and (isBackupCron) a spec that never runs, which Velero runs every minute.
// Run times (parseBackupCron(...).next) are robfig's Schedule.Next in UTC,
// checked against real Go output (test/fixtures/go-robfig-next): coverage
// needs them to say when a component's next backup is due. The Velero
// stand-in has its own copy on purpose (test code plays Velero and imports
// nothing from src/).
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

const EVERY = '@every ';
const NUMBER = /^[0-9]{1,4}$/;

function value(text: string, bounds: FieldBounds): number | undefined {
  if (NUMBER.test(text)) return Number(text);
  return bounds.names?.[text.toLowerCase()];
}

/** A field as the set of values it allows, and whether it was written `*` or `?` (robfig's starBit, which changes how days match). */
interface CronField {
  values: ReadonlySet<number>;
  star: boolean;
}

/** One comma-separated item: `*`, `?`, `n`, `n-m`, each with an optional `/step`, as robfig's getRange reads it. */
function parseRange(item: string, bounds: FieldBounds): CronField | undefined {
  const parts = item.split('/');
  if (parts.length > 2) return undefined;
  const [span = '', stepText] = parts;
  if (stepText !== undefined && !(NUMBER.test(stepText) && Number(stepText) > 0)) return undefined;
  const step = stepText === undefined ? 1 : Number(stepText);
  const star = span === '*' || span === '?';
  let start = bounds.min;
  let end = bounds.max;
  if (!star) {
    const ends = span.split('-');
    if (ends.length > 2) return undefined;
    const first = value(ends[0] ?? '', bounds);
    // "5/15" means 5 to the maximum in steps of 15 (robfig: a single value with a step runs to the field's end).
    const last = ends.length === 2 ? value(ends[1] ?? '', bounds) : stepText !== undefined ? bounds.max : first;
    if (first === undefined || last === undefined || first < bounds.min || last > bounds.max || first > last) return undefined;
    [start, end] = [first, last];
  }
  const values = new Set<number>();
  for (let v = start; v <= end; v += step) values.add(v);
  return { values, star };
}

function parseField(text: string, bounds: FieldBounds): CronField | undefined {
  const values = new Set<number>();
  let star = false;
  for (const item of text.split(',')) {
    const range = parseRange(item, bounds);
    if (range === undefined) return undefined;
    range.values.forEach((v) => values.add(v));
    star ||= range.star;
  }
  return { values, star };
}

/** When a valid Schedule runs, as Velero's robfig/cron v1.1.0 computes it (in UTC, Velero's clock in its pod). */
export interface BackupCron {
  /** The first run strictly after `from`, or undefined when there is none within five years (robfig gives up there too). */
  next(from: Date): Date | undefined;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

function fieldsSchedule([minute, hour, dom, month, dow]: readonly CronField[]): BackupCron | undefined {
  if (!minute || !hour || !dom || !month || !dow) return undefined;
  // robfig: when either day field is a star, both must match; otherwise either does ("0 0 1 * mon": the 1st and every Monday).
  const dayMatches = (t: Date): boolean =>
    dom.star || dow.star ? dom.values.has(t.getUTCDate()) && dow.values.has(t.getUTCDay()) : dom.values.has(t.getUTCDate()) || dow.values.has(t.getUTCDay());
  return {
    next(from) {
      // The seconds field is 0: the earliest candidate is the next whole minute. Each field that does not
      // match moves to the start of the next unit of it, as robfig's SpecSchedule.Next does.
      let t = Math.floor(from.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      const limit = Date.UTC(new Date(t).getUTCFullYear() + 5, 11, 31, 23, 59);
      while (t <= limit) {
        const d = new Date(t);
        if (!month.values.has(d.getUTCMonth() + 1)) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
        else if (!dayMatches(d)) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
        else if (!hour.values.has(d.getUTCHours())) t = Math.floor(t / HOUR_MS) * HOUR_MS + HOUR_MS;
        else if (!minute.values.has(d.getUTCMinutes())) t += MINUTE_MS;
        else return d;
      }
      return undefined;
    },
  };
}

// Descriptors are their five-field equivalents (robfig parser.go parseDescriptor).
const DESCRIPTOR_FIELDS: ReadonlyMap<string, string> = new Map([
  ['@yearly', '0 0 1 1 *'],
  ['@annually', '0 0 1 1 *'],
  ['@monthly', '0 0 1 * *'],
  ['@weekly', '0 0 * * 0'],
  ['@daily', '0 0 * * *'],
  ['@midnight', '0 0 * * *'],
  ['@hourly', '0 * * * *'],
]);

/** The Schedule's runs, or undefined when Velero would refuse the spec (see the rules at the top). */
export function parseBackupCron(text: string): BackupCron | undefined {
  if (text.startsWith(EVERY)) {
    const ms = durationMs(text.slice(EVERY.length), GO_DURATION);
    if (ms === undefined || !(ms > 0)) return undefined;
    // robfig: at least one second, whole seconds, counted from `from` with its fraction of a second dropped.
    const delay = Math.max(1000, ms - (ms % 1000));
    return { next: (from) => new Date(Math.floor(from.getTime() / 1000) * 1000 + delay) };
  }
  const fields = (DESCRIPTOR_FIELDS.get(text) ?? text).split(/[ \t]+/);
  if (fields.length !== FIELDS.length) return undefined;
  const parsed: CronField[] = [];
  for (const [i, field] of fields.entries()) {
    const bounds = FIELDS[i];
    const result = bounds && parseField(field, bounds);
    if (!result) return undefined;
    parsed.push(result);
  }
  return fieldsSchedule(parsed);
}

/**
 * Whether Velero runs the spec as its author means it. One with no run
 * within five years ("0 0 30 2 *") is accepted by robfig, whose Next then
 * gives the zero time, and Velero v1.11.1 finds now after it: due at every
 * check, a backup a minute (pkg/controller/schedule_controller.go L246-257):
 * refused.
 */
export function isBackupCron(text: string): boolean {
  return parseBackupCron(text)?.next(new Date()) !== undefined;
}
