// What the API refuses before it asks Velero for something Velero would
// refuse or turn into damage: each guard is a rule of Velero v1.11.1, named
// where it is checked. Answers are 409 in the region API's envelope, naming
// why, and nothing is created.
import { conflict } from '../api-error.js';
import { defined } from '../../defined.js';
import { isUnfinishedRestore } from '../../velero/backup-phases.js';
import { readOnlyRefusal } from '../../velero/storage-location-state.js';
import { viewRestore } from '../../velero/velero-views.js';
import { isFinalStage, readRestoreRequest, RESTORE_REQUEST_LABEL, stageOf } from '../../restore/restore-request.js';
import type { BackupApiDeps } from './backup-api-deps.js';

/** 409 when `location` is ReadOnly: Velero would fail the backup's validation, or process the DeleteBackupRequest with an error. */
export function refuseReadOnlyLocation(deps: Pick<BackupApiDeps, 'cache' | 'settings'>, location: string, what: 'a new backup' | 'deleting a backup'): void {
  const why = readOnlyRefusal(deps.cache.storageLocation(location), `${deps.settings.veleroNamespace}/${location}`, what);
  if (why) throw conflict(why, 'storage_location_read_only');
}

/**
 * 409 when a restore that has not finished reads `backupName`: deleting the
 * backup makes Velero v1.11.1 delete every Restore whose spec.backupName is
 * that backup, whatever its phase (pkg/controller/backup_deletion_controller.go
 * L324-351), so a running restore would lose its Restore, and a restore
 * request of ours that has not created its Restore yet (it may already have
 * replaced the PVCs) would find no backup to restore from. Read live, under
 * the component's lock: a restore asked for a moment ago on another replica counts.
 * Every Restore in Velero's namespace counts (Velero deletes them all, not only ours).
 */
export async function refuseWhileRestoring(deps: Pick<BackupApiDeps, 'store' | 'restoreRequests'>, backupName: string): Promise<void> {
  const [restores, requests] = await Promise.all([deps.store.list('restores', ''), deps.restoreRequests.list(`${RESTORE_REQUEST_LABEL}=true`)]);
  const restore = restores.map(viewRestore).filter(defined).find((r) => r.spec.backupName === backupName && isUnfinishedRestore(r));
  if (restore) {
    throw conflict(
      `backup ${backupName} is being restored by Restore ${restore.metadata.name} (${restore.status.phase || 'New'}): Velero deletes every Restore of a backup it deletes; delete it once the restore has finished`,
      'backup_being_restored',
    );
  }
  const request = requests.map(readRestoreRequest).filter(defined).find((r) => r.request?.backupName === backupName && !isFinalStage(stageOf(r)));
  if (request) {
    throw conflict(
      `backup ${backupName} is being restored by restore ${request.request?.restoreName ?? request.name} (${stageOf(request)}): delete it once the restore has finished`,
      'backup_being_restored',
    );
  }
}
