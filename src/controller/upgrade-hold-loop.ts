// Backup before upgrade, the controller's half: for every workload whose
// rollout the webhook held (annotation backup.wutong.io/upgrade-hold, state
// held), take the hold's Backup of the still-running old version, and once
// it has Completed give the user's partition (or paused) back, so the
// rollout proceeds. A failed Backup, a lost protection or the bound
// (upgradeHoldLimit from heldAt) releases it at once. Keyed by service_id;
// all state is the record on the workload and the Backup's deterministic
// name, so a restart or a new leader neither loses a hold nor takes a second
// backup.
import { identityOf, type ComponentKey } from '../components/component-key.js';
import type { Logger } from 'pino';
import { AlreadyExists } from '../velero/velero-ports.js';
import type { ComponentSnapshot, WorkloadSummary } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { activeHold, upgradeHoldValue, type UpgradeHold } from '../components/upgrade-hold.js';
import { upgradeBackupName } from '../velero/object-names.js';
import { backupComponent } from '../velero/velero-scope.js';
import { backupBudget } from './backup-budget.js';
import type { WorkloadPatcher } from '../kube/workload-patcher.js';
import { reportUpgradeHolds, upgradeHoldReleases } from '../observability/protection-metrics.js';
import { buildBackup } from '../velero/backup-object.js';
import type { BackupTtl } from '../velero/backup-ttl.js';
import { BACKUP_TRIGGER, VELERO_LABEL } from '../velero/velero-labels.js';
import { viewBackup, type BackupView } from '../velero/velero-views.js';
import { currentProtection } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { holdStep, releasedHold } from './upgrade-hold-plan.js';
import { WorkQueue } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
/** Who the Backup says made it (wutong.io/creator, the record's "operator"). */
const OPERATOR = 'wutong-backup';

export interface UpgradeHoldDeps extends ControllerDeps {
  workloads: WorkloadPatcher;
}

/**
 * The merge patch that lets the rollout go: the user's partition back (null
 * removes the field when they had none) or their paused, and the record
 * marked released for this hold, in one write.
 */
export function releasePatch(workload: WorkloadSummary, released: UpgradeHold): Record<string, unknown> {
  const metadata = { annotations: { [PROTECTION_ANNOTATION.upgradeHold]: upgradeHoldValue(released) } };
  const rollout = workload.rollout;
  if (rollout.kind === 'Deployment') return { metadata, spec: { paused: released.paused === true } };
  // OnDelete has no rollingUpdate (the API server refuses one): nothing of ours is there to undo.
  if (!rollout.rollingUpdate) return { metadata };
  return { metadata, spec: { updateStrategy: { rollingUpdate: { partition: released.partition ?? null } } } };
}

const describe = (w: WorkloadSummary): string => `${w.kind} ${w.namespace}/${w.name}`;

async function backupOf(deps: UpgradeHoldDeps, name: string): Promise<BackupView | undefined> {
  const cached = deps.cache.backup(name);
  if (cached) return cached;
  // The cache may lag a Backup this controller (or the last leader) just made: a live GET before a create.
  const live = await deps.store.get('backups', name);
  if (live === undefined) return undefined;
  deps.cache.remember('backups', live);
  return viewBackup(live);
}

async function createBackup(deps: UpgradeHoldDeps, component: ComponentSnapshot, hold: UpgradeHold, protection: { ttl: BackupTtl }, desc: string): Promise<boolean> {
  const object = buildBackup({
    name: hold.backup,
    veleroNamespace: deps.settings.veleroNamespace,
    storageLocation: deps.settings.storageLocation,
    serviceId: component.serviceId,
    componentNamespace: component.namespace,
    ttl: protection.ttl,
    desc,
    operator: OPERATOR,
  });
  object.metadata.labels = { ...object.metadata.labels, [VELERO_LABEL.trigger]: BACKUP_TRIGGER.upgrade };
  try {
    deps.cache.remember('backups', await deps.store.create(object));
    return true;
  } catch (err) {
    if (!(err instanceof AlreadyExists)) throw err;
    // Made meanwhile (a previous leader's create whose answer was lost): adopt it.
    const existing = await deps.store.get('backups', hold.backup);
    if (existing !== undefined) deps.cache.remember('backups', existing);
    return false;
  }
}

// The webhook stamps heldAt from its own clock; more than this ahead of the controller's is not a skew but an edit.
const CLOCK_SKEW_MS = 60_000;
const LONG_AGO = '1970-01-01T00:00:00Z';

/**
 * The hold as the controller acts on it: its own Backup name for the
 * component and time, never the record's. A heldAt in the future (beyond
 * clock skew) is no hold the webhook wrote: it is taken as long ago, so the
 * bound has passed and the rollout is released at once, with a Warning,
 * instead of being held for ever or backed up on every pass.
 */
export function ownHold(key: ComponentKey, recorded: UpgradeHold, now: Date): UpgradeHold {
  const heldAt = Date.parse(recorded.heldAt) > now.getTime() + CLOCK_SKEW_MS ? LONG_AGO : recorded.heldAt;
  return { ...recorded, heldAt, backup: upgradeBackupName(identityOf(key), new Date(heldAt)) };
}

