// Every label and annotation key this project reads or writes on Velero
// objects, spelled once. The wutong.io/* keys are the region API's own, so
// objects it made and objects we make read the same; backup.wutong.io/* keys
// are ours and never mean anything to Wutong or Velero.
import { createHash } from 'node:crypto';
export const VELERO_LABEL = {
  serviceId: 'wutong.io/service_id',
  backupTtl: 'wutong.io/backup-ttl',
  storageLocation: 'velero.io/storage-location',
  scheduleName: 'velero.io/schedule-name',
  backupName: 'velero.io/backup-name',
  backupUid: 'velero.io/backup-uid',
  restoreName: 'velero.io/restore-name',
  /** On a PodVolumeBackup: the uid of the PVC whose volume it copied (Velero v1.11.1 pkg/podvolume/backupper.go newPodVolumeBackup). */
  pvcUid: 'velero.io/pvc-uid',
  /** ours: first 40 hex chars of sha256(Idempotency-Key header + "\n" + route + "\n" + service_id) */
  idempotencyKey: 'backup.wutong.io/idempotency-key',
  /** ours, on Schedules: 'policy' (the controller made it from a rule's protection) or 'api' (someone set it; the policy never changes it). */
  scheduleSource: 'backup.wutong.io/schedule-source',
  /** ours, on Backups the controller makes outside a Schedule: what made it (BACKUP_TRIGGER). */
  trigger: 'backup.wutong.io/trigger',
} as const;

export const VELERO_ANNOTATION = {
  desc: 'wutong.io/desc',
  creator: 'wutong.io/creator',
  lastModifier: 'wutong.io/last_modifier',
  /** ours: sha256 hex of the canonical request body, to tell a retry from a reused key */
  requestDigest: 'backup.wutong.io/request-digest',
  /** ours, on policy Schedules: the name of the rule whose protection made it */
  scheduleRule: 'backup.wutong.io/rule',
  /** ours, on Backups: the phase whose Event was last recorded, so a restart neither repeats nor loses one */
  announcedPhase: 'backup.wutong.io/announced-phase',
  /** ours, on a Schedule: how many completed backups of its component retention keeps (G3 writes it, retention reads it; absent: Velero's TTL only) */
  keep: 'backup.wutong.io/keep',
  /** ours, on Backups taken through a holder pod: what state the data was in (DATA_STATE) */
  dataState: 'backup.wutong.io/data-state',
  /** ours, on Restores the controller made: its verdict on the data ({"phase","message"} JSON, src/restore/restore-verdict.ts), which records show instead of Velero's phase */
  restoreVerdict: 'backup.wutong.io/verdict',
  /** ours, on a safety backup: the restore whose replaced data it holds */
  safetyFor: 'backup.wutong.io/safety-for',
  /** ours, on a Restore: its safety backup (the data it replaced) */
  safetyBackup: 'backup.wutong.io/safety-backup',
  /** ours, on finished Backups of a component: the claims expected and why any was skipped (backup-coverage.ts) */
  coverage: 'backup.wutong.io/coverage',
  /** ours, on a Backup stuck in Deleting: the controller's retries of its deletion ({"attempts","lastAttemptAt"} JSON, src/velero/deletion-retry.ts) */
  deletionRetry: 'backup.wutong.io/deletion-retry',
} as const;

/** Values of VELERO_LABEL.trigger: a backup before a held upgrade, or of a protected component's data at rest after it stopped. */
export const BACKUP_TRIGGER = { upgrade: 'upgrade', stop: 'stop' } as const;

/** Values of VELERO_ANNOTATION.dataState: at-rest is crash-consistent (the component was killed, not shut down). */
export const DATA_STATE = { atRest: 'at-rest' } as const;

/** Values of VELERO_LABEL.scheduleSource. */
export const SCHEDULE_SOURCE = { policy: 'policy', api: 'api' } as const;

/** Wutong's label prefix: a Restore copies the Backup's labels under it (as the region API does), nothing else. */
export const WUTONG_PREFIX = 'wutong.io/';
/** Our own prefix: idempotency keys and request digests. */
export const OURS_PREFIX = 'backup.wutong.io/';

const LABEL_VALUE_MAX = 63;

/**
 * The value Velero puts in a velero.io/backup-name or restore-name label for
 * an object called `name` (velero pkg/label GetValidName): the name itself up
 * to 63 characters, else its first 57 and 6 hex of its sha256. Selecting
 * PodVolumeBackups by a longer Backup name as it is would find none.
 */
export function veleroLabelValue(name: string): string {
  if (name.length <= LABEL_VALUE_MAX) return name;
  return name.slice(0, LABEL_VALUE_MAX - 6) + createHash('sha256').update(name).digest('hex').slice(0, 6);
}
