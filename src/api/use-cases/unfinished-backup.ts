import { conflict, type ApiError } from '../api-error.js';
import type { BackupView } from '../../velero/velero-views.js';

/** 409 for a backup asked for while another of the component's is unfinished, naming that one. */
export function unfinishedBackup(serviceAlias: string, backup: BackupView): ApiError {
  return conflict(`component ${serviceAlias} already has an unfinished backup ${backup.metadata.name} (${backup.status.phase || 'New'}): wait for it to finish`, 'backup_in_progress');
}