async function reconcile(deps: UpgradeHoldDeps, log: Logger, key: ComponentKey, signal: AbortSignal): Promise<{ requeueAfterMs: number } | void> {
  if (!synced(deps)) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
  const component = deps.registry.get(key);
  const workload = component?.workload;
  const recorded = activeHold(workload);
  if (!component || !workload || !recorded) return;
  // The record is an annotation on the tenant's workload: it may say when the
  // hold began, never which Backup the controller makes or trusts. The name
  // is derived here from the component and the time, a time in the future is
  // taken as now (so the bound still ends the hold), and only a Backup scoped
  // to this component counts.
  const hold = ownHold(key, recorded, deps.now());
  const protection = currentProtection(deps, component);
  const what = describe(workload);
  const ours = (view: BackupView | undefined): BackupView | undefined => (view && backupComponent(view) === key ? view : undefined);
  let backup = ours(deps.cache.backup(hold.backup));
  let step = holdStep(hold, protection, backup, deps.now(), what);
  // Not in the cache: before creating it, or telling that it never was, look live (the cache may lag).
  if (backup === undefined && !(step.kind === 'release' && step.outcome === 'unprotected')) {
    backup = ours(await backupOf(deps, hold.backup));
    step = holdStep(hold, protection, backup, deps.now(), what);
  }
  const target = eventTarget(component);
  if (step.kind === 'backup' && protection) {
    const budget = backupBudget(deps.cache.backupsOf(key), deps.now());
    if (!budget.allowed) {
      // Waits like a running backup would: the hold limit still ends the hold.
      log.warn({ componentKey: key, workload: what, used: budget.used }, `upgrade backup not started: ${budget.used} controller backups of this component in the last hour`);
      return { requeueAfterMs: Math.min(step.recheckAfterMs, Math.max(1_000, budget.freeAtMs - deps.now().getTime())) };
    }
    signal.throwIfAborted();
    const created = await createBackup(deps, component, hold, protection, step.desc);
    if (created) {
      const message = `held the rollout of ${what} (${hold.reason}) for Backup ${hold.backup}; released once it has completed, at the latest ${Math.round(protection.upgradeHoldLimitMs / 1000)}s after ${hold.heldAt}`;
      log.info({ componentKey: key, workload: what, backup: hold.backup, reason: EVENT_REASON.upgradeHeld }, message);
      if (target) await deps.events.record(target, 'Normal', EVENT_REASON.upgradeHeld, message);
    }
    return { requeueAfterMs: step.recheckAfterMs };
  }
  if (step.kind === 'wait' || step.kind === 'backup') return { requeueAfterMs: step.recheckAfterMs };
  signal.throwIfAborted();
  // The webhook lets a release through only when it names the record's own hold (sameHold): write it back under those fields.
  const released = releasedHold({ ...hold, heldAt: recorded.heldAt, backup: recorded.backup }, step.outcome, deps.now());
  // Guarded by the resourceVersion the decision was made on: a workload that changed meanwhile (a 409) is decided again.
  const outcome = await deps.workloads.patch(workload.kind, workload.namespace, workload.name, releasePatch(workload, released), workload.resourceVersion);
  if (outcome === 'gone') return;
  upgradeHoldReleases.inc({ outcome: step.outcome });
  const fields = { componentKey: key, workload: what, backup: hold.backup, outcome: step.outcome, reason: step.reason };
  if (step.type === 'Warning') log.warn(fields, step.message);
  else log.info(fields, step.message);
  if (target) await deps.events.record(target, step.type, step.reason, step.message);
}

/** The upgrade-hold loop; `resyncMs` is CONTROLLER_RESYNC. */
export function upgradeHoldLoop(deps: UpgradeHoldDeps, resyncMs: number): ControllerLoop {
  const log = deps.log.child({ loop: 'upgrade-holds' });
  const held = (): string[] => deps.registry.all().filter((c) => activeHold(c.workload) !== undefined).map((c) => c.key);
  reportUpgradeHolds(() => held().length);
  const queue = new WorkQueue((key, signal) => reconcile(deps, log, key as ComponentKey, signal), { name: 'upgrade-holds' }, log);
  return {
    queue,
    keys: held,
    resyncMs,
    watch() {
      const unsubscribe = [
        deps.registry.subscribe((key) => {
          if (activeHold(deps.registry.get(key)?.workload)) queue.add(key);
        }),
        deps.cache.subscribe((change) => {
          if (change.resource !== 'backups' || change.component === undefined) return;
          const hold = activeHold(deps.registry.get(change.component)?.workload);
          // The controller's own name for the hold's Backup, not the record's.
          if (hold && ownHold(change.component, hold, deps.now()).backup === change.name) queue.add(change.component);
        }),
        // A rule that drops backupBeforeUpgrade releases what it held.
        deps.policy.subscribe(() => {
          for (const key of held()) queue.add(key);
        }),
      ];
      return () => {
        for (const off of unsubscribe) off();
      };
    },
  };
}
