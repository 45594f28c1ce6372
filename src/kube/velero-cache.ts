import type { Logger } from 'pino';
import type { VeleroCache, VeleroChange, VeleroReadiness } from '../velero/velero-ports.js';
import { identityOf, type ComponentKey } from '../components/component-key.js';
import { VELERO_LABEL, veleroLabelValue } from '../velero/velero-labels.js';
import { backupComponent, restoreComponent, scheduleComponent } from '../velero/velero-scope.js';
import { veleroCrdName, veleroPath, type VeleroResource } from '../velero/velero-resources.js';
import {
  viewBackup,
  viewBackupStorageLocation,
  viewDeleteBackupRequest,
  viewPodVolumeBackup,
  viewPodVolumeRestore,
  viewRestore,
  viewSchedule,
  type BackupStorageLocationView,
  type BackupView,
  type DeleteBackupRequestView,
  type PodVolumeBackupView,
  type PodVolumeRestoreView,
  type RestoreView,
  type ScheduleView,
} from '../velero/velero-views.js';
import { viewBytes } from '../velero/velero-views.js';
import { DEFAULT_MAX_VALIDATION_AGE_MS, storageLocationState } from '../velero/storage-location-state.js';
import type { KubeHttp } from './kube-http.js';
import { listWatch, type ListOutcome, type ListWatch } from './list-watch.js';
import { ViewIndex, type IndexedView } from './view-index.js';

export interface VeleroCacheOptions {
  namespace: string;
  storageLocation: string;
  /** Server-side watch timeout; a healthy watch carries a byte at least this often. */
  watchTimeoutSeconds?: number;
  relistIntervalMs?: number;
  /**
   * Retry cap after a failed list. Short, because a failed list is usually
   * Velero's CRDs not installed yet: once they are, requests should work
   * within seconds, without a restart.
   */
  maxBackoffMs?: number;
  /** BSL_VALIDATION_MAX_AGE: a storage location Velero has not validated for longer is unavailable (storage-location-state.ts). */
  maxValidationAgeMs?: number;
  now?: () => number;
}

export interface CachedResourceSize {
  objects: number;
  bytes: number;
}

export interface RunningVeleroCache extends VeleroCache {
  /**
   * Starts every watch and returns at once: Velero may not be installed yet,
   * and readiness() says per request what is still missing.
   */
  start(): void;
  stop(): void;
  /** Objects and JSON bytes held per resource (README: memory per cached Backup). */
  sizes(): Record<string, CachedResourceSize>;
}

type AnyView = IndexedView & { metadata: { name: string } };
interface Cached<V extends AnyView> {
  resource: VeleroResource;
  index: ViewIndex<V>;
  view: (raw: unknown) => V | undefined;
  outcome?: ListOutcome;
}

/**
 * Watch-backed caches of the Velero objects records are made of, in the
 * Velero namespace, indexed by service_id (then checked against the scope,
 * velero-scope.ts) or by the backup/restore they belong to: a records request makes no API call (the region API makes
 * 1 + N). Only the fields records need are kept (velero-views.ts).
 */
