// Which Backups and Restores still count as running, so a component gets at
// most one of each at a time. Listed the other way round (what is finished)
// on purpose: Velero adds unfinished phases over time (v1.18.0 added Queued
// and ReadyToStart: pkg/apis/velero/v1/backup_types.go L299-303 at v1.18.0,
// absent at v1.17.2; the v1.18.1 CRD's phase enum lists them), and an
// unknown phase must block a second backup rather than let two run on the
// same volumes. A phase of '' is a Backup Velero has not picked up yet.
import { VELERO_LABEL } from './velero-labels.js';
import type { BackupView, PodVolumeBackupView, RestoreView } from './velero-views.js';

/** Velero's terminal Backup phases, plus Deleting: a Backup on its way out is not running and must not block a new one. */
const FINISHED_BACKUP_PHASES: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Deleting']);
const FINISHED_RESTORE_PHASES: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);

export function isUnfinishedBackup(b: BackupView): boolean {
  if (b.metadata.deletionTimestamp !== undefined) return false;
  return !FINISHED_BACKUP_PHASES.has(b.status.phase ?? '');
}

export function isUnfinishedRestore(r: RestoreView): boolean {
  if (r.metadata.deletionTimestamp !== undefined) return false;
  return !FINISHED_RESTORE_PHASES.has(r.status.phase ?? '');
}

/**
 * A backup a restore can bring the component's data back from: Completed,
 * and with volume data (at least one PodVolumeBackup). A Completed Backup
 * without PodVolumeBackups holds the manifests and none of the data.
 */
export function isRestorable(backup: BackupView, volumes: readonly PodVolumeBackupView[]): boolean {
  return backup.status.phase === 'Completed' && volumes.length > 0;
}

/**
 * Whether a backup holds a claim's data: a Completed PodVolumeBackup of it
 * (label velero.io/pvc-uid). Velero only warns and skips a volume it cannot
 * copy (a PVC on a hostPath PV, a volume no running pod mounts; v1.11.1
 * pkg/podvolume/backupper.go L135-143, L207-224) and still marks the Backup
 * Completed, so "Completed with some volume data" says nothing about this
 * claim.
 */
export function copiedClaim(volumes: readonly PodVolumeBackupView[], claimUid: string): boolean {
  return claimUid !== '' && volumes.some((v) => v.metadata.labels[VELERO_LABEL.pvcUid] === claimUid && v.status.phase === 'Completed');
}
