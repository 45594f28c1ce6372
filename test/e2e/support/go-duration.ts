/**
 * Go's time.ParseDuration, for the Velero stand-in: Velero reads
 * Backup.spec.ttl and `@every <duration>` schedules with it, so the
 * stand-in accepts exactly what Go accepts ("720h", "1h30m", "1.5h", "0").
 * Test code plays an outside system and keeps its own parser (it must not
 * import src/, whose TTL parser is deliberately stricter).
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Go's error text for a duration it refuses, in the order its parser finds the fault; undefined if Go accepts it. */
export function goDurationError(text: string): string | undefined {
  const quoted = JSON.stringify(text);
  let rest = text.replace(/^[-+]/, '');
  if (rest === '0') return undefined;
  if (rest === '') return `time: invalid duration ${quoted}`;
  while (rest !== '') {
    const number = /^\d*(?:\.\d*)?/.exec(rest)?.[0] ?? '';
    if (number === '' || number === '.') return `time: invalid duration ${quoted}`;
    rest = rest.slice(number.length);
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? '';
    if (unit === '') return `time: missing unit in duration ${quoted}`;
    if (UNIT_MS[unit] === undefined) return `time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`;
    rest = rest.slice(unit.length);
  }
  return undefined;
}

/** Milliseconds, or undefined where Go returns an error. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/s.exec(text);
  const sign = match?.[1] === '-' ? -1 : 1;
  const body = match?.[2] ?? '';
  if (body === '0') return 0;
  if (body === '') return undefined;
  const part = /(\d*(?:\.\d*)?)([a-zµμ]+)/gy;
  let total = 0;
  let at = 0;
  for (let m = part.exec(body); m; m = part.exec(body)) {
    const [whole, number = '', unit = ''] = m;
    const perUnit = UNIT_MS[unit];
    if (number === '' || number === '.' || perUnit === undefined) return undefined;
    total += Number(number) * perUnit;
    at += whole.length;
  }
  return at === body.length ? sign * total : undefined;
}

/** How Go prints a duration of whole seconds: "720h0m0s", "10m0s", "0s". */
export function formatGoDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}
