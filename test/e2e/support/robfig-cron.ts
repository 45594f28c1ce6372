import { goDurationError, parseGoDuration } from './go-duration.js';

/**
 * The cron dialect of Velero v1.11's schedule controller: robfig/cron v1.1.0
 * `cron.ParseStandard` (five fields or a descriptor such as "@daily" and
 * "@every 1h30m") and its `Schedule.Next`, reproduced for the Velero stand-in
 * so a Schedule the real Velero would mark FailedValidation is marked so here
 * too, with the same error text. Evaluated in UTC (Velero's clock in its pod).
 * Left out: robfig's panic recovery (its parser cannot panic here).
 */
export interface CronSchedule {
  /** The first activation strictly after `from` (robfig: whole seconds), or undefined if none within five years. */
  next(from: Date): Date | undefined;
}

interface Bounds { min: number; max: number; names?: Record<string, number> }
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = { min: 1, max: 12, names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 } };
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** A field as a set of allowed values, and whether it was written with `*` or `?` (robfig's starBit). */
interface Field { values: Set<number>; star: boolean }
interface Spec { minute: Field; hour: Field; dom: Field; month: Field; dow: Field }

/** Throws an Error with robfig's message (Velero prefixes it with "invalid schedule: "). */
export function parseStandardCron(spec: string): CronSchedule {
  if (spec.length === 0) throw new Error('Empty spec string');
  if (spec.startsWith('@')) return descriptor(spec);
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new Error(`Expected exactly 5 fields, found ${fields.length}: ${spec}`);
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = fields;
  return specSchedule({ minute: field(minute, MINUTES), hour: field(hour, HOURS), dom: field(dom, DOM), month: field(month, MONTHS), dow: field(dow, DOW) });
}

function field(text: string, bounds: Bounds): Field {
  const result: Field = { values: new Set(), star: false };
  for (const expr of text.split(',').filter((r) => r !== '')) {
    const r = range(expr, bounds);
    r.values.forEach((v) => result.values.add(v));
    result.star ||= r.star;
  }
  return result;
}

function range(expr: string, bounds: Bounds): Field {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = (rangeAndStep[0] ?? '').split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    start = intOrName(lowAndHigh[0] ?? '', bounds.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1] ?? '', bounds.names);
    else throw new Error(`Too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = nonNegativeInt(rangeAndStep[1] ?? '');
    if (lowAndHigh.length === 1) end = bounds.max; // "N/step" means "N-max/step"
  } else if (rangeAndStep.length > 2) {
    throw new Error(`Too many slashes: ${expr}`);
  }
  if (start < bounds.min) throw new Error(`Beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  if (end > bounds.max) throw new Error(`End of range (${end}) above maximum (${bounds.max}): ${expr}`);
  if (start > end) throw new Error(`Beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`Step of range should be a positive number: ${expr}`);
  const values = new Set<number>();
  for (let v = start; v <= end; v += step) values.add(v);
  return { values, star };
}

function intOrName(text: string, names?: Record<string, number>): number {
  const named = names?.[text.toLowerCase()];
  return named ?? nonNegativeInt(text);
}

/** Go's strconv.Atoi (optional sign, decimal digits), then robfig's negative check. */
function nonNegativeInt(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`Failed to parse int from ${text}: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = Number(text);
  if (n < 0) throw new Error(`Negative number (${n}) not allowed: ${text}`);
  return n;
}

const all = (b: Bounds): Field => ({ values: new Set(Array.from({ length: b.max - b.min + 1 }, (_, i) => b.min + i)), star: true });
const only = (v: number): Field => ({ values: new Set([v]), star: false });

function descriptor(spec: string): CronSchedule {
  switch (spec) {
    case '@yearly':
    case '@annually':
      return specSchedule({ minute: only(0), hour: only(0), dom: only(1), month: only(1), dow: all(DOW) });
    case '@monthly':
      return specSchedule({ minute: only(0), hour: only(0), dom: only(1), month: all(MONTHS), dow: all(DOW) });
    case '@weekly':
      return specSchedule({ minute: only(0), hour: only(0), dom: all(DOM), month: all(MONTHS), dow: only(0) });
    case '@daily':
    case '@midnight':
      return specSchedule({ minute: only(0), hour: only(0), dom: all(DOM), month: all(MONTHS), dow: all(DOW) });
    case '@hourly':
      return specSchedule({ minute: only(0), hour: all(HOURS), dom: all(DOM), month: all(MONTHS), dow: all(DOW) });
  }
  const every = '@every ';
  if (spec.startsWith(every)) {
    const text = spec.slice(every.length);
    const ms = parseGoDuration(text);
    if (ms === undefined) throw new Error(`Failed to parse duration ${spec}: ${goDurationError(text) ?? 'time: invalid duration'}`);
    // robfig: at least one second, truncated to whole seconds; Next drops the sub-second part of `from`.
    const delay = Math.max(1000, ms - (ms % 1000));
    return { next: (from) => new Date(from.getTime() - (from.getTime() % 1000) + delay) };
  }
  throw new Error(`Unrecognized descriptor: ${spec}`);
}

function specSchedule(s: Spec): CronSchedule {
  const dayMatches = (t: Date): boolean => {
    const domMatch = s.dom.values.has(t.getUTCDate());
    const dowMatch = s.dow.values.has(t.getUTCDay());
    return s.dom.star || s.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
  };
  return {
    next(from) {
      // robfig's SpecSchedule.Next, field by field from the month down, in UTC (its seconds field is always 0).
      let t = new Date(from.getTime() - (from.getTime() % 1000) + 1000);
      let added = false;
      const yearLimit = t.getUTCFullYear() + 5;
      const reset = (parts: [number, number, number, number, number]): void => {
        t = new Date(Date.UTC(...parts));
      };
      wrap: for (;;) {
        if (t.getUTCFullYear() > yearLimit) return undefined;
        while (!s.month.values.has(t.getUTCMonth() + 1)) {
          if (!added) { added = true; reset([t.getUTCFullYear(), t.getUTCMonth(), 1, 0, 0]); }
          reset([t.getUTCFullYear(), t.getUTCMonth() + 1, 1, 0, 0]);
          if (t.getUTCMonth() === 0) continue wrap;
        }
        while (!dayMatches(t)) {
          if (!added) { added = true; reset([t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), 0, 0]); }
          reset([t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1, 0, 0]);
          if (t.getUTCDate() === 1) continue wrap;
        }
        while (!s.hour.values.has(t.getUTCHours())) {
          if (!added) { added = true; reset([t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), t.getUTCHours(), 0]); }
          t = new Date(t.getTime() + 3_600_000);
          if (t.getUTCHours() === 0) continue wrap;
        }
        while (!s.minute.values.has(t.getUTCMinutes())) {
          if (!added) { added = true; t = new Date(t.getTime() - (t.getTime() % 60_000)); }
          t = new Date(t.getTime() + 60_000);
          if (t.getUTCMinutes() === 0) continue wrap;
        }
        if (t.getUTCSeconds() !== 0) {
          // The seconds field is "0": advance to the next whole minute and re-check the fields above.
          if (!added) added = true;
          t = new Date(t.getTime() - (t.getTime() % 60_000) + 60_000);
          continue wrap;
        }
        return t;
      }
    },
  };
}
