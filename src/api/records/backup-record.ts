// A backup record as the region API's BackupRecord (api/model/component.go)
// serialises it: keys in the Go struct's order, since the console's client
// and our byte-for-byte tests read the JSON as Go writes it, plus the seed
// document's download_url at the end. Built from cached views: no API call.
import { coverageOf, describeCoverage, isPartial } from '../../velero/backup-coverage.js';
import { isRestorable } from '../../velero/backup-phases.js';
import { failureReasonOf } from '../../velero/failure-reason.js';
import { DATA_STATE, VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';
import type { BackupView, PodVolumeBackupView } from '../../velero/velero-views.js';
import { humanBytes, progressRate, recordTime, ttlText } from './record-format.js';
import { volumeBytes } from './volume-bytes.js';

export type BackupMode = 'Manual' | 'Scheduled';

/**
 * live: copied from the running component (with its hooks: application-consistent
 * where a profile dumps the database); at-rest: copied through a holder pod
 * while the component was stopped, as the stop left the files
 * (crash-consistent: Wutong kills the pods with grace 0).
 */
export type DataState = 'live' | 'at-rest';

/** What the console shows after the user's desc of an at-rest backup: it has no column for data_state. */
export const AT_REST_NOTE = 'crash-consistent data at rest: taken while the component was stopped';

export interface BackupRecord {
  backup_id: string;
  service_id: string;
  desc: string;
  ttl: string;
  mode: BackupMode;
  created_at: string;
  completed_at: string;
  expired_at: string;
  size: string;
  progress_rate: string;
  completed_items: number;
  total_items: number;
  scheduled: boolean;
  status: string;
  failure_reason: string;
  operator: string;
  restorable: boolean;
  download_url: string;
  data_state: DataState;
  /**
   * Which of the component's volumes the backup holds: "2 of 3 volumes; logs
   * skipped: hostPath PV". '' while the controller has not judged it (a
   * running backup, one made before, or one Velero synced from storage).
   */
  volumes: string;
  /** Velero skipped a volume the policy selects (it still calls the Backup Completed): restoring it brings that volume back as it was not. */
  partial: boolean;
}

export function backupRecord(backup: BackupView, volumes: readonly PodVolumeBackupView[], downloadUrl: string): BackupRecord {
  const { labels, annotations } = backup.metadata;
  const { status } = backup;
  const bytes = volumeBytes(volumes);
  // Velero labels the Backups a Schedule makes with the Schedule's name.
  const mode: BackupMode = VELERO_LABEL.scheduleName in labels ? 'Scheduled' : 'Manual';
  const atRest = annotations[VELERO_ANNOTATION.dataState] === DATA_STATE.atRest;
  const desc = annotations[VELERO_ANNOTATION.desc] ?? '';
  const coverage = coverageOf(backup);
  return {
    backup_id: backup.metadata.name,
    service_id: labels[VELERO_LABEL.serviceId] ?? '',
    desc: atRest ? (desc === '' ? `(${AT_REST_NOTE})` : `${desc} (${AT_REST_NOTE})`) : desc,
    ttl: ttlText(labels[VELERO_LABEL.backupTtl], backup.spec.ttl),
    mode,
    created_at: recordTime(status.startTimestamp),
    completed_at: recordTime(status.completionTimestamp),
    expired_at: recordTime(status.expiration),
    size: humanBytes(bytes.total),
    progress_rate: progressRate(bytes.total, bytes.done),
    completed_items: status.progress?.itemsBackedUp ?? 0,
    total_items: status.progress?.totalItems ?? 0,
    // The region API declared this field and never set it (always false); it means what mode says.
    scheduled: mode === 'Scheduled',
    status: status.phase ?? '',
    // A FailedValidation Backup has its reasons in validationErrors, not failureReason.
    failure_reason: failureReasonOf(status),
    operator: annotations[VELERO_ANNOTATION.creator] ?? '',
    restorable: isRestorable(backup, volumes),
    download_url: downloadUrl,
    data_state: atRest ? 'at-rest' : 'live',
    volumes: coverage ? describeCoverage(coverage) : '',
    partial: coverage ? isPartial(coverage) : false,
  };
}
