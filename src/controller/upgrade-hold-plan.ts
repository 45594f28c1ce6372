// What to do next about one held rollout (pure): take its Backup, wait for
// it, or let the rollout go, and why. The bound (the rule's
// upgradeHoldLimit, counted from the hold's heldAt) is never exceeded: past
// it the rollout is released whatever the Backup is doing.
import { formatDuration } from '../duration.js';
import type { HoldOutcome, UpgradeHold } from '../components/upgrade-hold.js';
import type { BackupView } from '../velero/velero-views.js';
import type { ComponentProtection } from './component-protection.js';
import { EVENT_REASON, type EventReason } from './event-reasons.js';

export type HoldStep =
  /** No Backup yet and time left: create it, then look again by the bound. */
  | { kind: 'backup'; desc: string; recheckAfterMs: number }
  /** The Backup is on its way: look again by the bound (its changes requeue sooner). */
  | { kind: 'wait'; recheckAfterMs: number }
  | { kind: 'release'; outcome: HoldOutcome; type: 'Normal' | 'Warning'; reason: EventReason; message: string };

/** Velero's phases after which the Backup will never complete (Deleting: someone is deleting it). */
const NEVER_COMPLETES: ReadonlySet<string> = new Set(['Failed', 'PartiallyFailed', 'FailedValidation', 'Deleting']);

const seconds = (ms: number): string => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);

/**
 * `workload` names it in messages ("StatefulSet shop/orders"); `backup` is
 * the hold's Backup as last seen (cache or live), undefined when there is none.
 */
export function holdStep(hold: UpgradeHold, protection: ComponentProtection | undefined, backup: BackupView | undefined, now: Date, workload: string): HoldStep {
  const heldFor = now.getTime() - Date.parse(hold.heldAt);
  if (protection === undefined || !protection.backupBeforeUpgrade) {
    return {
      kind: 'release',
      outcome: 'unprotected',
      type: 'Normal',
      reason: EVENT_REASON.upgradeReleased,
      message: `released the rollout of ${workload} without a backup: the component is no longer protected with backupBeforeUpgrade`,
    };
  }
  const phase = backup?.status.phase ?? '';
  if (backup !== undefined && phase === 'Completed') {
    return {
      kind: 'release',
      outcome: 'completed',
      type: 'Normal',
      reason: EVENT_REASON.upgradeReleased,
      message: `released the rollout of ${workload} (${hold.reason}): Backup ${hold.backup} completed, ${seconds(heldFor)} after the hold`,
    };
  }
  if (backup !== undefined && (NEVER_COMPLETES.has(phase) || backup.metadata.deletionTimestamp !== undefined)) {
    const why = backup.status.failureReason ? `: ${backup.status.failureReason}` : '';
    return {
      kind: 'release',
      outcome: 'failed',
      type: 'Warning',
      reason: EVENT_REASON.upgradeBackupFailed,
      message: `released the rollout of ${workload} (${hold.reason}) WITHOUT a backup: Backup ${hold.backup} ended ${phase || 'deleted'}${why} (velero backup describe ${hold.backup} --details)`,
    };
  }
  const left = protection.upgradeHoldLimitMs - heldFor;
  if (left <= 0) {
    return {
      kind: 'release',
      outcome: 'expired',
      type: 'Warning',
      reason: EVENT_REASON.upgradeHoldExpired,
      message: backup
        ? `released the rollout of ${workload} (${hold.reason}) WITHOUT a backup: Backup ${hold.backup} is still ${phase || 'New'} after the hold limit of ${seconds(protection.upgradeHoldLimitMs)}; it goes on running`
        : `released the rollout of ${workload} (${hold.reason}) WITHOUT a backup: no Backup was made within the hold limit of ${seconds(protection.upgradeHoldLimitMs)} (was the controller down?)`,
    };
  }
  if (backup === undefined) return { kind: 'backup', desc: `before upgrade: ${hold.reason}`, recheckAfterMs: left };
  return { kind: 'wait', recheckAfterMs: left };
}

/** The record once released: the same hold (heldAt, Backup), so the webhook knows this release is for it. */
export function releasedHold(hold: UpgradeHold, outcome: HoldOutcome, now: Date): UpgradeHold {
  return { ...hold, state: 'released', outcome, releasedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}
