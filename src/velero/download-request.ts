// A download is a DownloadRequest: Velero answers it with a pre-signed URL of
// the backup's contents in its status, the way `velero backup download` works.
// No object-storage credential or repository password ever reaches this
// process (the region API read both and ran kopia itself).
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';

export function buildDownloadRequest(input: { name: string; veleroNamespace: string; backupName: string }): VeleroObject {
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.downloadrequests,
    metadata: { name: input.name, namespace: input.veleroNamespace },
    spec: { target: { kind: 'BackupContents', name: input.backupName } },
  };
}
