// The Velero resources this project reads or writes, and where they live in
// the API: one table, so a path, a kind and a CRD name can never disagree.
export type VeleroResource =
  | 'backups'
  | 'restores'
  | 'schedules'
  | 'podvolumebackups'
  | 'podvolumerestores'
  | 'deletebackuprequests'
  | 'downloadrequests'
  | 'backupstoragelocations';

export const VELERO_GROUP = 'velero.io';
export const VELERO_API_VERSION = 'velero.io/v1';

export const VELERO_KINDS: Record<VeleroResource, string> = {
  backups: 'Backup',
  restores: 'Restore',
  schedules: 'Schedule',
  podvolumebackups: 'PodVolumeBackup',
  podvolumerestores: 'PodVolumeRestore',
  deletebackuprequests: 'DeleteBackupRequest',
  downloadrequests: 'DownloadRequest',
  backupstoragelocations: 'BackupStorageLocation',
};

/** The CustomResourceDefinition that serves `resource`: what "Velero is missing" names. */
export function veleroCrdName(resource: VeleroResource): string {
  return `${resource}.${VELERO_GROUP}`;
}

/** `/apis/velero.io/v1/namespaces/<ns>/<resource>[/<name>]`, both segments URI-encoded (a name from a URL must not add path segments). */
export function veleroPath(namespace: string, resource: VeleroResource, name?: string): string {
  const collection = `/apis/${VELERO_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

/** A Velero object as we create it: plain JSON, exactly what is sent to the API server. */
export interface VeleroObject {
  apiVersion: typeof VELERO_API_VERSION;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
