// A restore record as the region API's RestoreRecord serialises it (keys in
// the Go struct's order).
import { VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';
import type { PodVolumeRestoreView, RestoreView } from '../../velero/velero-views.js';
import { humanBytes, progressRate, recordTime } from './record-format.js';
import { volumeBytes } from './volume-bytes.js';

export interface RestoreRecord {
  restore_id: string;
  backup_id: string;
  service_id: string;
  created_at: string;
  completed_at: string;
  size: string;
  progress_rate: string;
  completed_items: number;
  total_items: number;
  status: string;
  failure_reason: string;
  operator: string;
}

export function restoreRecord(restore: RestoreView, volumes: readonly PodVolumeRestoreView[]): RestoreRecord {
  const { status } = restore;
  const bytes = volumeBytes(volumes);
  return {
    restore_id: restore.metadata.name,
    backup_id: restore.spec.backupName,
    service_id: restore.metadata.labels[VELERO_LABEL.serviceId] ?? '',
    created_at: recordTime(status.startTimestamp),
    completed_at: recordTime(status.completionTimestamp),
    size: humanBytes(bytes.total),
    progress_rate: progressRate(bytes.total, bytes.done),
    completed_items: status.progress?.itemsRestored ?? 0,
    total_items: status.progress?.totalItems ?? 0,
    status: status.phase ?? '',
    failure_reason: status.failureReason ?? '',
    operator: restore.metadata.annotations[VELERO_ANNOTATION.creator] ?? '',
  };
}
