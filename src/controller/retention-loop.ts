// Retention: per component (key = service_id), the completed backups beyond
// its Schedule's keep go through DeleteBackupRequests (retention-plan.ts
// decides which), and backups stuck in Deleting are asked for again with
// backoff (src/velero/deletion-retry.ts). Level-based: every pass looks at what is there now, so a
// pass run twice, or again after a crash, asks for nothing more.
import type { Logger } from 'pino';
import { defined } from '../defined.js';
import { AlreadyExists } from '../velero/velero-ports.js';
import { retentionDeleted } from '../observability/metrics.js';
import { buildDeleteBackupRequest } from '../velero/delete-backup-request.js';
import { backupComponent, restoreComponent, scheduleComponent } from '../velero/velero-scope.js';
import { componentKey, identityOf, type ComponentKey } from '../components/component-key.js';
import { VELERO_LABEL, veleroLabelValue } from '../velero/velero-labels.js';
import type { VeleroResource } from '../velero/velero-resources.js';
import { scheduleName } from '../velero/object-names.js';
import { viewBackup, viewDeleteBackupRequest, viewRestore, viewSchedule, type BackupView, type DeleteBackupRequestView } from '../velero/velero-views.js';
import type { ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { keepOf, retentionDeleteRequestName, retentionMessage, retentionPlan, type RetentionInput, type RetentionPlan } from './retention-plan.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';
import type { ComponentLock } from '../components/component-lock.js';
import type { RequestRecordStore } from '../request-record-ports.js';
import type { RestoreRequestIndex } from '../restore/restore-request-index.js';
import { isFinalStage, readRestoreRequest, RESTORE_REQUEST_LABEL, stageOf, type RestoreRequestRecord } from '../restore/restore-request.js';
import { readOnlyRefusal } from '../velero/storage-location-state.js';
import { deletionRetryPatch, nextRetryAt, retryDeleteRequestName, stuckDeletion, type DeletionBackoff } from '../velero/deletion-retry.js';

/** What can change a component's plan: its backups (and their volumes), restores, Schedules, deletion requests. */
const TRIGGERS: ReadonlySet<VeleroResource> = new Set<VeleroResource>(['backups', 'podvolumebackups', 'restores', 'schedules', 'deletebackuprequests']);
/** Until every Velero list has succeeded once, the cache cannot tell "no DeleteBackupRequest" from "not listed yet". */
const UNSYNCED_RETRY_MS = 2_000;

/** What retention needs beyond every loop's deps. */
export interface RetentionDeps {
  /** The project's restore requests: the watch's view (a cheap first look) and a live list (the decision, under the lock). */
  restoreIndex: Pick<RestoreRequestIndex, 'of'>;
  restoreRequests: Pick<RequestRecordStore, 'list'>;
  /** The API's per-component lock: a restore asked for through the API is written under it, so no deletion slips in between its check and its record. */
  lock: ComponentLock;
  /** Retries of backups stuck in Deleting (DELETION_RETRY_BASE, DELETION_RETRY_MAX). */
  deletionBackoff: DeletionBackoff;
}

export function retentionLoop(deps: ControllerDeps & RetentionDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'retention' });
  /** The pause each component was last warned about: one Warning per pause, not one per pass. */
  const paused = new Map<ComponentKey, string>();
  const queue = new WorkQueue((key, signal) => reconcileComponent(deps, key as ComponentKey, signal, log, paused), { name: 'retention' }, log);
  return {
    queue,
    resyncMs,
    // Components that keep a number, and any with a backup stuck in Deleting (whoever asked for that deletion).
    keys: () => deps.registry.keys().filter((key) => keepOf(deps.cache.schedulesOf(key)) !== undefined || deps.cache.backupsOf(key).some((b) => b.status.phase === 'Deleting')),
    watch: () =>
      deps.cache.subscribe((change) => {
        if (change.component !== undefined && TRIGGERS.has(change.resource)) queue.add(change.component);
      }),
  };
}

