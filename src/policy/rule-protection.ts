import { DEFAULT_BACKUP_TTL, parseBackupTtl } from '../velero/backup-ttl.js';
import type { RuleProtection } from './compiled-policy.js';
import type { ProtectionDocument } from './hook-policy-schema.js';

/** A rule's validated `protection` as the controller uses it: the TTL parsed, 30 days when left out (the API's default too). */
export function compileProtection(doc: ProtectionDocument): RuleProtection {
  // The schema has already refused a TTL that does not parse.
  const ttl = doc.ttl === undefined ? DEFAULT_BACKUP_TTL : (parseBackupTtl(doc.ttl) ?? DEFAULT_BACKUP_TTL);
  // LOCAL STAND-IN defaults until the foundation's schema fields land.
  return { schedule: doc.schedule, ttl, ...(doc.keep !== undefined ? { keep: doc.keep } : {}), backupBeforeUpgrade: false, upgradeHoldLimitMs: 900_000, backupOnStop: false, deletionHoldLimitMs: 300_000 };
}

/** "schedule 0 3 * * *, ttl 30d, keep 7": how validate and explain show it. */
export function describeProtection(protection: RuleProtection): string {
  const keep = protection.keep !== undefined ? `keep ${protection.keep}` : 'keep all (Velero TTL only)';
  return `schedule ${protection.schedule}, ttl ${protection.ttl.label}, ${keep}`;
}