export function veleroCache(http: KubeHttp, options: VeleroCacheOptions, log: Logger): RunningVeleroCache {
  const backups: Cached<BackupView> = { resource: 'backups', index: new ViewIndex(VELERO_LABEL.serviceId), view: viewBackup };
  const restores: Cached<RestoreView> = { resource: 'restores', index: new ViewIndex(VELERO_LABEL.serviceId), view: viewRestore };
  const schedules: Cached<ScheduleView> = { resource: 'schedules', index: new ViewIndex(VELERO_LABEL.serviceId), view: viewSchedule };
  const podVolumeBackups: Cached<PodVolumeBackupView> = { resource: 'podvolumebackups', index: new ViewIndex(VELERO_LABEL.backupName), view: viewPodVolumeBackup };
  const podVolumeRestores: Cached<PodVolumeRestoreView> = { resource: 'podvolumerestores', index: new ViewIndex(VELERO_LABEL.restoreName), view: viewPodVolumeRestore };
  const deleteRequests: Cached<DeleteBackupRequestView> = {
    resource: 'deletebackuprequests',
    index: new ViewIndex(VELERO_LABEL.backupName),
    view: viewDeleteBackupRequest,
  };
  const storageLocations: Cached<BackupStorageLocationView> = {
    resource: 'backupstoragelocations',
    index: new ViewIndex(),
    view: viewBackupStorageLocation,
  };
  // One list of the differently typed caches, for what all of them share (watching, readiness, sizes).
  const all = [backups, restores, schedules, podVolumeBackups, podVolumeRestores, deleteRequests, storageLocations] as unknown as Cached<AnyView>[];

  const watches: ListWatch[] = all.map((cached) =>
    listWatch<{ metadata?: { name?: string } }>(
      http,
      {
        path: veleroPath(options.namespace, cached.resource),
        watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
        relistIntervalMs: options.relistIntervalMs ?? 15 * 60_000,
        maxBackoffMs: options.maxBackoffMs ?? 5_000,
      },
      {
        upsert(raw) {
          const view = cached.view(raw);
          if (!view) return;
          cached.index.upsert(view);
          notify(cached.resource, view);
        },
        remove(raw) {
          const name = raw.metadata?.name;
          if (!name) return;
          const view = cached.index.get(name);
          cached.index.remove(name);
          if (view) notify(cached.resource, view);
        },
        listed(outcome) {
          if (outcome.ok) everListed.add(cached.resource);
          if (!outcome.ok && cached.outcome?.ok !== false) log.warn({ resource: cached.resource, status: outcome.status, err: outcome.message }, 'cannot list Velero objects');
          if (outcome.ok && cached.outcome?.ok === false) log.info({ resource: cached.resource }, 'Velero objects listed again');
          cached.outcome = outcome;
        },
      },
      log,
    ),
  );

  const listeners = new Set<(change: VeleroChange) => void>();
  const everListed = new Set<VeleroResource>();
  // A PodVolumeBackup (Restore) carries its Backup's (Restore's) name, not the component: the Backup (Restore) says whose it is.
  const componentOf = (resource: VeleroResource, view: AnyView): ComponentKey | undefined => {
    const labels = view.metadata.labels ?? {};
    const backup = (name: string): BackupView | undefined => backups.index.get(name);
    switch (resource) {
      case 'backups':
        return backupComponent(view as unknown as BackupView);
      case 'schedules':
        return scheduleComponent(view as unknown as ScheduleView);
      case 'restores':
        return restoreComponent(view as unknown as RestoreView, backup);
      case 'podvolumebackups': {
        const owner = backup(labels[VELERO_LABEL.backupName] ?? '');
        return owner ? backupComponent(owner) : undefined;
      }
      case 'deletebackuprequests': {
        // Its Backup's: a request Velero processed (a deletion that failed) is news for that component's retention.
        const owner = backup((view as unknown as DeleteBackupRequestView).spec.backupName);
        return owner ? backupComponent(owner) : undefined;
      }
      case 'podvolumerestores': {
        const owner = restores.index.get(labels[VELERO_LABEL.restoreName] ?? '');
        return owner ? restoreComponent(owner, backup) : undefined;
      }
      default:
        return undefined;
    }
  };
  const notify = (resource: VeleroResource, view: AnyView): void => {
    if (listeners.size === 0) return;
    const component = componentOf(resource, view);
    const change: VeleroChange = { resource, name: view.metadata.name, ...(component ? { component } : {}) };
    for (const listener of listeners) listener(change);
  };

  const missing = (cached: Cached<AnyView>): string | undefined => {
    const outcome = cached.outcome;
    if (!outcome) return `Velero's ${cached.resource} are still being listed`;
    if (outcome.ok) return undefined;
    if (outcome.status === 404) return `Velero is not installed: CustomResourceDefinition ${veleroCrdName(cached.resource)} (or namespace ${options.namespace}) is missing`;
    if (outcome.status === 403) return `wutong-backup may not read ${cached.resource} in namespace ${options.namespace}: apply the shipped RBAC`;
    return `cannot read Velero's ${cached.resource}: ${outcome.message}`;
  };

  return {
    start: () => watches.forEach((w) => void w.start()),
    stop: () => watches.forEach((w) => w.stop()),
    readiness(): VeleroReadiness {
      for (const cached of all) {
        const why = missing(cached);
        if (why) return { ready: false, missing: why };
      }
      const state = storageLocationState(storageLocations.index.get(options.storageLocation), {
        ref: `${options.namespace}/${options.storageLocation}`,
        now: (options.now ?? Date.now)(),
        maxValidationAgeMs: options.maxValidationAgeMs ?? DEFAULT_MAX_VALIDATION_AGE_MS,
      });
      // ReadOnly is ready: restores, records and downloads work there; the use cases refuse what Velero would refuse.
      return state.kind === 'available' ? { ready: true } : { ready: false, missing: state.message };
    },
    backupsOf: (component) => backups.index.withLabel(identityOf(component).serviceId).filter((b) => backupComponent(b) === component),
    backup: (name) => backups.index.get(name),
    // Velero writes these labels through label.GetValidName: a name over 63 characters is shortened.
    podVolumeBackupsOf: (backupName) => podVolumeBackups.index.withLabel(veleroLabelValue(backupName)),
    restoresOf: (component) => restores.index.withLabel(identityOf(component).serviceId).filter((r) => restoreComponent(r, (name) => backups.index.get(name)) === component),
    restore: (name) => restores.index.get(name),
    podVolumeRestoresOf: (restoreName) => podVolumeRestores.index.withLabel(veleroLabelValue(restoreName)),
    schedulesOf: (component) => schedules.index.withLabel(identityOf(component).serviceId).filter((s) => scheduleComponent(s) === component),
    scheduleComponents() {
      const found = new Set<ComponentKey>();
      for (const schedule of schedules.index.all()) {
        const component = scheduleComponent(schedule);
        if (component) found.add(component);
      }
      return [...found];
    },
    deleteRequestsFor: (backupName) => deleteRequests.index.withLabel(veleroLabelValue(backupName)),
    storageLocation: (name) => storageLocations.index.get(name),
    remember(resource, raw) {
      const cached = all.find((c) => c.resource === resource);
      const view = cached?.view(raw);
      if (cached && view && cached.index.upsertIfNewer(view)) notify(resource, view);
    },
    forget(resource, name) {
      const cached = all.find((c) => c.resource === resource);
      const view = cached?.index.get(name);
      cached?.index.remove(name);
      if (view) notify(resource, view);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    synced: () => all.every((cached) => everListed.has(cached.resource)),
    sizes() {
      return Object.fromEntries(
        all.map((cached) => {
          let bytes = 0;
          for (const view of cached.index.all()) bytes += viewBytes(view);
          return [cached.resource, { objects: cached.index.size, bytes }];
        }),
      );
    },
  };
}