/** One pass: stuck deletions asked for again when due, then pruning beyond keep. */
async function reconcileComponent(deps: ControllerDeps & RetentionDeps, key: ComponentKey, signal: AbortSignal, log: Logger, paused: Map<ComponentKey, string>): Promise<ReconcileResult> {
  if (!deps.cache.synced()) return { requeueAfterMs: UNSYNCED_RETRY_MS };
  const retry = await retryStuckDeletions(deps, key, signal, log, paused);
  await pruneComponent(deps, key, signal, log, paused);
  return retry;
}

/** Velero refuses deletions in a ReadOnly location: the reason (naming it and its mode) when `backup`'s is, else undefined. */
function readOnlyReason(deps: ControllerDeps, backup: BackupView): string | undefined {
  const location = backup.spec.storageLocation ?? deps.settings.storageLocation;
  return readOnlyRefusal(deps.cache.storageLocation(location), `${deps.settings.veleroNamespace}/${location}`, 'retention');
}

/** One Warning RetentionPaused per pause (and again when its reason changes), so `kubectl describe` says why nothing is pruned. */
async function warnPaused(deps: ControllerDeps, key: ComponentKey, reason: string, paused: Map<ComponentKey, string>): Promise<void> {
  if (paused.get(key) === reason) return;
  paused.set(key, reason);
  const target = eventTarget(deps.registry.get(key));
  if (target !== undefined) await deps.events.record(target, 'Warning', EVENT_REASON.retentionPaused, `retention paused: ${reason}`);
}

/**
 * Backups stuck in Deleting (deletion-retry.ts): each is asked for again
 * once its backoff has passed. The attempt is written on the Backup first
 * (guarded by its resourceVersion: of two controllers, one wins), then the
 * attempt's request is created under a name of its own. A crash in between
 * loses no attempt's record and a repeat creates nothing (AlreadyExists).
 * Returns when to look again: the earliest retry still waiting.
 */
async function retryStuckDeletions(deps: ControllerDeps & RetentionDeps, key: ComponentKey, signal: AbortSignal, log: Logger, paused: Map<ComponentKey, string>): Promise<ReconcileResult> {
  let wake = Number.POSITIVE_INFINITY;
  for (const cachedBackup of deps.cache.backupsOf(key)) {
    if (!stuckDeletion(cachedBackup, deps.cache.deleteRequestsFor(cachedBackup.metadata.name))) continue;
    signal.throwIfAborted();
    const readOnly = readOnlyReason(deps, cachedBackup);
    if (readOnly) {
      await warnPaused(deps, key, readOnly, paused);
      continue;
    }
    // Read live: the cache may not have seen Velero process our last request, or another retry's annotation.
    const backup = viewBackup(await deps.store.get('backups', cachedBackup.metadata.name));
    if (!backup || backupComponent(backup) !== key) continue;
    const requests = (await deps.store.list('deletebackuprequests', `${VELERO_LABEL.backupName}=${veleroLabelValue(backup.metadata.name)}`)).map(viewDeleteBackupRequest).filter(defined);
    const stuck = stuckDeletion(backup, requests);
    if (!stuck) continue;
    const now = deps.now();
    const due = nextRetryAt(stuck, deps.deletionBackoff);
    if (due > now.getTime()) {
      wake = Math.min(wake, due);
      continue;
    }
    const attempt = (stuck.retry?.attempts ?? 0) + 1;
    let marked: unknown;
    try {
      marked = await deps.store.patch('backups', backup.metadata.name, deletionRetryPatch(backup, attempt, now));
    } catch (err) {
      // Another writer changed the Backup since it was read (409): the next pass decides again on what is there then.
      log.info({ componentKey: key, backup: backup.metadata.name, err: (err as Error).message }, 'deletion retry not recorded; looking again');
      wake = Math.min(wake, now.getTime() + UNSYNCED_RETRY_MS);
      continue;
    }
    deps.cache.remember('backups', marked);
    try {
      const created = await deps.store.create(buildDeleteBackupRequest({ name: retryDeleteRequestName(backup, attempt), veleroNamespace: deps.settings.veleroNamespace, backup }));
      deps.cache.remember('deletebackuprequests', created);
    } catch (err) {
      if (!(err instanceof AlreadyExists)) throw err;
    }
    log.warn({ componentKey: key, backup: backup.metadata.name, attempt, errors: stuck.errors }, 'asked Velero again to delete a backup stuck in Deleting');
    const target = eventTarget(deps.registry.get(key));
    if (target !== undefined) {
      await deps.events.record(target, 'Warning', EVENT_REASON.deletionRetried, `backup ${backup.metadata.name} stuck in Deleting (${stuck.errors.join('; ') || 'no error left to read'}): asked Velero again, attempt ${attempt}`);
    }
  }
  return Number.isFinite(wake) ? { requeueAfterMs: Math.max(1_000, wake - deps.now().getTime()) } : undefined;
}

