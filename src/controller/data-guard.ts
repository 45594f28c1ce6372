// What the data guard does with each PVC of a component (pure). A protected
// component's live PVCs carry DATA_GUARD_FINALIZER, so Wutong's delete
// (DeleteCollection of its PVCs and PVs by label) cannot remove a PVC, and
// with it the PV's data under a Delete reclaim policy, before the controller
// has looked. A deleting PVC is released at once when a Completed backup
// copied it (a Completed PodVolumeBackup of this claim) after the component's
// last run; kept waiting (never past the bound) while
// a backup that could still cover it runs; otherwise its PV is kept (Retain,
// recorded) and then released. Decided from the registry and the Velero
// cache; the PV itself is read live before it is changed (retained-volume.ts).
import type { ClaimSummary, ComponentSnapshot } from '../components/component-registry.js';
import { DATA_GUARD_FINALIZER, PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { startedAfterStop, type RunMark } from '../components/run-mark.js';
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { copiedClaim, isUnfinishedBackup } from '../velero/backup-phases.js';
import type { BackupView, PodVolumeBackupView } from '../velero/velero-views.js';
import { componentProtection, type ComponentProtection } from './component-protection.js';

/** What a deletion is judged by: the rule's name (kept on the PVC) and its bound. */
export type GuardProtection = Pick<ComponentProtection, 'rule' | 'deletionHoldLimitMs'>;

export interface GuardContext {
  now: Date;
  /** coveringBackup(lastRun(claims), backups, …, [this claim]): a Completed backup holding everything the last run wrote to this claim. */
  covering: BackupView | undefined;
  /** An unfinished backup that would be covering once Completed (pendingCover). */
  pending: BackupView | undefined;
}

/** Values of the wutong_backup_deletion_releases_total outcome label. */
export type ReleaseOutcome = 'covered' | 'retained' | 'unprotected' | 'unbound';

export type ClaimDecision =
  /** Add the finalizer (and/or bring the rule annotation up to date); `added`: the finalizer was missing. */
  | { kind: 'guard'; rule: string; added: boolean }
  /** Protection is gone: remove the finalizer (a deleting PVC is then deleted as if never guarded). */
  | { kind: 'unguard'; deleting: boolean }
  /** Remove the finalizer of a deleting PVC: a backup covers it, or it never held data. */
  | { kind: 'release'; outcome: 'covered'; backup: string }
  | { kind: 'release'; outcome: 'unbound'; why: string }
  /** Look again by `untilMs` (epoch ms): `backup` may still cover the run. */
  | { kind: 'wait'; backup: string; untilMs: number }
  /** Keep the PV's data (Retain, record), then remove the finalizer; `waitedFor`: the unfinished backup the bound ran out on. */
  | { kind: 'retain'; volumeName: string; boundMs: number; waitedFor?: string };

export const hasGuard = (claim: Pick<ClaimSummary, 'finalizers'>): boolean => claim.finalizers.includes(DATA_GUARD_FINALIZER);

/** When a deleting PVC's wait ends: its deletionTimestamp plus the rule's deletionHoldLimit. */
export function deletionBound(claim: Pick<ClaimSummary, 'deletionTimestamp'>, protection: GuardProtection): number {
  return Date.parse(claim.deletionTimestamp ?? '') + protection.deletionHoldLimitMs;
}

/**
 * An unfinished Backup of the component that would cover `run` once it
 * Completes: the run has ended (a stop mark) and the Backup started at or
 * after the stop, or has not started yet (it will start after now). The
 * newest such Backup, or undefined.
 */
export function pendingCover(run: RunMark | undefined, backups: readonly BackupView[], forThisStop?: string): BackupView | undefined {
  if (run?.kind !== 'stopped') return undefined;
  return backups
    .filter((b) => isUnfinishedBackup(b) && (b.status.startTimestamp === undefined || startedAfterStop(b, run.at, forThisStop)))
    .sort((a, b) => (b.metadata.creationTimestamp < a.metadata.creationTimestamp ? -1 : 1))[0];
}

/**
 * How long a Completed Backup without PodVolumeBackups in the cache still
 * counts as pending. Velero writes a backup's PodVolumeBackups before it
 * marks the Backup Completed, but they reach this process through another
 * watch, which can deliver them a moment later: without this grace a
 * deletion judged in that moment keeps the PV of data that was in fact
 * copied. Long enough for a watch's lag, short against any deletion bound.
 */
export const VOLUME_RECORDS_GRACE_MS = 10_000;

/**
 * pendingCover, or else a Backup that Completed after the stop less than
 * VOLUME_RECORDS_GRACE_MS ago and whose volume record for this claim has not
 * arrived yet: it may be covering in a moment. (A backup that skipped the
 * claim never brings one: the grace then only delays keeping its volume.)
 */
export function pendingOrArriving(
  run: RunMark | undefined,
  backups: readonly BackupView[],
  volumesOf: (backupName: string) => readonly PodVolumeBackupView[],
  claimUid: string,
  now: Date,
  forThisStop?: string,
): BackupView | undefined {
  const pending = pendingCover(run, backups, forThisStop);
  if (pending !== undefined || run?.kind !== 'stopped') return pending;
  return backups.find(
    (b) =>
      b.status.phase === 'Completed' &&
      startedAfterStop(b, run.at, forThisStop) &&
      now.getTime() - Date.parse(b.status.completionTimestamp ?? '') < VOLUME_RECORDS_GRACE_MS &&
      !copiedClaim(volumesOf(b.metadata.name), claimUid),
  );
}

/**
 * The protection a PVC is judged by. The component's protection now, when
 * it has one. Without it, a component with no workload (stopped, or being
 * deleted) is still protected by the rule that guarded this PVC (annotation
 * guard-rule) while that rule exists, has protection and selects the
 * component's namespace and labels: Wutong's delete makes the schedule loop
 * delete the component's Schedule, and with it the rule a stopped component
 * was protected by, in the very moments a deletion has to be judged.
 */
export function claimProtection(
  policy: CompiledPolicy,
  component: ComponentSnapshot,
  current: ComponentProtection | undefined,
  claim: ClaimSummary,
): ComponentProtection | undefined {
  if (current !== undefined || component.workload !== undefined) return current;
  const rule = claim.annotations[PROTECTION_ANNOTATION.guardRule];
  if (rule === undefined) return undefined;
  return componentProtection(policy, { namespace: component.namespace, labels: component.labels }, rule);
}

/** What to do with one PVC now; undefined: nothing. */
export function decideClaim(claim: ClaimSummary, protection: GuardProtection | undefined, ctx: GuardContext): ClaimDecision | undefined {
  const guarded = hasGuard(claim);
  const deleting = claim.deletionTimestamp !== undefined;
  if (protection === undefined) return guarded ? { kind: 'unguard', deleting } : undefined;
  if (!deleting) {
    // The API server refuses new finalizers on an object being deleted, and it would be too late anyway.
    if (!guarded || claim.annotations[PROTECTION_ANNOTATION.guardRule] !== protection.rule) return { kind: 'guard', rule: protection.rule, added: !guarded };
    return undefined;
  }
  if (!guarded) return undefined;
  // Pending (never bound) or bound to nothing: no volume holds this claim's data.
  if (claim.phase !== 'Bound' || claim.volumeName === undefined) return { kind: 'release', outcome: 'unbound', why: `the claim is ${claim.phase || 'Pending'}, bound to no volume` };
  if (ctx.covering) return { kind: 'release', outcome: 'covered', backup: ctx.covering.metadata.name };
  const boundMs = deletionBound(claim, protection);
  if (ctx.pending && ctx.now.getTime() < boundMs) return { kind: 'wait', backup: ctx.pending.metadata.name, untilMs: boundMs };
  return { kind: 'retain', volumeName: claim.volumeName, boundMs, ...(ctx.pending ? { waitedFor: ctx.pending.metadata.name } : {}) };
}

/** The PVC's finalizers with ours added or removed (a merge patch replaces the whole list). */
export function finalizersWith(claim: Pick<ClaimSummary, 'finalizers'>, guard: boolean): string[] {
  const others = claim.finalizers.filter((f) => f !== DATA_GUARD_FINALIZER);
  return guard ? [...others, DATA_GUARD_FINALIZER] : others;
}
