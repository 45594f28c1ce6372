// Which Backups and Restores still count as running, so a component gets at
// most one of each at a time. Listed the other way round (what is finished)
// on purpose: Velero adds unfinished phases over time (1.17 added Queued and
// ReadyToStart), and an unknown phase must block a second backup rather than
// let two run on the same volumes. A phase of '' is a Backup Velero has not
// picked up yet.
import type { BackupView, RestoreView } from './velero-views.js';

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