/**
 * Pruning. The plan is first made from the cache (no API call: most
 * triggers, a backup's phase moving on, change nothing); only when it finds
 * something to delete are the component's Schedules, Backups, Restores,
 * restore requests and deletion requests read live, under the component's
 * Lease, and the plan made again from those, since the cache may lag: a keep
 * just raised, a restore just asked for, a backup just deleted by hand must
 * all count before anything is deleted. A ReadOnly location pauses it.
 */
async function pruneComponent(deps: ControllerDeps & RetentionDeps, key: ComponentKey, signal: AbortSignal, log: Logger, paused: Map<ComponentKey, string>): Promise<void> {
  const cachedKeep = keepOf(deps.cache.schedulesOf(key));
  if (cachedKeep === undefined) return;
  const cached = retentionPlan({
    backups: deps.cache.backupsOf(key),
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
    restores: deps.cache.restoresOf(key),
    deleteRequestsFor: (name) => deps.cache.deleteRequestsFor(name),
    requestedRestores: unfinishedRequestBackups(deps.restoreIndex.of(key)),
    keep: cachedKeep,
  });
  if (cached.toDelete.length === 0) return;
  const readOnly = cached.toDelete.map((b) => readOnlyReason(deps, b)).find(defined);
  if (readOnly) {
    await warnPaused(deps, key, readOnly, paused);
    return;
  }
  paused.delete(key);

  await deps.lock.withLock(key, async () => {
    const live = await liveInput(deps, key);
    if (live === undefined) return;
    const plan = retentionPlan(live);
    if (plan.toDelete.length === 0) return;
    await deleteBackups(deps, key, live.keep, plan, signal, log);
  });
}

async function deleteBackups(deps: ControllerDeps, key: ComponentKey, keep: number, plan: RetentionPlan, signal: AbortSignal, log: Logger): Promise<void> {
  for (const backup of plan.toDelete) {
    signal.throwIfAborted();
    try {
      const created = await deps.store.create(
        buildDeleteBackupRequest({ name: retentionDeleteRequestName(backup), veleroNamespace: deps.settings.veleroNamespace, backup }),
      );
      deps.cache.remember('deletebackuprequests', created);
      retentionDeleted.inc();
    } catch (err) {
      // The same name as an earlier try's (a pass interrupted after its create): that request stands.
      if (!(err instanceof AlreadyExists)) throw err;
    }
  }
  const deleted = plan.toDelete.map((b) => b.metadata.name);
  log.info({ componentKey: key, keep, completed: plan.completed, deleted, protected: plan.protected }, 'retention pruned backups');
  await announce(deps, key, keep, plan);
}

/** The backups the component's restore requests read, of those that have not finished. */
function unfinishedRequestBackups(records: readonly RestoreRequestRecord[]): string[] {
  return records.filter((r) => !isFinalStage(stageOf(r))).map((r) => r.request?.backupName).filter(defined);
}

