// Certificate lifetimes and check intervals are written like Go durations
// ("8760h", "90m", "30s", "1h30m") plus a day unit ("365d"), because
// operators think of certificate lifetimes in days.
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Milliseconds in a duration like "8760h", "365d" or "1h30m".
 * `field` names the setting in the error ("CERT_VALIDITY must be ...").
 */
export function parseDuration(text: string, field: string): number {
  const value = text.trim();
  if (!DURATION.test(value)) {
    throw new Error(`${field} must be a duration such as 8760h, 365d, 90m or 30s, got "${text}"`);
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  total = Math.round(total);
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
