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
  /** The image of the marker-clearing init container (the holder's, src/kube/holder-image.ts). */
  markerImage: string;
  /**
   * The pod volumes Velero writes (the Backup's PodVolumeBackups' volume
   * names) when every backed-up pod has the same ones (one workload's
   * replicas, or the one holder pod): the init container mounts them to
   * clear Velero's done-file directory. Undefined otherwise: no init container.
   */
  restoredVolumes?: readonly string[];
  /** The backup of the data this restore replaces, if one was taken. */
  safetyBackupName?: string;
}

/** What Velero restores of a component: its data and the pods it writes the data through. */
export const RESTORE_INCLUDED_RESOURCES: readonly string[] = Object.freeze(['persistentvolumeclaims', 'persistentvolumes', 'pods', 'configmaps', 'secrets']);

/** The init container the Restore adds to every pod it creates, after Velero's restore-wait. */
export const RESTORE_MARKERS_CONTAINER = 'wutong-backup-clear-markers';
/** `wutong-backup clear-velero-markers` in the project image (Dockerfile: WORKDIR /app, distroless node). */
const CLEAR_MARKERS_COMMAND: readonly string[] = ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'clear-velero-markers'];
/** Where Velero's restore-wait mounts each restored volume (v1.11.1 pkg/restore/pod_volume_restore_action.go); the init container uses the same paths. */
export const VELERO_RESTORE_MOUNT_ROOT = '/restores';

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
      ...(input.restoredVolumes && input.restoredVolumes.length > 0
        ? { hooks: { resources: [{ name: RESTORE_MARKERS_CONTAINER, includedNamespaces: [input.component.namespace], includedResources: ['pods'], postHooks: [{ init: { initContainers: [markersContainer(input.markerImage, input.restoredVolumes)] } }] }] } }
        : {}),
    },
  };
}

/**
 * Clears Velero's markers: an init container Velero places right after its
 * own restore-wait (v1.11.1 internal/hook/item_hook_handler.go L124-131,
 * L179), so it starts once the data is written: it removes the `.velero`
 * directory (the done files the node agent writes into every restored
 * volume, pod_volume_restore_controller.go), which is not the backup's data,
 * and exits, so the pod's own containers start as Velero expects and a
 * profile's post-restore hook loads its dump (docs/profiles.md). For that
 * one removal it runs as root with only CAP_DAC_OVERRIDE (the volume's root
 * belongs to the application's user), no privilege escalation, a read-only
 * root filesystem. A pod with `init.hook.restore.velero.io/*` annotations of
 * its own gets theirs instead (L134-137), and keeps the markers.
 */
function markersContainer(image: string, volumes: readonly string[]): Record<string, unknown> {
  const mounts = volumes.map((volume) => ({ name: volume, mountPath: `${VELERO_RESTORE_MOUNT_ROOT}/${volume}` }));
  return {
    name: RESTORE_MARKERS_CONTAINER,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: [...CLEAR_MARKERS_COMMAND, ...mounts.map((m) => m.mountPath)],
    resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
    },
    volumeMounts: mounts,
  };
}

/**
 * The volume names the init container can mount: those of the Backup's
 * PodVolumeBackups when every backed-up pod has the same set, else none (a
 * mount of a volume some pod lacks would make that pod invalid).
 */
export function commonRestoredVolumes(volumes: ReadonlyArray<{ spec: { volume: string; pod: { name: string } } }>): string[] | undefined {
  const byPod = new Map<string, Set<string>>();
  for (const v of volumes) {
    let set = byPod.get(v.spec.pod.name);
    if (!set) byPod.set(v.spec.pod.name, (set = new Set()));
    if (v.spec.volume !== '') set.add(v.spec.volume);
  }
  const sets = [...byPod.values()].map((set) => [...set].sort().join(','));
  if (sets.length === 0 || sets.some((s) => s !== sets[0]) || sets[0] === '') return undefined;
  return (sets[0] ?? '').split(',');
}
