import { randomBytes } from 'node:crypto';
import { includesExcludes, initContainersWithRestoreHooks, selectorMatches, type InitContainer, type RestoreHooksSpec } from './velero-hooks.js';

/**
 * RESTORING OBJECTS (test helper, part of the Velero stand-in), as
 * vmware-tanzu/velero v1.11.1 pkg/restore/restore.go does with the manifests
 * of a backup:
 *
 * - order: pkg/cmd/server/server.go L528-551 defaultRestorePriorities (the
 *   high priorities first, then the other resources alphabetically);
 * - filters: includedNamespaces/excludedNamespaces, includedResources/
 *   excludedResources, labelSelector, namespaceMapping;
 * - every item: resetMetadataAndStatus (L1838: no generateName, selfLink, uid,
 *   resourceVersion, generation, creationTimestamp, deletionTimestamp,
 *   deletionGracePeriodSeconds, ownerReferences; no status) and
 *   addRestoreLabels (velero.io/backup-name, velero.io/restore-name);
 * - one that exists is left alone with a warning "could not restore, <Kind>
 *   "<name>" already exists. Warning: the in-cluster version is different than
 *   the backed-up version." (L1447-1458) — a PersistentVolumeClaim too;
 * - PersistentVolumes (L1140-1160): one whose claim has a PodVolumeBackup
 *   (hasPodVolumeBackup) or whose reclaim policy is Delete is not restored but
 *   put in pvsToProvision; others are restored as they were, with
 *   resetVolumeBindingInfo (claimRef uid/resourceVersion and the
 *   pv.kubernetes.io/bind-completed and bound-by-controller annotations gone);
 * - PersistentVolumeClaims (L1290-1310): a bound one gets resetVolumeBindingInfo
 *   and, when its volume is in pvsToProvision, loses spec.volumeName, so the
 *   provisioner makes a new, empty volume for the pod volume restore;
 * - Services: pkg/restore/service_action.go (clusterIP and clusterIPs cleared
 *   unless headless; nodePorts cleared unless spec.preserveNodePorts);
 * - Secrets: pkg/restore/secret_action.go skips a service account's
 *   auto-created token secret;
 * - Pods: pkg/restore/pod_action.go (nodeName and priority cleared, service
 *   account token volumes and mounts dropped), pod_volume_restore_action.go
 *   (restore-wait, first, when the pod has volumes to restore) and
 *   init_restorehook_pod_action.go (internal/hook InitContainerRestoreHookHandler).
 *
 * Left out: restore item action plugins other than these, existingResourcePolicy,
 * status restore, includeClusterResources (PVs follow their claims' namespaces),
 * ServiceAccounts and Endpoints (not kept by the stand-in's backups).
 */

export interface ItemMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
  [field: string]: unknown;
}
export interface ItemManifest { apiVersion?: string; kind?: string; metadata: ItemMeta; spec?: Record<string, unknown>; status?: unknown; type?: string; [field: string]: unknown }

/** One object of a backup's "tarball". resource is the plural ("pods"), group "" for the core group. */
export interface StoredItem { resource: string; group: string; manifest: ItemManifest }

/** What the backups keep, by resource, with their API paths. */
export const BACKED_UP_RESOURCES: readonly { resource: string; group: string; version: string; namespaced: boolean; kind: string }[] = [
  { resource: 'namespaces', group: '', version: 'v1', namespaced: false, kind: 'Namespace' },
  { resource: 'persistentvolumes', group: '', version: 'v1', namespaced: false, kind: 'PersistentVolume' },
  { resource: 'persistentvolumeclaims', group: '', version: 'v1', namespaced: true, kind: 'PersistentVolumeClaim' },
  { resource: 'secrets', group: '', version: 'v1', namespaced: true, kind: 'Secret' },
  { resource: 'configmaps', group: '', version: 'v1', namespaced: true, kind: 'ConfigMap' },
  { resource: 'pods', group: '', version: 'v1', namespaced: true, kind: 'Pod' },
  { resource: 'replicasets', group: 'apps', version: 'v1', namespaced: true, kind: 'ReplicaSet' },
  { resource: 'services', group: '', version: 'v1', namespaced: true, kind: 'Service' },
  { resource: 'deployments', group: 'apps', version: 'v1', namespaced: true, kind: 'Deployment' },
  { resource: 'statefulsets', group: 'apps', version: 'v1', namespaced: true, kind: 'StatefulSet' },
];

/** server.go L528-551 defaultRestorePriorities.HighPriorities (the kinds the stand-in keeps; "replicasets.apps" fully qualified). */
const HIGH_PRIORITIES = ['customresourcedefinitions', 'namespaces', 'storageclasses', 'persistentvolumes', 'persistentvolumeclaims', 'serviceaccounts', 'secrets', 'configmaps', 'limitranges', 'pods', 'replicasets.apps', 'clusterclasses.cluster.x-k8s.io', 'endpoints', 'services'];

export const qualified = (item: { resource: string; group: string }): string => (item.group ? `${item.resource}.${item.group}` : item.resource);

export function collectionPath(resource: string, group: string, namespace?: string): string {
  const info = BACKED_UP_RESOURCES.find((r) => r.resource === resource && r.group === group);
  const base = group ? `/apis/${group}/${info?.version ?? 'v1'}` : `/api/${info?.version ?? 'v1'}`;
  return namespace === undefined ? `${base}/${resource}` : `${base}/namespaces/${namespace}/${resource}`;
}

