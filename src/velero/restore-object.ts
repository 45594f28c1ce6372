// A Restore of one of a component's Backups, as the region API makes it: the
// Backup's Wutong labels (so records find it by service_id) and the same
// excluded resources, scoped to the component's namespace.
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
}

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
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.restores,
    metadata: { name: input.name, namespace: input.veleroNamespace, labels, annotations },
    spec: { backupName: input.backup.metadata.name, includedNamespaces: [input.component.namespace], excludedResources: [...RESTORE_EXCLUDED_RESOURCES] },
  };
}
