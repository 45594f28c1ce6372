// One duration syntax for the whole project: Go's time.ParseDuration units
// ("30s", "5m", "1h30m", "250ms", "10us"), because Velero parses hook timeouts
// with it, plus a day unit ("365d") where certificate settings accept it,
// because operators think of certificate lifetimes in days. Numbers are plain
// decimals: no sign, no exponent, a unit on every part.
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5, as Go spells it
  'μs': 1e-3, // U+03BC, which Go accepts too
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
// Longer units first, so "5ms" is five milliseconds, not five minutes and an "s".
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h|d)/y;

export interface DurationSyntax {
  /** Accept the "d" unit, which Go (and so Velero) rejects. */
  days: boolean;
}

/** Velero hook timeouts: exactly what Go's time.ParseDuration would accept (a subset of it). */
export const GO_DURATION: DurationSyntax = { days: false };
/** Certificate lifetimes and intervals: Go's syntax plus days. */
export const SETTING_DURATION: DurationSyntax = { days: true };

/** Milliseconds in `text`, or undefined when it is not a duration in this syntax. */
export function durationMs(text: string, syntax: DurationSyntax): number | undefined {
  if (text === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const part = PART.exec(text);
    if (part === null) return undefined;
    const unit = part[2] ?? '';
    if (unit === 'd' && !syntax.days) return undefined;
    total += Number(part[1]) * (UNIT_MS[unit] ?? Number.NaN);
  }
  return total;
}

export function isGoDuration(value: string): boolean {
  return durationMs(value, GO_DURATION) !== undefined;
}

/**
 * Milliseconds in a setting like "8760h", "365d" or "1h30m", whole and
 * above zero. `field` names the setting in the error ("CERT_VALIDITY must be ...").
 */
export function parseDuration(text: string, field: string): number {
  const ms = durationMs(text.trim(), SETTING_DURATION);
  if (ms === undefined) {
    throw new Error(`${field} must be a duration such as 8760h, 365d, 90m or 30s, got "${text}"`);
  }
  const total = Math.round(ms);
  if (!(total > 0)) throw new Error(`${field} must be longer than zero, got "${text}"`);
  return total;
}

/** The env value parsed, or the default when unset or empty. */
export function durationFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallbackMs : parseDuration(value, name);
}

/** "8760h" style rendering for logs and help texts. */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
