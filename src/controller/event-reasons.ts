/**
 * Reasons of the Events the controller writes, spelled once (UpperCamelCase,
 * as Kubernetes' own): what `kubectl describe` shows and what alerts and
 * scripts may match on.
 */
export const EVENT_REASON = {
  backupStarted: 'BackupStarted',
  backupCompleted: 'BackupCompleted',
  backupFailed: 'BackupFailed',
  scheduleCreated: 'ScheduleCreated',
  scheduleUpdated: 'ScheduleUpdated',
  schedulePaused: 'SchedulePaused',
  scheduleResumed: 'ScheduleResumed',
  scheduleDeleted: 'ScheduleDeleted',
  retentionPruned: 'RetentionPruned',
  /** Warning: the backups' storage location is ReadOnly, so Velero would refuse every deletion (v1.11.1 backup_deletion_controller.go L199-206). */
  retentionPaused: 'RetentionPaused',
  /** Warning: a backup stuck in Deleting after Velero's deletion failed, asked again (v1.11.1 never reverts the phase). */
  deletionRetried: 'DeletionRetried',
  podBackfilled: 'PodBackfilled',
  // Backup before upgrade
  upgradeHeld: 'UpgradeHeld',
  upgradeReleased: 'UpgradeReleased',
  upgradeHoldExpired: 'UpgradeHoldExpired',
  upgradeBackupFailed: 'UpgradeBackupFailed',
  // Backups of stopped components
  holderStarted: 'HolderStarted',
  holderRemoved: 'HolderRemoved',
  backupOnStop: 'BackupOnStop',
  backupOnStopFailed: 'BackupOnStopFailed',
  // Deletion safety
  dataGuarded: 'DataGuarded',
  deletionReleased: 'DeletionReleased',
  volumeRetained: 'VolumeRetained',
  deletionHoldExpired: 'DeletionHoldExpired',
  dataGuardRemoved: 'DataGuardRemoved',
} as const;

export type EventReason = (typeof EVENT_REASON)[keyof typeof EVENT_REASON];
