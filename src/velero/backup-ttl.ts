// A backup's time to live as the console sends it: "720h" or "30d". The
// region API turned anything else ("30", "1w", "abc") silently into 30 days;
// here it is a 400 naming the rule, so nobody keeps a backup for a month they
// asked to keep for a week.
import { durationMs, SETTING_DURATION } from '../duration.js';

export interface BackupTtl {
  /** As the user wrote it ("30d" or "720h"): the wutong.io/backup-ttl label, what records show. */
  label: string;
  /** The same as a Go duration ("720h0m0s"), for Backup.spec.ttl: how Go writes it, so our objects read like the region API's. */
  spec: string;
}

const HOUR_MS = 3_600_000;
// 1h: Velero's garbage collector looks at expired backups once an hour (its
// default --garbage-collection-frequency), so a shorter TTL would not be kept
// any more exactly, only look as if it were. 3650d (ten years): longer is
// almost certainly a typo (30000d), and it keeps every TTL far inside Go's
// int64-nanosecond time.Duration (about 292 years).
const MIN_HOURS = 1;
const MAX_HOURS = 3650 * 24;

export const BACKUP_TTL_RULE = 'a whole number of hours or days, like 720h or 30d, from 1h to 3650d';

/** 30 days, the region API's default, written as Velero's own default (720h). */
export const DEFAULT_BACKUP_TTL: BackupTtl = { label: '720h', spec: '720h0m0s' };

// One number and one unit, h or d, no sign, no fraction, no leading zero: the
// project's duration syntax allows more ("1h30m", "1.5h"), which a TTL label
// should not carry.
const TTL_SYNTAX = /^[1-9][0-9]{0,6}[hd]$/;

export function parseBackupTtl(text: string): BackupTtl | undefined {
  if (!TTL_SYNTAX.test(text)) return undefined;
  const ms = durationMs(text, SETTING_DURATION);
  if (ms === undefined) return undefined;
  const hours = ms / HOUR_MS;
  if (!Number.isInteger(hours) || hours < MIN_HOURS || hours > MAX_HOURS) return undefined;
  return { label: text, spec: `${hours}h0m0s` };
}
