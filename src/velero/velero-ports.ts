import type { ComponentKey } from '../components/component-key.js';
import type { VeleroObject, VeleroResource } from './velero-resources.js';
import type {
  BackupStorageLocationView,
  BackupView,
  DeleteBackupRequestView,
  PodVolumeBackupView,
  PodVolumeRestoreView,
  RestoreView,
  ScheduleView,
} from './velero-views.js';

// How the API's use cases, the holder's backup at rest and the controller's
// loops reach Velero objects, as two ports: a watch-backed cache for reads
// and a live store for the reads and writes that must not trust a cache.
// src/kube/velero-cache.ts and velero-store.ts implement them; tests use
// in-memory fakes.

/** Whether Velero can take a request now; `missing` says exactly what is not there. */
export type VeleroReadiness = { ready: true } | { ready: false; missing: string };

/**
 * Velero objects as the watch-backed caches hold them: no API call per read.
 * A component's objects are those whose scope is its namespace and whose
 * label is its service_id (velero-scope.ts): the label alone is anyone's to
 * write in their own namespace.
 */
export interface VeleroCache {
  readiness(): VeleroReadiness;
  backupsOf(component: ComponentKey): readonly BackupView[];
  backup(name: string): BackupView | undefined;
  podVolumeBackupsOf(backupName: string): readonly PodVolumeBackupView[];
  restoresOf(component: ComponentKey): readonly RestoreView[];
  restore(name: string): RestoreView | undefined;
  podVolumeRestoresOf(restoreName: string): readonly PodVolumeRestoreView[];
  schedulesOf(component: ComponentKey): readonly ScheduleView[];
  /** Every component some cached Schedule is scoped to: the controller's orphan sweep looks at each. */
  scheduleComponents(): readonly ComponentKey[];
  deleteRequestsFor(backupName: string): readonly DeleteBackupRequestView[];
  storageLocation(name: string): BackupStorageLocationView | undefined;
  /** Read-your-writes: an object this process just created or changed, before its watch event arrives. */
  remember(resource: VeleroResource, raw: unknown): void;
  /** Read-your-writes for a delete. */
  forget(resource: VeleroResource, name: string): void;
  /** Called synchronously after every change the watches (or remember/forget) bring. */
  subscribe(listener: (change: VeleroChange) => void): () => void;
  /** Every resource listed at least once: before that, an absent object proves nothing. */
  synced(): boolean;
}

/** One Velero object changed (or went away). */
export interface VeleroChange {
  resource: VeleroResource;
  name: string;
  /** Its component (scope and label, velero-scope.ts); for a PodVolumeBackup its Backup's. */
  component?: ComponentKey;
}

/** VeleroStore.create: the name is taken. */
export class AlreadyExists extends Error {
  constructor(readonly objectName: string) {
    super(`${objectName} already exists`);
    this.name = 'AlreadyExists';
  }
}

/** Live reads and writes of Velero objects, for the decisions that must not trust a cache. */
export interface VeleroStore {
  /** Consistent list (not the watch cache) of a resource by label selector. */
  list(resource: VeleroResource, labelSelector: string): Promise<unknown[]>;
  get(resource: VeleroResource, name: string): Promise<unknown>;
  /** Resolves with the stored object; rejects with AlreadyExists when the name is taken. */
  create(object: VeleroObject): Promise<unknown>;
  /** JSON merge patch. */
  patch(resource: VeleroResource, name: string, patch: Record<string, unknown>): Promise<unknown>;
  /** Resolves false when it was already gone. */
  remove(resource: VeleroResource, name: string): Promise<boolean>;
}
