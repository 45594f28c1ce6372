// The region API's value formats, reproduced exactly: the console parses and
// shows these strings, and records are compared byte for byte with the Go
// service's. Each function names the Go expression it matches (wutong-paas/
// wutong api/handler/velero.go); test/fixtures/go-record-formats holds the
// real Go outputs the unit tests check against.
import { durationMs, GO_DURATION } from '../../duration.js';

/** Shown for a time, size or rate that is not there yet. */
export const NOT_SET = '-';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * metav1.Time.Format("2006-01-02 15:04:05"), in UTC, or "-" when unset:
 * fractions of a second are cut, not rounded, as Go's Format does. Parsed by
 * hand rather than with Date.parse, which also accepts text that is not
 * RFC 3339 (and so would not have decoded in Go either).
 */
export function recordTime(iso?: string): string {
  if (iso === undefined) return NOT_SET;
  const m = RFC3339.exec(iso);
  if (m === null) return NOT_SET;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [, , , , , , , , sign, offsetHours, offsetMinutes] = m;
  if (hour > 23 || minute > 59 || second > 59) return NOT_SET;
  const t = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  t.setUTCFullYear(year, month - 1, day);
  // Go's time.Parse refuses 2024-02-30 rather than rolling it over into March.
  if (t.getUTCMonth() !== month - 1 || t.getUTCDate() !== day) return NOT_SET;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  t.setUTCHours(hour, minute - offset, second, 0);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

const SI_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/**
 * go-humanize Bytes (v1.0.x), or "-" for 0 (the region API's formatBytesSize):
 * the unit is floor(log1000(n)), the value rounded to one decimal
 * (floor(x*10+0.5)/10), printed "%.1f" below 10 and "%.0f" from 10 up. Go's
 * "%.0f" rounds a tie (12.5) to even ("12 kB"), where toFixed rounds it up, so
 * the printing is done on the integer number of tenths instead.
 */
export function humanBytes(n: number): string {
  if (!(n > 0) || !Number.isFinite(n)) return NOT_SET;
  if (n < 10) return `${Math.floor(n)} B`;
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1000)), SI_UNITS.length - 1);
  const unit = SI_UNITS[e] ?? 'EB';
  const tenths = Math.floor((n / Math.pow(1000, e)) * 10 + 0.5);
  if (tenths < 100) return `${Math.floor(tenths / 10)}.${tenths % 10} ${unit}`;
  const whole = Math.floor(tenths / 10);
  const digit = tenths % 10;
  const rounded = digit > 5 || (digit === 5 && whole % 2 === 1) ? whole + 1 : whole;
  return `${rounded} ${unit}`;
}

/**
 * fmt.Sprintf("%.2f%%", float64(done)/float64(total)*100), or "-" when total
 * is 0 (formatProcessRate). Go rounds the exact binary value and a tie to
 * even; toFixed rounds the exact value too but a tie up. Ties at two decimals
 * are the values whose exact binary expansion ends in 5 at the third decimal:
 * multiples of 1/8 that are not multiples of 1/4 (0.125, 45.375...), where
 * x*100 is an exact integer plus one half.
 */
export function progressRate(total: number, done: number): string {
  if (total === 0) return NOT_SET;
  const x = (done / total) * 100;
  if (!Number.isFinite(x)) return NOT_SET;
  const isTie = Number.isInteger(x * 8) && !Number.isInteger(x * 4);
  if (!isTie) return `${x.toFixed(2)}%`;
  const lower = Math.floor(x * 100);
  const hundredths = lower % 2 === 0 ? lower : lower + 1;
  return `${(hundredths / 100).toFixed(2)}%`;
}

const HOUR_MS = 3_600_000;

/**
 * The TTL records show (ttlStr): the wutong.io/backup-ttl label as the user
 * wrote it, else the spec TTL in whole hours ("720h0m0s" → "720h"), else "-".
 * Go cut its Duration.String() at the first "h", which printed "30m0sh" for a
 * TTL under an hour and "0sh" for none; whole hours ("0h") and "-" are what
 * that meant.
 */
export function ttlText(label?: string, specTtl?: string): string {
  if (label !== undefined && label !== '') return label;
  if (specTtl === undefined) return NOT_SET;
  const ms = durationMs(specTtl, GO_DURATION);
  if (ms === undefined) return NOT_SET;
  return `${Math.floor(ms / HOUR_MS)}h`;
}