/** Velero's restore order over the stored items (stable within a resource). */
export function restoreOrder(items: readonly StoredItem[]): StoredItem[] {
  const rank = (item: StoredItem): [number, string] => {
    const q = qualified(item);
    const i = HIGH_PRIORITIES.findIndex((p) => p === q || p === item.resource);
    return i >= 0 ? [i, ''] : [HIGH_PRIORITIES.length, q];
  };
  return items
    .map((item, index) => ({ item, index, rank: rank(item) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1].localeCompare(b.rank[1]) || a.index - b.index)
    .map((x) => x.item);
}

/** resetMetadataAndStatus + addRestoreLabels. */
export function resetForRestore(manifest: ItemManifest, labels: { backupName: string; restoreName: string }): ItemManifest {
  const out = structuredClone(manifest);
  for (const key of ['generateName', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'managedFields']) delete out.metadata[key];
  delete out.status;
  out.metadata.labels = { ...out.metadata.labels, 'velero.io/backup-name': labels.backupName, 'velero.io/restore-name': labels.restoreName };
  return out;
}

/** resetVolumeBindingInfo (restore.go L1789). */
export function resetVolumeBindingInfo(manifest: ItemManifest): ItemManifest {
  const claimRef = manifest.spec?.claimRef as Record<string, unknown> | undefined;
  if (claimRef) {
    delete claimRef.uid;
    delete claimRef.resourceVersion;
  }
  if (manifest.metadata.annotations) {
    delete manifest.metadata.annotations['pv.kubernetes.io/bind-completed'];
    delete manifest.metadata.annotations['pv.kubernetes.io/bound-by-controller'];
  }
  return manifest;
}

/** service_action.go Execute (without the last-applied-configuration nodePort exception). */
export function serviceForRestore(manifest: ItemManifest, preserveNodePorts: boolean): ItemManifest {
  const spec = manifest.spec ?? {};
  if (spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (!preserveNodePorts && spec.type !== 'ExternalName') {
    for (const port of (spec.ports as Record<string, unknown>[] | undefined) ?? []) delete port.nodePort;
  }
  return manifest;
}

interface PodVolume { name: string; [kind: string]: unknown }
interface PodSpecJson { nodeName?: string; priority?: number; serviceAccountName?: string; volumes?: PodVolume[]; containers?: { volumeMounts?: { name: string }[] }[]; initContainers?: InitContainer[]; [field: string]: unknown }

/**
 * pod_action.go, pod_volume_restore_action.go and init_restorehook_pod_action.go on a pod manifest
 * (already reset): `volumesToRestore` are the volumes with a snapshot to restore.
 */
export function podForRestore(
  manifest: ItemManifest,
  volumesToRestore: readonly string[],
  restore: { uid: string; hooks?: RestoreHooksSpec; namespaceMapping?: Record<string, string>; sourceNamespace: string; initHooks: boolean },
): ItemManifest {
  const pod = structuredClone(manifest);
  const spec = (pod.spec ?? {}) as PodSpecJson;
  delete spec.nodeName;
  delete spec.priority;
  const account = spec.serviceAccountName ?? 'default';
  const isToken = (v: PodVolume): boolean => v.name.startsWith('default-token-') || v.name.startsWith(`${account}-token-`);
  const tokens = new Set((spec.volumes ?? []).filter(isToken).map((v) => v.name));
  spec.volumes = (spec.volumes ?? []).filter((v) => !tokens.has(v.name));
  for (const c of spec.containers ?? []) c.volumeMounts = (c.volumeMounts ?? []).filter((m) => !tokens.has(m.name));
  if (volumesToRestore.length > 0) {
    spec.initContainers = [
      {
        name: 'restore-wait',
        image: 'velero/velero-restore-helper:v1.11.1',
        imagePullPolicy: 'IfNotPresent',
        command: ['/velero-restore-helper'],
        args: [restore.uid],
        env: [
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
        volumeMounts: volumesToRestore.map((volume) => ({ name: volume, mountPath: `/restores/${volume}` })),
      },
      ...(spec.initContainers ?? []),
    ];
  }
  if (restore.initHooks) {
    spec.initContainers = initContainersWithRestoreHooks(
      { namespace: restore.sourceNamespace, labels: pod.metadata.labels ?? {}, annotations: pod.metadata.annotations ?? {}, initContainers: spec.initContainers ?? [] },
      restore.hooks,
      restore.namespaceMapping,
      () => randomBytes(4).toString('hex'),
    );
    if (spec.initContainers.length === 0) delete spec.initContainers;
  }
  pod.spec = spec;
  return pod;
}

export interface RestoreFilter {
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  labelSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
}

/** Does the restore take this item? Namespaced items by their backed-up namespace; PVs by their claim's. */
export function restoreTakes(filter: RestoreFilter, item: StoredItem): boolean {
  const singular = BACKED_UP_RESOURCES.find((r) => r.resource === item.resource)?.kind.toLowerCase() ?? item.resource;
  if (!includesExcludes(filter.includedResources, filter.excludedResources, item.resource, [qualified(item), singular])) return false;
  const claimNs = (item.manifest.spec?.claimRef as { namespace?: string } | undefined)?.namespace;
  const namespace = item.resource === 'namespaces' ? item.manifest.metadata.name : item.manifest.metadata.namespace ?? claimNs;
  if (namespace !== undefined && !includesExcludes(filter.includedNamespaces, filter.excludedNamespaces, namespace)) return false;
  return selectorMatches(filter.labelSelector, item.manifest.metadata.labels ?? {});
}
