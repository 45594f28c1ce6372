// Keeps the data guard (data-guard.ts) on every PVC of every protected
// component, and acts on deleting ones: releases a covered or unbound claim
// at once, waits (never past the bound) while a backup that could still
// cover it runs, and otherwise keeps its PV (Retain, marked, recorded) and
// then releases it. Each step is idempotent and ordered so that a crash at
// any point is finished by the next pass: the PV patch first, then the
// record, then the finalizer; nothing is held in memory. Keyed by service_id.
import { stopBackupName } from '../velero/object-names.js';
import type { PodVolumeBackupView } from '../velero/velero-views.js';
import type { ComponentKey } from '../components/component-key.js';
import type { Logger } from 'pino';
import type { ClaimSummary, ComponentSnapshot } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { coveringBackup, lastRun, type RunMark } from '../components/run-mark.js';
import { formatDuration } from '../duration.js';
import type { ClaimPatcher } from '../kube/claim-patcher.js';
import type { ObjectReference } from '../kube/object-reference.js';
import type { RetainedRecordStore } from '../kube/retained-records.js';
import type { VolumeStore } from '../kube/volume-store.js';
import { deletionReleases } from '../observability/protection-metrics.js';
import { currentProtection } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { claimProtection, decideClaim, finalizersWith, pendingOrArriving, type ClaimDecision, type GuardContext, type ReleaseOutcome } from './data-guard.js';
import { EVENT_REASON } from './event-reasons.js';
import { recordName, retainedRecordObject, retainPlan, volumeFacts } from './retained-volume.js';
import { WorkQueue } from './work-queue.js';

export interface DataGuardDeps extends ControllerDeps {
  claims: ClaimPatcher;
  volumes: VolumeStore;
  records: RetainedRecordStore;
  /** Where records are written: the project's own namespace. */
  recordNamespace: string;
  resyncMs: number;
}

const SYNC_POLL_MS = 1_000;
// A wait is looked at again just after its bound, not a moment before it.
const BOUND_MARGIN_MS = 100;
const CONCURRENCY = 4;

const claimRef = (claim: ClaimSummary): ObjectReference => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claim.name, namespace: claim.namespace, uid: claim.uid });

function retainReason(run: RunMark | undefined, waitedFor: string | undefined, limitMs: number): string {
  if (waitedFor) return `backup ${waitedFor} had not completed ${formatDuration(limitMs)} after the deletion was requested`;
  if (run === undefined) return 'no run of the component was ever recorded, so no backup is known to hold its data';
  if (run.kind === 'running') return 'the component was still running when its claim was deleted';
  return `no Completed backup started after the component stopped at ${run.at}`;
}

