// Backup on stop, the loop: carries out stopBackupStep (stop-backup.ts) for
// every stopped component, through backUpAtRest, the use case the API's
// POST …/backup of a stopped component runs too, through the request loop
// (one lock, one holder per component, so the two never race). All state is in the cluster: the
// Backup's name is the stop's, and a holder that never ran is recorded on
// the first PVC, so a restart or a new leader neither takes a second backup
// for a stop nor retries a failed one forever. A leader killed after the
// holder started but before the Backup was made leaves the holder to the
// sweep (it removes holders whose Backup never came) and tries again after.
import { backupBudget } from './backup-budget.js';
import type { ComponentKey } from '../components/component-key.js';
import type { Logger } from 'pino';
import type { ComponentSnapshot } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { isStopped } from '../components/run-mark.js';
import { backUpAtRest, type AtRestDeps } from '../holder/at-rest-backup.js';
import type { ClaimPatcher } from '../kube/claim-patcher.js';
import { stopBackups } from '../observability/protection-metrics.js';
import { buildBackup } from '../velero/backup-object.js';
import { BACKUP_TRIGGER, VELERO_LABEL } from '../velero/velero-labels.js';
import { currentProtection } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { stopBackupStep } from './stop-backup.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
/** Another backup runs, or a holder serves a console request or a restore: look again after this (their changes also wake the loop). */
const BUSY_RETRY_MS = 30_000;
/** Each try can wait for a holder to start (HOLDER_START_TIMEOUT): a few at once, so one slow volume does not hold up the rest. */
const CONCURRENCY = 4;
/** Who the Backup says made it (wutong.io/creator, the record's "operator"). */
const OPERATOR = 'wutong-backup';

export interface StopBackupDeps extends ControllerDeps {
  atRest: AtRestDeps;
  claims: ClaimPatcher;
}

async function reconcile(deps: StopBackupDeps, log: Logger, key: ComponentKey, signal: AbortSignal): Promise<ReconcileResult> {
  if (!synced(deps)) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  const component = deps.registry.get(key);
  if (component === undefined) return;
  const protection = currentProtection(deps, component);
  const step = stopBackupStep({
    component,
    backupOnStop: protection?.backupOnStop,
    backups: deps.cache.backupsOf(key),
    podVolumeBackupsOf: (name) => deps.cache.podVolumeBackupsOf(name),
  });
  if (step.kind === 'none' || protection === undefined) return;
  // The stop time comes from a run mark on the tenant's PVC: whatever it says, at most CONTROLLER_BACKUPS_PER_HOUR such Backups an hour.
  const budget = backupBudget(deps.cache.backupsOf(key), deps.now());
  if (!budget.allowed) {
    log.warn({ componentKey: key, backup: step.backup, used: budget.used }, `backup on stop deferred: ${budget.used} controller backups of this component in the last hour`);
    return { requeueAfterMs: Math.max(1_000, budget.freeAtMs - deps.now().getTime()) };
  }
  // The cache may lag a Backup the last leader made a moment ago: a live GET before anything starts.
  const live = await deps.store.get('backups', step.backup);
  if (live !== undefined) {
    deps.cache.remember('backups', live);
    return;
  }
  signal.throwIfAborted();
  const backup = buildBackup({
    name: step.backup,
    veleroNamespace: deps.settings.veleroNamespace,
    storageLocation: deps.settings.storageLocation,
    serviceId: component.serviceId,
    componentNamespace: component.namespace,
    ttl: protection.ttl,
    desc: `data at rest after the stop at ${step.stoppedAt} (backupOnStop of rule ${protection.rule})`,
    operator: OPERATOR,
  });
  backup.metadata.labels = { ...backup.metadata.labels, [VELERO_LABEL.trigger]: BACKUP_TRIGGER.stop };
  const outcome = await backUpAtRest(deps.atRest, { serviceId: component.serviceId, namespace: component.namespace, backup, earlier: (backups) => backups.find((b) => b.metadata.name === step.backup) });
  const fields = { componentKey: key, backup: step.backup, stoppedAt: step.stoppedAt, outcome: outcome.kind };
  switch (outcome.kind) {
    case 'started': {
      stopBackups.inc({ outcome: 'started' });
      const message = `${component.ref.serviceAlias} stopped at ${step.stoppedAt} after a run no backup holds: Backup ${step.backup} copies its data at rest through holder pod ${outcome.holder}`;
      log.info(fields, message);
      await tell(deps, component, 'Normal', EVENT_REASON.backupOnStop, message);
      return;
    }
    case 'unfinished':
    case 'holder-busy':
      log.info(fields, 'backup on stop waits: the component is busy');
      return { requeueAfterMs: BUSY_RETRY_MS };
    case 'not-running': {
      stopBackups.inc({ outcome: 'failed' });
      const [first] = [...component.claims].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (first) await deps.claims.patch(first.namespace, first.name, { annotations: { [PROTECTION_ANNOTATION.stopBackup]: step.backup } }, undefined);
      const message = `${component.ref.serviceAlias} stopped at ${step.stoppedAt} and no backup holds its last run, but holder pod ${outcome.holder} ${outcome.why}: no backup was taken and this stop is not tried again; check HOLDER_IMAGE and the volumes, then back it up from the console`;
      log.warn(fields, message);
      await tell(deps, component, 'Warning', EVENT_REASON.backupOnStopFailed, message);
      return;
    }
    case 'earlier':
    case 'no-claims':
    case 'claims-deleting':
      return;
  }
}

async function tell(deps: StopBackupDeps, component: ComponentSnapshot, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  const target = eventTarget(component);
  if (target) await deps.events.record(target, type, reason, message);
}

/** The backup-on-stop loop; `resyncMs` is CONTROLLER_RESYNC. */
export function stopBackupLoop(deps: StopBackupDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'stop-backups' });
  const stopped = (): string[] => deps.registry.all().filter(isStopped).map((c) => c.key);
  const queue = new WorkQueue((key, signal) => reconcile(deps, log, key as ComponentKey, signal), { name: 'stop-backups', concurrency: CONCURRENCY }, log);
  return {
    queue,
    keys: stopped,
    resyncMs,
    watch() {
      const unsubscribe = [
        // The run mark on its PVCs turning into a stop is a registry change.
        deps.registry.subscribe((key) => {
          const component = deps.registry.get(key);
          if (component && isStopped(component)) queue.add(key);
        }),
        // A backup finishing (it may cover the stop, or free the component for ours), or a Schedule naming the rule.
        deps.cache.subscribe((change) => {
          if (change.component === undefined) return;
          const component = deps.registry.get(change.component);
          if (component && isStopped(component)) queue.add(change.component);
        }),
        deps.policy.subscribe(() => {
          for (const key of stopped()) queue.add(key);
        }),
      ];
      return () => unsubscribe.forEach((off) => off());
    },
  };
}
