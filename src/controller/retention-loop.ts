// Retention: per component (key = service_id), the completed backups beyond
// its Schedule's keep go through DeleteBackupRequests (retention-plan.ts
// decides which). Level-based: every pass looks at what is there now, so a
// pass run twice, or again after a crash, asks for nothing more.
import type { Logger } from 'pino';
import { defined } from '../api/use-cases/create-named.js';
import { AlreadyExists } from '../api/use-cases/ports.js';
import { retentionDeleted } from '../observability/metrics.js';
import { buildDeleteBackupRequest } from '../velero/delete-backup-request.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { VeleroResource } from '../velero/velero-resources.js';
import { scheduleName } from '../velero/object-names.js';
import { viewBackup, viewDeleteBackupRequest, viewRestore, viewSchedule, type DeleteBackupRequestView } from '../velero/velero-views.js';
import type { ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { keepOf, retentionDeleteRequestName, retentionMessage, retentionPlan, type RetentionInput, type RetentionPlan } from './retention-plan.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

/** What can change a component's plan: its backups (and their volumes), restores, Schedules, deletion requests. */
const TRIGGERS: ReadonlySet<VeleroResource> = new Set<VeleroResource>(['backups', 'podvolumebackups', 'restores', 'schedules', 'deletebackuprequests']);
/** Until every Velero list has succeeded once, the cache cannot tell "no DeleteBackupRequest" from "not listed yet". */
const UNSYNCED_RETRY_MS = 2_000;

export function retentionLoop(deps: ControllerDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'retention' });
  const queue = new WorkQueue((serviceId, signal) => pruneComponent(deps, serviceId, signal, log), { name: 'retention' }, log);
  return {
    queue,
    resyncMs,
    keys: () => deps.registry.serviceIds().filter((serviceId) => keepOf(deps.cache.schedulesOf(serviceId)) !== undefined),
    watch: () =>
      deps.cache.subscribe((change) => {
        if (change.serviceId !== undefined && TRIGGERS.has(change.resource)) queue.add(change.serviceId);
      }),
  };
}

/**
 * One pass. The plan is first made from the cache (no API call: most
 * triggers, a backup's phase moving on, change nothing); only when it finds
 * something to delete are the component's Schedules, Backups, Restores and
 * deletion requests read live and the plan made again from those, since the cache may lag: a
 * keep just raised, a restore just started, a backup just deleted by hand
 * must all count before anything is deleted.
 */
async function pruneComponent(deps: ControllerDeps, serviceId: string, signal: AbortSignal, log: Logger): Promise<ReconcileResult> {
  if (!deps.cache.synced()) return { requeueAfterMs: UNSYNCED_RETRY_MS };
  const cachedKeep = keepOf(deps.cache.schedulesOf(serviceId));
  if (cachedKeep === undefined) return;
  const cached = retentionPlan({
    backups: deps.cache.backupsOf(serviceId),
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
    restores: deps.cache.restoresOf(serviceId),
    deleteRequestsFor: (name) => deps.cache.deleteRequestsFor(name),
    keep: cachedKeep,
  });
  if (cached.toDelete.length === 0) return;

  const live = await liveInput(deps, serviceId);
  if (live === undefined) return;
  const plan = retentionPlan(live);
  if (plan.toDelete.length === 0) return;
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
  log.info({ serviceId, keep: live.keep, completed: plan.completed, deleted, protected: plan.protected }, 'retention pruned backups');
  await announce(deps, serviceId, live.keep, plan);
}

/**
 * The component's objects as the API server has them now, read by name
 * wherever it can be: a label-selected list in Velero's namespace makes the
 * API server read every object there from etcd (labels are not indexed), and
 * with 100,000 Backups one such list outlasted the 5 s timeout, per
 * component (the controller benchmark). So the Schedules are read by their
 * two possible names (ours and the region API's), each completed Backup the
 * cache knows is re-read by name (a Backup newer than the cache knows only
 * makes the plan keep more), and Restores and DeleteBackupRequests, far
 * fewer than Backups, are listed.
 * Undefined when the Schedules no longer ask to keep a number.
 */
async function liveInput(deps: ControllerDeps, serviceId: string): Promise<RetentionInput | undefined> {
  const selector = `${VELERO_LABEL.serviceId}=${serviceId}`;
  const [ours, regionApi, restores, requests] = await Promise.all([
    deps.store.get('schedules', scheduleName(serviceId)),
    deps.store.get('schedules', serviceId),
    deps.store.list('restores', selector),
    deps.store.list('deletebackuprequests', selector),
  ]);
  const keep = keepOf([ours, regionApi].map((s) => (s === undefined ? undefined : viewSchedule(s))).filter(defined));
  if (keep === undefined) return undefined;
  const completed = deps.cache.backupsOf(serviceId).filter((b) => b.status.phase === 'Completed');
  const backups = (await Promise.all(completed.map((b) => deps.store.get('backups', b.metadata.name)))).map((raw) => (raw === undefined ? undefined : viewBackup(raw))).filter(defined);
  const liveRequests = new Map<string, DeleteBackupRequestView[]>();
  for (const request of requests.map(viewDeleteBackupRequest).filter(defined)) {
    liveRequests.set(request.spec.backupName, [...(liveRequests.get(request.spec.backupName) ?? []), request]);
  }
  return {
    backups,
    // PodVolumeBackups are written while a backup runs and never after: the cache has a finished backup's.
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
    restores: restores.map(viewRestore).filter(defined),
    // Ours and the API's carry the service_id; `velero backup delete`'s only the backup's name, which the cache indexes.
    deleteRequestsFor: (name) => [...(liveRequests.get(name) ?? []), ...deps.cache.deleteRequestsFor(name)],
    keep,
  };
}

/** One Event per pass, on the workload (or a PVC when the workload is gone), so `kubectl describe` shows it. */
async function announce(deps: ControllerDeps, serviceId: string, keep: number, plan: RetentionPlan): Promise<void> {
  const target = eventTarget(deps.registry.get(serviceId));
  if (target !== undefined) await deps.events.record(target, 'Normal', EVENT_REASON.retentionPruned, retentionMessage(plan, keep));
}
