import type { ComponentKey } from '../../components/component-key.js';
import type { EnvLookup, TenantEnv } from '../../tenancy/tenant-directory.js';
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

/** Tenant env → namespace, from the namespaces' own labels (tenancy/). */
export interface TenantLookup {
  namespaceOf(env: TenantEnv): EnvLookup;
  /** The namespaces have been listed once: before that, an unknown env proves nothing. */
  synced(): boolean;
}

/** Reads what one namespace holds under a component's alias: nothing outside that namespace is ever read. */
export interface ComponentReader {
  read(namespace: string, serviceAlias: string): Promise<ComponentObjects>;
}

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
  withLock<T>(component: ComponentKey, work: () => Promise<T>, shortcut?: () => T | undefined): Promise<T>;
}
