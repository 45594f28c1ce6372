// A Restore of one of a component's Backups: the Backup's Wutong labels (so
// records find it by service_id, as the region API's do), scoped to the
// component's namespace and its service_id, and limited to what carries its
// data. Velero restores the PVCs (recreated: the controller deleted them
// first, src/restore/), the PVs (a PV whose data is in a PodVolumeBackup is
// not restored but re-provisioned, v1.11.1 pkg/restore/restore.go
// L1145-1151, which is why they are included: otherwise the PVC would keep
// the old volumeName and never bind), the pods (Velero writes volume data
// only through pods it creates itself, L1525-1538), and the ConfigMaps and
// Secrets those pods mount or read (Wutong's stop deleted them; without
// them the kubelet cannot even start restore-wait, so no data would ever be
// written). Not the StatefulSet, Deployment or Services: those would start
// the component outside Wutong, which rebuilds them from its database when
// the user starts it (and updates the ConfigMaps and Secrets in full).
import type { ComponentIdentity } from '../components/component-key.js';
import { VELERO_ANNOTATION, VELERO_LABEL, WUTONG_PREFIX } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';
import type { BackupView } from './velero-views.js';

export interface RestoreInput {
  name: string;
  veleroNamespace: string;
  /** The component restored into: the Restore's scope is its namespace alone (velero-scope.ts), whatever the Backup holds. */
  component: ComponentIdentity;
  backup: BackupView;
  operator: string;
  idempotencyKey?: string;
  requestDigest?: string;
  /** The backup of the data this restore replaces, if one was taken. */
  safetyBackupName?: string;
}

/** What Velero restores of a component: its data and the pods it writes the data through. */
export const RESTORE_INCLUDED_RESOURCES: readonly string[] = Object.freeze(['persistentvolumeclaims', 'persistentvolumes', 'pods', 'configmaps', 'secrets']);

/**
 * The region API's list: cluster-scoped and transient objects that a restore
 * into a running cluster must not bring back (nodes, events, endpoints the
 * endpoints controller rebuilds), and Velero's own objects.
 */
export const RESTORE_EXCLUDED_RESOURCES: readonly string[] = Object.freeze([
  'nodes',
  'events',
  'endpoints',
  'events.events.k8s.io',
  'backups.velero.io',
  'restores.velero.io',
  'resticrepositories.velero.io',
  'csinodes.storage.k8s.io',
  'volumeattachments.storage.k8s.io',
  'backuprepositories.velero.io',
]);

export function buildRestore(input: RestoreInput): VeleroObject {
  const labels: Record<string, string> = {};
  // Only wutong.io/*: the Backup's idempotency label (backup.wutong.io/*) belongs
  // to the backup request; copied, it would make this Restore look like that request's result.
  for (const [key, value] of Object.entries(input.backup.metadata.labels)) {
    if (key.startsWith(WUTONG_PREFIX)) labels[key] = value;
  }
  labels[VELERO_LABEL.serviceId] = input.component.serviceId;
  if (input.idempotencyKey !== undefined) labels[VELERO_LABEL.idempotencyKey] = input.idempotencyKey;
  const annotations: Record<string, string> = { [VELERO_ANNOTATION.creator]: input.operator };
  if (input.requestDigest !== undefined) annotations[VELERO_ANNOTATION.requestDigest] = input.requestDigest;
  if (input.safetyBackupName !== undefined) annotations[VELERO_ANNOTATION.safetyBackup] = input.safetyBackupName;
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.restores,
    metadata: { name: input.name, namespace: input.veleroNamespace, labels, annotations },
    spec: {
      backupName: input.backup.metadata.name,
      includedNamespaces: [input.component.namespace],
      includedResources: [...RESTORE_INCLUDED_RESOURCES],
      excludedResources: [...RESTORE_EXCLUDED_RESOURCES],
      labelSelector: { matchLabels: { service_id: input.component.serviceId } },
    },
  };
}
