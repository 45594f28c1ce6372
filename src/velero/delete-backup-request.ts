// Deleting a backup means asking Velero to: a DeleteBackupRequest makes Velero
// remove the data from object storage and the repository snapshots, then the
// Backup and its PodVolumeBackups. Deleting the Backup object alone would leave
// all of that behind (and Velero's sync would bring the Backup back).
import { VELERO_LABEL, veleroLabelValue } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';
import type { BackupView } from './velero-views.js';

export function buildDeleteBackupRequest(input: { name: string; veleroNamespace: string; backup: BackupView }): VeleroObject {
  const { backup } = input;
  // velero.io/backup-name (shortened as Velero shortens it) and backup-uid are
  // the labels `velero backup delete` sets and Velero's controller reads; service_id lets our cache find a
  // component's pending deletions without a list call.
  const labels: Record<string, string> = {
    [VELERO_LABEL.backupName]: veleroLabelValue(backup.metadata.name),
    [VELERO_LABEL.backupUid]: backup.metadata.uid,
  };
  const serviceId = backup.metadata.labels[VELERO_LABEL.serviceId];
  if (serviceId !== undefined) labels[VELERO_LABEL.serviceId] = serviceId;
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.deletebackuprequests,
    metadata: { name: input.name, namespace: input.veleroNamespace, labels },
    spec: { backupName: backup.metadata.name },
  };
}