/**
 * The component's objects as the API server has them now, read by name
 * wherever it can be: a label-selected list in Velero's namespace makes the
 * API server read every object there from etcd (labels are not indexed), and
 * with 100,000 Backups one such list outlasted the 5 s timeout, per
 * component (the controller benchmark). So the Schedules are read by their
 * possible names (ours, the region API's, and any the cache holds for the
 * component), each completed Backup the
 * cache knows is re-read by name (a Backup newer than the cache knows only
 * makes the plan keep more), and Restores and DeleteBackupRequests, far
 * fewer than Backups, are listed.
 * Undefined when the Schedules no longer ask to keep a number.
 */
async function liveInput(deps: ControllerDeps & RetentionDeps, key: ComponentKey): Promise<RetentionInput | undefined> {
  const identity = identityOf(key);
  const selector = `${VELERO_LABEL.serviceId}=${identity.serviceId}`;
  const scheduleNames = new Set([scheduleName(identity), identity.serviceId, ...deps.cache.schedulesOf(key).map((s) => s.metadata.name)]);
  const [schedules, restores, requests, restoreRecords] = await Promise.all([
    Promise.all([...scheduleNames].map((name) => deps.store.get('schedules', name))),
    deps.store.list('restores', selector),
    deps.store.list('deletebackuprequests', selector),
    deps.restoreRequests.list(`${RESTORE_REQUEST_LABEL}=true,${VELERO_LABEL.serviceId}=${identity.serviceId}`),
  ]);
  const ownRecords = restoreRecords
    .map(readRestoreRequest)
    .filter(defined)
    .filter((r) => r.request !== undefined && componentKey(r.request.component.namespace, r.request.component.serviceId) === key);
  // Only what is scoped to the component's namespace counts (velero-scope.ts): never another's keep, backups or restores.
  const keep = keepOf(schedules.map((s) => (s === undefined ? undefined : viewSchedule(s))).filter(defined).filter((s) => scheduleComponent(s) === key));
  if (keep === undefined) return undefined;
  const completed = deps.cache.backupsOf(key).filter((b) => b.status.phase === 'Completed');
  const backups = (await Promise.all(completed.map((b) => deps.store.get('backups', b.metadata.name))))
    .map((raw) => (raw === undefined ? undefined : viewBackup(raw)))
    .filter(defined)
    .filter((b) => backupComponent(b) === key);
  const backupOf = (name: string): BackupView | undefined => backups.find((b) => b.metadata.name === name) ?? deps.cache.backup(name);
  const liveRequests = new Map<string, DeleteBackupRequestView[]>();
  for (const request of requests.map(viewDeleteBackupRequest).filter(defined)) {
    liveRequests.set(request.spec.backupName, [...(liveRequests.get(request.spec.backupName) ?? []), request]);
  }
  return {
    backups,
    // PodVolumeBackups are written while a backup runs and never after: the cache has a finished backup's.
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
    restores: restores
      .map(viewRestore)
      .filter(defined)
      .filter((r) => restoreComponent(r, backupOf) === key),
    // Ours and the API's carry the service_id; `velero backup delete`'s only the backup's name, which the cache indexes.
    deleteRequestsFor: (name) => [...(liveRequests.get(name) ?? []), ...deps.cache.deleteRequestsFor(name)],
    requestedRestores: unfinishedRequestBackups(ownRecords),
    keep,
  };
}

/** One Event per pass, on the workload (or a PVC when the workload is gone), so `kubectl describe` shows it. */
async function announce(deps: ControllerDeps, key: ComponentKey, keep: number, plan: RetentionPlan): Promise<void> {
  const target = eventTarget(deps.registry.get(key));
  if (target !== undefined) await deps.events.record(target, 'Normal', EVENT_REASON.retentionPruned, retentionMessage(plan, keep));
}
