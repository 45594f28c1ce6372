// Retention: per component (key = service_id), the completed backups beyond
// its Schedule's keep go through DeleteBackupRequests (retention-plan.ts
// decides which). Level-based: every pass looks at what is there now, so a
// pass run twice, or again after a crash, asks for nothing more.
import type { Logger } from 'pino';
import { defined } from '../defined.js';
import { AlreadyExists } from '../velero/velero-ports.js';
import { retentionDeleted } from '../observability/metrics.js';
import { buildDeleteBackupRequest } from '../velero/delete-backup-request.js';
import { backupComponent, restoreComponent, scheduleComponent } from '../velero/velero-scope.js';
import { identityOf, type ComponentKey } from '../components/component-key.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { VeleroResource } from '../velero/velero-resources.js';
import { scheduleName } from '../velero/object-names.js';
import { viewBackup, viewDeleteBackupRequest, viewRestore, viewSchedule, type BackupView, type DeleteBackupRequestView } from '../velero/velero-views.js';
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
  const queue = new WorkQueue((key, signal) => pruneComponent(deps, key as ComponentKey, signal, log), { name: 'retention' }, log);
  return {
    queue,
    resyncMs,
    keys: () => deps.registry.keys().filter((key) => keepOf(deps.cache.schedulesOf(key)) !== undefined),
    watch: () =>
      deps.cache.subscribe((change) => {
        if (change.component !== undefined && TRIGGERS.has(change.resource)) queue.add(change.component);
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
async function pruneComponent(deps: ControllerDeps, key: ComponentKey, signal: AbortSignal, log: Logger): Promise<ReconcileResult> {
  if (!deps.cache.synced()) return { requeueAfterMs: UNSYNCED_RETRY_MS };
  const cachedKeep = keepOf(deps.cache.schedulesOf(key));
  if (cachedKeep === undefined) return;
  const cached = retentionPlan({
    backups: deps.cache.backupsOf(key),
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
    restores: deps.cache.restoresOf(key),
    deleteRequestsFor: (name) => deps.cache.deleteRequestsFor(name),
    keep: cachedKeep,
  });
  if (cached.toDelete.length === 0) return;

  const live = await liveInput(deps, key);
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
  log.info({ componentKey: key, keep: live.keep, completed: plan.completed, deleted, protected: plan.protected }, 'retention pruned backups');
  await announce(deps, key, live.keep, plan);
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
async function liveInput(deps: ControllerDeps, key: ComponentKey): Promise<RetentionInput | undefined> {
  const identity = identityOf(key);
  const selector = `${VELERO_LABEL.serviceId}=${identity.serviceId}`;
  const scheduleNames = new Set([scheduleName(identity), identity.serviceId, ...deps.cache.schedulesOf(key).map((s) => s.metadata.name)]);
  const [schedules, restores, requests] = await Promise.all([
    Promise.all([...scheduleNames].map((name) => deps.store.get('schedules', name))),
    deps.store.list('restores', selector),
    deps.store.list('deletebackuprequests', selector),
  ]);
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
    keep,
  };
}

/** One Event per pass, on the workload (or a PVC when the workload is gone), so `kubectl describe` shows it. */
async function announce(deps: ControllerDeps, key: ComponentKey, keep: number, plan: RetentionPlan): Promise<void> {
  const target = eventTarget(deps.registry.get(key));
  if (target !== undefined) await deps.events.record(target, 'Normal', EVENT_REASON.retentionPruned, retentionMessage(plan, keep));
}
