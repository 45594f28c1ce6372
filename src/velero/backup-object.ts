// The Backup the console's "back up now" creates, and the spec a Schedule's
// Backups share: the seed document's and the region API's spec, field for
// field but one: defaultVolumesToFsBackup is false, so Velero copies the
// volumes the policy selects (see backupSpec).
import { VELERO_ANNOTATION, VELERO_LABEL } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';
import type { BackupTtl } from './backup-ttl.js';

export interface BackupInput {
  name: string;
  veleroNamespace: string;
  storageLocation: string;
  serviceId: string;
  componentNamespace: string;
  ttl: BackupTtl;
  desc: string;
  operator: string;
  idempotencyKey?: string;
  requestDigest?: string;
}

/** What a Backup of one component backs up, for buildBackup and a Schedule's template alike. */
export interface BackupSpecInput {
  storageLocation: string;
  serviceId: string;
  componentNamespace: string;
  ttl: BackupTtl;
}

/** How long Velero waits for CSI snapshots: the region API's 10 minutes, written as Go writes a metav1.Duration. */
export const CSI_SNAPSHOT_TIMEOUT = '10m0s';

export function backupSpec(input: BackupSpecInput): Record<string, unknown> {
  return {
    csiSnapshotTimeout: CSI_SNAPSHOT_TIMEOUT,
    // File-system backup (Wutong's volumes are PVCs on storage that often has
    // no CSI snapshots) of exactly the volumes a pod lists in
    // backup.velero.io/backup-volumes, which the webhook writes from the
    // policy in both modes. With true, Velero v1.11.1 would ignore that list
    // and copy every volume but the excluded ones (pkg/podvolume/util.go
    // GetVolumesByPod L257-296): emptyDirs and scratch volumes too, in
    // opt-in mode.
    defaultVolumesToFsBackup: false,
    includedNamespaces: [input.componentNamespace],
    // Wutong labels a component's pods, workloads and PVCs service_id=<id>: the
    // component and nothing else in its (shared) tenant namespace.
    labelSelector: { matchLabels: { service_id: input.serviceId } },
    storageLocation: input.storageLocation,
    ttl: input.ttl.spec,
  };
}

/** Labels a Backup and a Schedule share (a Schedule's labels are copied onto the Backups it makes). */
export function backupLabels(input: BackupSpecInput): Record<string, string> {
  return {
    [VELERO_LABEL.storageLocation]: input.storageLocation,
    [VELERO_LABEL.serviceId]: input.serviceId,
    [VELERO_LABEL.backupTtl]: input.ttl.label,
  };
}

export function buildBackup(input: BackupInput): VeleroObject {
  const labels = backupLabels(input);
  if (input.idempotencyKey !== undefined) labels[VELERO_LABEL.idempotencyKey] = input.idempotencyKey;
  const annotations: Record<string, string> = { [VELERO_ANNOTATION.desc]: input.desc, [VELERO_ANNOTATION.creator]: input.operator };
  if (input.requestDigest !== undefined) annotations[VELERO_ANNOTATION.requestDigest] = input.requestDigest;
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.backups,
    metadata: { name: input.name, namespace: input.veleroNamespace, labels, annotations },
    spec: backupSpec(input),
  };
}
