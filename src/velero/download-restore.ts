// The Velero Restore behind a download: the component's volumes of one
// Backup, restored into a scratch namespace of the controller's
// (namespaceMapping) where nothing of the tenant's ever runs. The data is
// written by Velero's node agent, so this project never reads the object
// storage's credentials or the repository's password.
//
// Why the restored pods cannot change the bytes: Velero writes pod volume
// data only through pods it restores (v1.11.1 pkg/restore/restore.go
// L1525-1538), so the component's pods must be restored too; an init restore
// hook puts `wutong-backup hold` (which never exits) right after Velero's
// restore-wait (internal/hook/item_hook_handler.go L124-131 keeps
// restore-wait first, L169 puts the hook's containers before the pod's own
// init containers), so neither the tenant's init containers nor its
// application containers ever start. The hook's namespace filter is matched
// against the MAPPED namespace (L147-154), hence the scratch namespace in it.
// A pod annotation `init.hook.restore.velero.io/container-image` takes
// precedence over the spec's hook (L134-138): such a pod would start the
// tenant's container instead of ours, which restoredPodProblem detects.
import type { ComponentIdentity } from '../components/component-key.js';
import { RESTORE_EXCLUDED_RESOURCES } from './restore-object.js';
import { VELERO_LABEL } from './velero-labels.js';
import { VELERO_API_VERSION, VELERO_KINDS, type VeleroObject } from './velero-resources.js';

/** Velero's init container that waits for the pod volume restores (pkg/restorehelper WaitInitContainer). */
export const VELERO_RESTORE_WAIT = 'restore-wait';
/** The init container the hook adds: it holds the pod before any tenant container. */
export const DOWNLOAD_HOLD_CONTAINER = 'wutong-backup-download-hold';
/** The project image's CLI running `hold` (Dockerfile: distroless node). */
export const DOWNLOAD_HOLD_COMMAND: readonly string[] = ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'hold'];
/** Label on the Restore: the download request record it serves. */
export const DOWNLOAD_RESTORE_LABEL = 'backup.wutong.io/download';

/**
 * PVCs and pods carry the data; PVs are needed so that Velero marks a PV
 * with a PodVolumeBackup for re-provisioning and clears the restored PVC's
 * volumeName (restore.go L1145-1151, L1304-1313), else the claim would wait
 * for the tenant's own PV forever. ConfigMaps and Secrets: the kubelet does
 * not start even restore-wait while a volume the pod mounts is missing (the
 * reason restore-object.ts restores them too); they land in the scratch
 * namespace only, which the controller deletes after.
 */
export const DOWNLOAD_RESTORE_RESOURCES: readonly string[] = Object.freeze(['persistentvolumeclaims', 'persistentvolumes', 'pods', 'configmaps', 'secrets']);

export interface DownloadRestoreInput {
  name: string;
  veleroNamespace: string;
  component: ComponentIdentity;
  backupName: string;
  scratchNamespace: string;
  /** The download request record's name. */
  recordName: string;
  /** This project's image. */
  image: string;
}

/** The init container of the hook, exactly as the spec carries it (Velero requires name, image and command: item_hook_handler.go L559-569). */
export function downloadHoldContainer(image: string): Record<string, unknown> {
  return {
    name: DOWNLOAD_HOLD_CONTAINER,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: [...DOWNLOAD_HOLD_COMMAND],
    resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, capabilities: { drop: ['ALL'] } },
  };
}

export function buildDownloadRestore(input: DownloadRestoreInput): VeleroObject {
  return {
    apiVersion: VELERO_API_VERSION,
    kind: VELERO_KINDS.restores,
    metadata: {
      name: input.name,
      namespace: input.veleroNamespace,
      labels: { [VELERO_LABEL.serviceId]: input.component.serviceId, [DOWNLOAD_RESTORE_LABEL]: input.recordName },
    },
    spec: {
      backupName: input.backupName,
      includedNamespaces: [input.component.namespace],
      namespaceMapping: { [input.component.namespace]: input.scratchNamespace },
      includedResources: [...DOWNLOAD_RESTORE_RESOURCES],
      excludedResources: [...RESTORE_EXCLUDED_RESOURCES],
      labelSelector: { matchLabels: { service_id: input.component.serviceId } },
      hooks: {
        resources: [
          {
            name: 'wutong-backup-download-hold',
            // The mapped namespace: what Velero matches the hook's filter against.
            includedNamespaces: [input.scratchNamespace],
            includedResources: ['pods'],
            postHooks: [{ init: { initContainers: [downloadHoldContainer(input.image)] } }],
          },
        ],
      },
    },
  };
}

/**
 * Why a pod Velero restored into the scratch namespace must not be left
 * running, or undefined when its init containers begin with our hold (after
 * restore-wait, when Velero added one): anything else, e.g. a pod whose
 * `init.hook.restore.velero.io/*` annotations replaced our hook, would start
 * the tenant's code on the restored data.
 */
export function restoredPodProblem(pod: { name: string; initContainers: readonly { name: string; image?: string }[] }, image: string): string | undefined {
  const names = pod.initContainers.map((c) => c.name);
  const first = names[0] === VELERO_RESTORE_WAIT ? 1 : 0;
  const ours = pod.initContainers[first];
  if (ours?.name === DOWNLOAD_HOLD_CONTAINER && ours.image === image) return undefined;
  return `restored pod ${pod.name} does not start with the download's hold init container (its init containers: ${names.join(', ') || 'none'}); a pod annotation init.hook.restore.velero.io/* replaces the restore's hook (Velero v1.11.1 internal/hook/item_hook_handler.go L134-138), so the pod was deleted and the download stopped`;
}
