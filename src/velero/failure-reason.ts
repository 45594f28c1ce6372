// Why a Backup or Restore failed, in one line, wherever Velero put it.
// Velero v1.11.1 writes status.failureReason only for a run that started and
// failed; a Backup or Restore it refuses before starting ends
// FailedValidation with its reasons in status.validationErrors and
// failureReason empty (pkg/controller/backup_controller.go L250-252, reasons
// appended in prepareBackupRequest L384-443; pkg/controller/restore_controller.go
// L172-173 and L196-198, reasons from validateAndComplete L257-329).
import type { BackupView, RestoreView } from './velero-views.js';

export function failureReasonOf(status: (BackupView | RestoreView)['status']): string {
  if (status.failureReason) return status.failureReason;
  return (status.validationErrors ?? []).filter((e) => e !== '').join('; ');
}
