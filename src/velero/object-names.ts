// Names of the Velero objects we create. The region API named Backups and
// Restores `<service_id>-<yyyyMMddHHmmss>`: two requests in the same second
// collide, and so does a Schedule named <service_id>, because Velero names the
// Backups a Schedule makes `<schedule>-<yyyyMMddHHmmss>`. Here every name
//   - says what it is ("-backup-", "-restore-", "-schedule"), so a manual
//     Backup can never be named like a scheduled one (those end in "-" and 14
//     digits; ours end in "-" and a 4 to 8 character random suffix);
//   - carries a random suffix, so two in the same second differ;
//   - is a DNS-1123 label of at most 63 characters, so it is valid as an object
//     name and as a label value (Velero labels PodVolumeBackups with the
//     Backup's name, and shortens longer names with a hash: ours never are).
import { createHash } from 'node:crypto';
import type { ComponentIdentity } from '../components/component-key.js';

export const MAX_NAME_LENGTH = 63;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// The random part: lowercase hex, as randomBytes(2).toString('hex') gives.
const RANDOM = /^[0-9a-f]{4,8}$/;

export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && DNS_1123_LABEL.test(name);
}

/** yyyyMMddHHmmss in UTC: the timestamp Wutong's names carry, readable in `kubectl get backups`. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function checked(name: string, what: string): string {
  if (!isDnsLabel(name)) throw new RangeError(`${what} name "${name}" is not a DNS-1123 label of at most ${MAX_NAME_LENGTH} characters`);
  return name;
}

function checkRandom(random: string): void {
  if (!RANDOM.test(random)) throw new RangeError(`random name suffix must be 4 to 8 lowercase hex characters, got "${random}"`);
}

/** `<service_id>-backup-<yyyyMMddHHmmss>-<random>`: 59 characters for Wutong's 32-hex service ids. */
export function manualBackupName(serviceId: string, now: Date, random: string): string {
  checkRandom(random);
  return checked(`${serviceId}-backup-${stamp(now)}-${random}`, 'Backup');
}

/** `<service_id>-restore-<yyyyMMddHHmmss>-<random>`: 60 characters for Wutong's 32-hex service ids. */
export function restoreName(serviceId: string, now: Date, random: string): string {
  checkRandom(random);
  return checked(`${serviceId}-restore-${stamp(now)}-${random}`, 'Restore');
}

/** `<service_id>-safety-<yyyyMMddHHmmss>-<random>`: the backup a restore takes of the data it replaces (59 characters). */
export function safetyBackupName(serviceId: string, now: Date, random: string): string {
  checkRandom(random);
  return checked(`${serviceId}-safety-${stamp(now)}-${random}`, 'Backup');
}

/**
 * 6 hex of sha256(namespace): what tells apart the deterministic names of two
 * components with the same service_id in two namespaces (component-key.ts).
 * Tenants do not choose namespace names, so none can aim at another's tag;
 * and every object is also checked by its scope before it is trusted
 * (velero-scope.ts), so even a collision changes nothing of another's.
 */
export function namespaceTag(namespace: string): string {
  return createHash('sha256').update(namespace).digest('hex').slice(0, 6);
}

/** `<service_id>-<ns tag>-schedule`: one per component; its Backups are `<…>-schedule-<14 digits>`, 63 characters. */
export function scheduleName(component: ComponentIdentity): string {
  return checked(`${component.serviceId}-${namespaceTag(component.namespace)}-schedule`, 'Schedule');
}

/**
 * `<backup>-<what>-<random>` when that fits in 63 characters and the Backup's
 * name has no dots; else the Backup's name cut short, with 8 hex of its
 * sha256 so two long Backup names that share a prefix still differ.
 */
function requestName(backupName: string, what: string, random: string): string {
  checkRandom(random);
  const tail = `-${what}-${random}`;
  if (isDnsLabel(backupName) && backupName.length + tail.length <= MAX_NAME_LENGTH) return `${backupName}${tail}`;
  const digest = createHash('sha256').update(backupName).digest('hex').slice(0, 8);
  const room = MAX_NAME_LENGTH - tail.length - digest.length - 1;
  const prefix = backupName.toLowerCase().replace(/[^-a-z0-9]/g, '-').slice(0, room).replace(/^-+|-+$/g, '');
  return checked(prefix === '' ? `${digest}${tail}` : `${prefix}-${digest}${tail}`, what);
}

export function deleteBackupRequestName(backupName: string, random: string): string {
  return requestName(backupName, 'delete', random);
}

export function downloadRequestName(backupName: string, random: string): string {
  return requestName(backupName, 'download', random);
}

/**
 * `<service_id>-<ns tag>-upgrade-<yyyyMMddHHmmss of the hold>`: the Backup the
 * controller takes before a held rollout. Deterministic, so a controller that
 * restarts (or a new leader) meets the one it made (AlreadyExists) instead of
 * making a second; 62 characters for Wutong's 32-hex service ids, and never a
 * scheduled Backup's name (`<…>-schedule-<14 digits>`).
 */
export function upgradeBackupName(component: ComponentIdentity, heldAt: Date): string {
  return checked(`${component.serviceId}-${namespaceTag(component.namespace)}-upgrade-${stamp(heldAt)}`, 'Backup');
}

/**
 * `<service_id>-<ns tag>-stop-<yyyyMMddHHmmss of the stop>`: the controller's
 * backup of a stopped component's data at rest (protection.backupOnStop),
 * named by the stop it follows, so a restart or a new leader meets it instead
 * of taking a second one for the same stop; 59 characters for a 32-hex id.
 */
export function stopBackupName(component: ComponentIdentity, stoppedAt: Date): string {
  return checked(`${component.serviceId}-${namespaceTag(component.namespace)}-stop-${stamp(stoppedAt)}`, 'Backup');
}