export function dataGuardLoop(deps: DataGuardDeps): ControllerLoop {
  const log: Logger = deps.log.child({ loop: 'data-guard' });

  const patchFinalizers = async (claim: ClaimSummary, guard: boolean, rule?: string | null): Promise<'patched' | 'gone'> =>
    await deps.claims.patch(
      claim.namespace,
      claim.name,
      { finalizers: finalizersWith(claim, guard), ...(rule !== undefined ? { annotations: { [PROTECTION_ANNOTATION.guardRule]: rule } } : {}) },
      claim.resourceVersion,
    );

  const release = async (claim: ClaimSummary, outcome: ReleaseOutcome, message: string): Promise<void> => {
    if ((await patchFinalizers(claim, false)) === 'gone') return;
    deletionReleases.inc({ outcome });
    log.info({ claim: `${claim.namespace}/${claim.name}`, outcome }, message);
    await deps.events.record(claimRef(claim), 'Normal', outcome === 'unprotected' ? EVENT_REASON.dataGuardRemoved : EVENT_REASON.deletionReleased, message);
  };

  const retain = async (component: ComponentSnapshot, claim: ClaimSummary, decision: Extract<ClaimDecision, { kind: 'retain' }>, run: RunMark | undefined, limitMs: number, signal: AbortSignal): Promise<void> => {
    const pv = volumeFacts(await deps.volumes.get(decision.volumeName));
    const plan = retainPlan(claim, pv, component.serviceId, deps.now());
    if (plan.kind !== 'retain' || pv === undefined) {
      const why = plan.kind === 'mismatch' ? `PersistentVolume ${decision.volumeName} is bound to ${plan.boundTo}, not to this claim` : `PersistentVolume ${decision.volumeName} no longer exists`;
      log.warn({ claim: `${claim.namespace}/${claim.name}`, volume: decision.volumeName }, `nothing to keep: ${why}`);
      await release(claim, 'unbound', `deletion goes ahead: ${why}, so no data of this claim is left to keep`);
      return;
    }
    const reason = retainReason(run, decision.waitedFor, limitMs);
    if (plan.patch) {
      signal.throwIfAborted();
      if (decision.waitedFor) {
        await deps.events.record(claimRef(claim), 'Warning', EVENT_REASON.deletionHoldExpired, `deletion waited ${formatDuration(limitMs)} (deletionHoldLimit) for backup ${decision.waitedFor}, which has not completed: keeping the volume instead`);
      }
      // Retain first: once the finalizer goes, the PV binder applies whatever reclaim policy the PV has then.
      if ((await deps.volumes.patch(pv.name, plan.patch)) === 'gone') throw new Error(`PersistentVolume ${pv.name} vanished while it was being kept; deciding again`);
      log.info({ claim: `${claim.namespace}/${claim.name}`, volume: pv.name, previousReclaimPolicy: plan.mark.previousReclaimPolicy }, 'volume set to Retain');
    }
    const name = recordName(pv.name);
    signal.throwIfAborted();
    // The record is the once-only step: the pass that creates it tells it (a crash just after loses that Event, never the record).
    if ((await deps.records.create(retainedRecordObject(deps.recordNamespace, component, claim, pv, plan.mark, reason))) === 'created') {
      const message =
        `kept PersistentVolume ${pv.name} (reclaim policy Retain, was ${plan.mark.previousReclaimPolicy || 'unset'}): ${reason}. ` +
        `Record: ConfigMap ${deps.recordNamespace}/${name} (wutong-backup status lists it; README "Deletion safety" says how to restore from or release it)`;
      log.warn({ claim: `${claim.namespace}/${claim.name}`, volume: pv.name, record: name }, `volume retained: ${reason}`);
      await deps.events.record(claimRef(claim), 'Warning', EVENT_REASON.volumeRetained, message);
    }
    signal.throwIfAborted();
    await release(claim, 'retained', `deletion goes ahead: PersistentVolume ${pv.name} is kept (Retain), record ConfigMap ${deps.recordNamespace}/${name}`);
  };

  const reconcile = async (key: ComponentKey, signal: AbortSignal): Promise<{ requeueAfterMs: number } | undefined> => {
    const component = deps.registry.get(key);
    if (!component) return undefined;
    const current = currentProtection(deps, component);
    const run = lastRun(component.claims);
    const backups = deps.cache.backupsOf(key);
    // The controller's own backup on stop for this stop counts whatever second Velero stamped it with (run-mark.ts startedAfterStop).
    const forThisStop = run?.kind === 'stopped' ? stopBackupName(component, new Date(run.at)) : undefined;
    const volumesOf = (name: string): readonly PodVolumeBackupView[] => deps.cache.podVolumeBackupsOf(name);
    // Per claim: a backup covers a PVC only if it copied that PVC (Velero skips some volumes and still says Completed).
    const contextOf = (claim: ClaimSummary): GuardContext => ({
      now: deps.now(),
      covering: coveringBackup(run, backups, volumesOf, [claim.uid], forThisStop),
      pending: pendingOrArriving(run, backups, volumesOf, claim.uid, deps.now(), forThisStop),
    });
    let wakeAt: number | undefined;
    for (const claim of component.claims) {
      const protection = claimProtection(deps.policy.current(), component, current, claim);
      const decision = decideClaim(claim, protection, contextOf(claim));
      if (!decision) continue;
      signal.throwIfAborted();
      const at = `${claim.namespace}/${claim.name}`;
      switch (decision.kind) {
        case 'guard': {
          if ((await patchFinalizers(claim, true, decision.rule)) === 'gone' || !decision.added) break;
          const limit = formatDuration(protection?.deletionHoldLimitMs ?? 0);
          log.info({ claim: at, rule: decision.rule }, 'data guard added');
          await deps.events.record(claimRef(claim), 'Normal', EVENT_REASON.dataGuarded,
            `protected by rule ${decision.rule}: deleting this claim first checks that a completed backup covers the component's last run, else keeps its volume (Retain); it waits at most ${limit} while a backup runs`);
          break;
        }
        case 'unguard':
          if (decision.deleting) {
            await release(claim, 'unprotected', 'no policy rule protects the component any more: data guard removed, deletion goes ahead');
          } else if ((await deps.claims.patch(claim.namespace, claim.name, { finalizers: finalizersWith(claim, false), annotations: { [PROTECTION_ANNOTATION.guardRule]: null } }, claim.resourceVersion)) === 'patched') {
            log.info({ claim: at }, 'data guard removed: the component is no longer protected');
            await deps.events.record(claimRef(claim), 'Normal', EVENT_REASON.dataGuardRemoved, 'no policy rule protects the component any more: data guard removed');
          }
          break;
        case 'release':
          await release(claim, decision.outcome, decision.outcome === 'covered'
            ? `deletion goes ahead: backup ${decision.backup} covers the component's last run${run?.kind === 'stopped' ? ` (stopped at ${run.at})` : ''}`
            : `deletion goes ahead: ${decision.why}`);
          break;
        case 'wait':
          log.debug({ claim: at, backup: decision.backup, until: new Date(decision.untilMs).toISOString() }, 'deletion waits for a backup that may still cover it');
          wakeAt = Math.min(wakeAt ?? Infinity, decision.untilMs);
          break;
        case 'retain':
          await retain(component, claim, decision, run, protection?.deletionHoldLimitMs ?? 0, signal);
          break;
      }
    }
    return wakeAt === undefined ? undefined : { requeueAfterMs: Math.max(0, wakeAt - deps.now().getTime()) + BOUND_MARGIN_MS };
  };

  const queue = new WorkQueue(
    async (key, signal) => {
      // A half-listed registry or cache would look like a component with no backups: nothing is decided until both have listed.
      if (!synced(deps)) return { requeueAfterMs: SYNC_POLL_MS };
      return await reconcile(key as ComponentKey, signal);
    },
    { name: 'data-guard', concurrency: CONCURRENCY },
    log,
  );
  return {
    queue,
    keys: () => deps.registry.keys(),
    resyncMs: deps.resyncMs,
    watch() {
      const unsubscribe = [
        deps.registry.subscribe((key) => queue.add(key)),
        deps.cache.subscribe((change) => {
          // A backup completing (or failing) decides a waiting deletion; Schedules carry a stopped component's protection.
          if ((change.resource === 'backups' || change.resource === 'podvolumebackups' || change.resource === 'schedules') && change.component !== undefined) queue.add(change.component);
        }),
        deps.policy.subscribe(() => {
          for (const key of deps.registry.keys()) queue.add(key);
        }),
      ];
      return () => {
        for (const off of unsubscribe) off();
      };
    },
  };
}
