import { formatDuration } from '../duration.js';
import { DEFAULT_BACKUP_TTL, parseBackupTtl } from '../velero/backup-ttl.js';
import type { RuleProtection } from './compiled-policy.js';
import { DEFAULT_DELETION_HOLD_LIMIT_MS, DEFAULT_UPGRADE_HOLD_LIMIT_MS, holdLimitMs } from './hold-limit.js';
import type { ProtectionDocument } from './hook-policy-schema.js';

/** A rule's validated `protection` as the controller uses it: the TTL parsed, 30 days when left out (the API's default too); limits in ms. */
export function compileProtection(doc: ProtectionDocument): RuleProtection {
  // The schema has already refused a TTL or a limit that does not parse.
  const ttl = doc.ttl === undefined ? DEFAULT_BACKUP_TTL : (parseBackupTtl(doc.ttl) ?? DEFAULT_BACKUP_TTL);
  const limit = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : (holdLimitMs(text) ?? fallback));
  return {
    schedule: doc.schedule,
    ttl,
    ...(doc.keep !== undefined ? { keep: doc.keep } : {}),
    backupBeforeUpgrade: doc.backupBeforeUpgrade ?? false,
    upgradeHoldLimitMs: limit(doc.upgradeHoldLimit, DEFAULT_UPGRADE_HOLD_LIMIT_MS),
    backupOnStop: doc.backupOnStop ?? false,
    deletionHoldLimitMs: limit(doc.deletionHoldLimit, DEFAULT_DELETION_HOLD_LIMIT_MS),
  };
}

/** "schedule 0 3 * * *, ttl 30d, keep 7, backup before upgrade (hold ≤ 15m), backup on stop, deletion guard ≤ 5m": how validate and explain show it. */
export function describeProtection(protection: RuleProtection): string {
  const keep = protection.keep !== undefined ? `keep ${protection.keep}` : 'keep all (Velero TTL only)';
  return [
    `schedule ${protection.schedule}`,
    `ttl ${protection.ttl.label}`,
    keep,
    ...(protection.backupBeforeUpgrade ? [`backup before upgrade (hold ≤ ${formatDuration(protection.upgradeHoldLimitMs)})`] : []),
    ...(protection.backupOnStop ? ['backup on stop'] : []),
    `deletion guard ≤ ${formatDuration(protection.deletionHoldLimitMs)}`,
  ].join(', ');
}
