// The bounds of protection.upgradeHoldLimit and protection.deletionHoldLimit:
// a rollout held for a backup, or a PVC deletion held until its data is safe,
// waits at most this long. Written in the project's one duration syntax.
import { durationMs, formatDuration, SETTING_DURATION } from '../duration.js';

export const MIN_HOLD_LIMIT_MS = 10_000;
export const MAX_HOLD_LIMIT_MS = 24 * 3_600_000;
export const DEFAULT_UPGRADE_HOLD_LIMIT_MS = 15 * 60_000;
export const DEFAULT_DELETION_HOLD_LIMIT_MS = 5 * 60_000;

export const HOLD_LIMIT_RULE = `a duration from ${formatDuration(MIN_HOLD_LIMIT_MS)} to ${formatDuration(MAX_HOLD_LIMIT_MS)}, such as 15m`;

/** The limit in milliseconds, or undefined when `text` is no duration within the bounds. */
export function holdLimitMs(text: string): number | undefined {
  const ms = durationMs(text, SETTING_DURATION);
  if (ms === undefined) return undefined;
  const whole = Math.round(ms);
  return whole >= MIN_HOLD_LIMIT_MS && whole <= MAX_HOLD_LIMIT_MS ? whole : undefined;
}
