// A restore record as the region API's RestoreRecord serialises it (keys in
// the Go struct's order), then ours: the stage of a restore that replaces
// (src/restore/) and its safety backup. A restore is Completed only when the
// controller's verdict says the volumes hold the backup's data (Velero's own
// phase says Completed also when it wrote nothing: restore-verdict.ts).
import { isFinalStage, stageOf, type RestoreRequestRecord, type RestoreStage } from '../../restore/restore-request.js';
import { isObject } from '../../is-object.js';
import { failureReasonOf } from '../../velero/failure-reason.js';
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
  /** Where the restore stands (New, SavingCurrentData, ReplacingVolumes, Restoring, Completed, Failed); '' for a Restore made elsewhere. */
  stage: string;
  /** What happened last, in words. */
  message: string;
  /** The backup of the data this restore replaced ('' when the request opted out or there was none). */
  safety_backup_id: string;
}

/** The phases the console knows (Velero's): every stage before the end is InProgress, New aside. */
const STATUS_OF_STAGE: Record<RestoreStage, string> = {
  New: 'New',
  SavingCurrentData: 'InProgress',
  ReplacingVolumes: 'InProgress',
  Restoring: 'InProgress',
  Completed: 'Completed',
  Failed: 'Failed',
};

/** The controller's verdict written on a Restore (VELERO_ANNOTATION.restoreVerdict), if it is one. */
export function verdictOf(restore: RestoreView | undefined): { phase: 'Completed' | 'Failed'; message: string } | undefined {
  const text = restore?.metadata.annotations[VELERO_ANNOTATION.restoreVerdict];
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (isObject(value) && (value.phase === 'Completed' || value.phase === 'Failed') && typeof value.message === 'string') return { phase: value.phase, message: value.message };
  } catch {
    // Not ours after all (hand-edited): Velero's phase stands.
  }
  return undefined;
}

/**
 * One restore, from its request record (while there is one), its Velero
 * Restore (once created) and that Restore's PodVolumeRestores.
 */
export function restoreRecord(restore: RestoreView | undefined, volumes: readonly PodVolumeRestoreView[], request?: RestoreRequestRecord): RestoreRecord {
  const bytes = volumeBytes(volumes);
  const status = restore?.status ?? {};
  const asked = request?.request;
  const verdict = verdictOf(restore);
  const stage = request ? stageOf(request) : verdict?.phase;
  const finalMessage = request?.progress && isFinalStage(request.progress.stage) ? request.progress : undefined;
  const phase = stage ? STATUS_OF_STAGE[stage] : (status.phase ?? '');
  const failed = phase === 'Failed';
  return {
    restore_id: asked?.restoreName ?? restore?.metadata.name ?? '',
    backup_id: asked?.backupName ?? restore?.spec.backupName ?? '',
    service_id: asked?.component.serviceId ?? restore?.metadata.labels[VELERO_LABEL.serviceId] ?? '',
    created_at: recordTime(asked?.requestedAt ?? status.startTimestamp),
    completed_at: recordTime(finalMessage?.since ?? (stage === undefined || isFinalStage(stage) ? status.completionTimestamp : undefined)),
    size: humanBytes(bytes.total),
    progress_rate: progressRate(bytes.total, bytes.done),
    completed_items: status.progress?.itemsRestored ?? 0,
    total_items: status.progress?.totalItems ?? 0,
    status: phase,
    failure_reason: failed ? (request?.progress?.message ?? verdict?.message ?? failureReasonOf(status)) : failureReasonOf(status),
    operator: asked?.operator ?? restore?.metadata.annotations[VELERO_ANNOTATION.creator] ?? '',
    stage: stage ?? '',
    message: request?.progress?.message ?? verdict?.message ?? '',
    safety_backup_id: asked?.safetyBackup?.metadata.name ?? restore?.metadata.annotations[VELERO_ANNOTATION.safetyBackup] ?? '',
  };
}
