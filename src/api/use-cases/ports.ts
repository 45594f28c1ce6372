import type { ComponentRef } from '../../components/component.js';
import type { ComponentObjects } from '../../components/resolve-component.js';
import type { VeleroResource } from '../../velero/velero-resources.js';
import type {
  BackupStorageLocationView,
  BackupView,
  DeleteBackupRequestView,
  PodVolumeBackupView,
  PodVolumeRestoreView,
  RestoreView,
  ScheduleView,
} from '../../velero/velero-views.js';
import type { VeleroObject } from '../../velero/velero-resources.js';

/**
 * What the use cases need from the cluster, as small interfaces: the
 * Kubernetes adapters in src/kube implement them, and nothing here knows
 * about HTTP to the API server.
 */

/** Reads what the cluster holds under one component's labels (live). */
export interface ComponentReader {
  read(ref: ComponentRef): Promise<ComponentObjects>;
}

/** Whether Velero can take a request now; `missing` says exactly what is not there. */
export type VeleroReadiness = { ready: true } | { ready: false; missing: string };

/** Velero objects as the watch-backed caches hold them: no API call per read. */
export interface VeleroCache {
  readiness(): VeleroReadiness;
  backupsOf(serviceId: string): readonly BackupView[];
  backup(name: string): BackupView | undefined;
  podVolumeBackupsOf(backupName: string): readonly PodVolumeBackupView[];
  restoresOf(serviceId: string): readonly RestoreView[];
  restore(name: string): RestoreView | undefined;
  podVolumeRestoresOf(restoreName: string): readonly PodVolumeRestoreView[];
  schedulesOf(serviceId: string): readonly ScheduleView[];
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
  /** Its component: the wutong.io/service_id label, for a PodVolumeBackup its Backup's. */
  serviceId?: string;
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

/**
 * Mutual exclusion per component across every replica: check-then-create
 * runs inside it, so two requests (on two replicas) cannot both see "no
 * unfinished backup" and both create one.
 */
export interface ComponentLock {
  /**
   * Runs `work` holding the component's lock. `shortcut`, when given, runs
   * first whenever this request's turn comes (and may throw, or return an
   * answer that makes taking the lock unnecessary): requests that queued
   * behind one that just created a backup see it in the cache and are
   * answered without another round trip to the API server.
   */
  withLock<T>(serviceId: string, work: () => Promise<T>, shortcut?: () => T | undefined): Promise<T>;
}
