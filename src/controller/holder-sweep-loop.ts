// Holder sweep: every holder pod in the cluster (key = namespace/name, from
// the holder watch) is removed once it has done its job (holder-sweep.ts
// decides; a holder whose PVCs Wutong deletes while its backup runs stays
// as long as the data guard waits for that backup). Triggers: the holder itself changing, its component's Backups
// and Restores moving on, its component changing (running again, PVCs
// deleted); a holder that is kept is looked at again when the decision's own
// deadline comes (the Backup's grace, the hard maximum). Level-based: a
// holder left by a crash anywhere is found by the watch's list and the
// leader's full pass, and removed like any other.
import { componentKey, type ComponentKey } from '../components/component-key.js';
import { veleroLabelValue } from '../velero/velero-labels.js';
import type { RestoreView } from '../velero/velero-views.js';
import type { HolderIndex } from '../holder/holder-index.js';
import type { HolderPods } from '../holder/holder-ports.js';
import { sweepDecision, type SweepDecision } from '../holder/holder-sweep.js';
import type { HolderPodView } from '../holder/holder-view.js';
import { holderPodsRemoved, reportHolderPods } from '../observability/protection-metrics.js';
import { currentProtection } from './component-protection.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import { claimProtection, hasGuard } from './data-guard.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { WorkQueue, type ReconcileResult } from './work-queue.js';

const NOT_SYNCED_RETRY_MS = 1_000;
// After the holder's start timeout, the Backup create that follows it: one bounded API call, and a margin.
const BACKUP_CREATE_MARGIN_MS = 30_000;

export interface HolderSweepSettings {
  holderStartTimeoutMs: number;
  holderMaxAgeMs: number;
  resyncMs: number;
}

export function holderSweepLoop(deps: ControllerDeps, index: HolderIndex, holders: HolderPods, settings: HolderSweepSettings): ControllerLoop {
  const log = deps.log.child({ loop: 'holder-sweep' });
  reportHolderPods(() => index.size);
  const decide = (holder: HolderPodView): SweepDecision => {
    // Its component is (its own namespace, its label): a holder never stands for another namespace's component.
    const key = componentKey(holder.namespace, holder.serviceId);
    const component = deps.registry.get(key);
    return sweepDecision({
      holder,
      backup: holder.backupName ? deps.cache.backup(holder.backupName) : undefined,
      restore: holder.restoreName === undefined ? undefined : restoreOf(deps, key, holder.restoreName),
      component,
      now: deps.now(),
      backupGraceMs: settings.holderStartTimeoutMs + BACKUP_CREATE_MARGIN_MS,
      maxAgeMs: settings.holderMaxAgeMs,
      // The data guard's own deadline for a deleting PVC (data-guard.ts decides by the same protection).
      guardDeadline: (claim) => {
        if (component === undefined || claim.deletionTimestamp === undefined || !hasGuard(claim)) return undefined;
        const protection = claimProtection(deps.policy.current(), component, currentProtection(deps, component), claim);
        return protection === undefined ? undefined : Date.parse(claim.deletionTimestamp) + protection.deletionHoldLimitMs;
      },
    });
  };

  const reconcile = async (key: string, signal: AbortSignal): Promise<ReconcileResult> => {
    if (!synced(deps) || !index.synced()) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
    const cached = index.get(key);
    if (!cached) return;
    const first = decide(cached);
    if (!first.remove) return first.recheckAfterMs === undefined ? undefined : { requeueAfterMs: first.recheckAfterMs };
    // Re-read what is about to be undone: the watch may lag a holder just made again under the same name.
    const live = await holders.get(cached.namespace, cached.name);
    if (!live) return;
    const decision = decide(live);
    if (!decision.remove) return decision.recheckAfterMs === undefined ? undefined : { requeueAfterMs: decision.recheckAfterMs };
    signal.throwIfAborted();
    const removed = await holders.remove(live.namespace, live.name, live.uid);
    if (!removed) return;
    holderPodsRemoved.inc({ reason: decision.reason });
    log.info({ holder: key, serviceId: live.serviceId, reason: decision.reason }, 'holder pod removed');
    const component = deps.registry.get(componentKey(live.namespace, live.serviceId));
    const target = eventTarget(component);
    if (target) await deps.events.record(target, decision.reason === 'expired' || decision.reason === 'orphaned' ? 'Warning' : 'Normal', EVENT_REASON.holderRemoved, decision.message);
  };

  const queue = new WorkQueue(reconcile, { name: 'holder-sweep' }, log);
  const addComponent = (component: ComponentKey): void => {
    for (const key of index.keysOf(component)) queue.add(key);
  };
  return {
    queue,
    resyncMs: settings.resyncMs,
    keys: () => index.keys(),
    watch() {
      const unsubscribe = [
        index.subscribe((key) => queue.add(key)),
        deps.registry.subscribe(addComponent),
        deps.cache.subscribe((change) => {
          if ((change.resource === 'backups' || change.resource === 'restores') && change.component !== undefined) addComponent(change.component);
        }),
      ];
      return () => unsubscribe.forEach((u) => u());
    },
  };
}

/** The Restore a velero.io/restore-name label names: the label holds the name, or for a name over 63 characters Velero's shortened form. */
function restoreOf(deps: ControllerDeps, component: ComponentKey, label: string): RestoreView | undefined {
  return deps.cache.restore(label) ?? deps.cache.restoresOf(component).find((r) => veleroLabelValue(r.metadata.name) === label);
}
