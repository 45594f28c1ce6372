// When a holder pod has done its job (pure). A holder lives for one backup
// (the Backup its annotation names) or one restore (Velero brought it back
// from a backup and labelled it velero.io/restore-name), and never longer
// than a hard maximum; it also goes the moment the component runs again (it
// must not keep a ReadWriteOnce volume from the component's own pod) or its
// PVCs are being deleted (the pvc-protection finalizer would otherwise keep
// them for as long as it runs; except while the data guard waits for its
// backup). Whatever crashed in between (the process
// that made it, before it made its Backup), one of these ends it.
import type { ComponentSnapshot } from '../components/component-registry.js';
import type { BackupView, RestoreView } from '../velero/velero-views.js';
import type { HolderPodView } from './holder-view.js';

/** Why a holder was removed: the `reason` of wutong_backup_holder_pods_removed_total. */
export type HolderRemovalReason = 'backup-finished' | 'restore-finished' | 'orphaned' | 'component-started' | 'expired';

export type SweepDecision = { remove: false; recheckAfterMs?: number } | { remove: true; reason: HolderRemovalReason; message: string };

export interface SweepInput {
  holder: HolderPodView;
  /** The Backup its annotation names, from the cache (undefined: absent). */
  backup: BackupView | undefined;
  /** The Restore its velero.io/restore-name label names, from the cache (undefined: absent or not a restored holder). */
  restore: RestoreView | undefined;
  /** The component from the registry (its holder is not part of it: no creator label). */
  component: ComponentSnapshot | undefined;
  now: Date;
  /** How long a holder may wait for its Backup to appear: the start timeout plus a margin for the create after it. */
  backupGraceMs: number;
  /** No holder lives longer than this, whatever its Backup or Restore says. */
  maxAgeMs: number;
  /**
   * For a PVC being deleted: until when the data guard holds its deletion for
   * a backup that may still cover it (deletionTimestamp + deletionHoldLimit),
   * or undefined when it does not (unguarded, unprotected).
   */
  guardDeadline?: (claim: ComponentSnapshot['claims'][number]) => number | undefined;
}

const FINISHED_BACKUP: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Deleting']);
const FINISHED_RESTORE: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);

const isFinishedBackup = (backup: BackupView): boolean => FINISHED_BACKUP.has(backup.status.phase ?? '') || backup.metadata.deletionTimestamp !== undefined;

const keep = (recheckAfterMs?: number): SweepDecision => (recheckAfterMs === undefined ? { remove: false } : { remove: false, recheckAfterMs: Math.max(1_000, recheckAfterMs) });

const backupFinished = (name: string, backup: BackupView): SweepDecision => ({
  remove: true,
  reason: 'backup-finished',
  message: `holder pod ${name} removed: Backup ${backup.metadata.name} is ${backup.status.phase || 'being deleted'}`,
});

export function sweepDecision(input: SweepInput): SweepDecision {
  const { holder, backup, restore, component, now } = input;
  // Already on its way out: the kubelet finishes it within its grace period.
  if (holder.deletionTimestamp !== undefined) return keep();
  const created = Date.parse(holder.creationTimestamp);
  const age = Number.isFinite(created) ? now.getTime() - created : 0;
  const name = `${holder.namespace}/${holder.name}`;

  if (component?.workload !== undefined || (component?.runningPods.length ?? 0) > 0) {
    const what = component?.workload ? `${component.workload.kind} ${component.workload.name}` : `pod ${component?.runningPods[0] ?? ''}`;
    return { remove: true, reason: 'component-started', message: `holder pod ${name} removed: the component runs again (${what}) and needs its volumes` };
  }
  const mounted = new Map((component?.claims ?? []).map((c) => [c.name, c]));
  const deleting = holder.claims.find((c) => mounted.get(c)?.deletionTimestamp !== undefined);
  // A PVC the registry has not seen may just be a moment behind the pod (Velero restores the PVCs, then the pod): gone counts after the grace.
  const gone = age >= input.backupGraceMs ? holder.claims.find((c) => !mounted.has(c)) : undefined;
  // Wutong deleted the component while its backup on stop runs: the data
  // guard waits for that backup (it may cover the data), so the holder stays
  // to let it finish, until the guard's own deadline. Past it, or for any
  // other holder, the PVCs go and so does the holder.
  const deletingClaim = deleting === undefined ? undefined : mounted.get(deleting);
  const deadline = deletingClaim === undefined ? undefined : input.guardDeadline?.(deletingClaim);
  const serving = holder.restoreName === undefined && backup !== undefined && !isFinishedBackup(backup);
  if (deadline !== undefined && serving && now.getTime() < deadline) return keep(deadline - now.getTime());
  const done = holder.restoreName === undefined && backup !== undefined && isFinishedBackup(backup);
  if (done && (deleting !== undefined || gone !== undefined)) return backupFinished(name, backup);
  if (deleting !== undefined || gone !== undefined) {
    const claim = deleting ?? gone ?? '';
    return { remove: true, reason: 'orphaned', message: `holder pod ${name} removed: its PVC ${claim} is ${deleting !== undefined ? 'being deleted' : 'gone'}` };
  }
  if (age >= input.maxAgeMs) {
    return { remove: true, reason: 'expired', message: `holder pod ${name} removed: it is older than the ${Math.round(input.maxAgeMs / 60_000)} min maximum` };
  }
  const untilMax = input.maxAgeMs - age;

  if (holder.clearsRestoreMarkers !== undefined) {
    // The restore loop deletes a marker holder as soon as its init container has run: this ends one a crash left behind.
    if (age < input.backupGraceMs) return keep(input.backupGraceMs - age);
    return { remove: true, reason: 'orphaned', message: `holder pod ${name} removed: it cleared Restore ${holder.clearsRestoreMarkers}'s markers long ago` };
  }

  if (holder.restoreName !== undefined) {
    if (restore === undefined) {
      // Velero creates the Restore before the pod it restores: an absent one was deleted.
      return { remove: true, reason: 'orphaned', message: `holder pod ${name} removed: Restore ${holder.restoreName} that brought it back is gone` };
    }
    if (FINISHED_RESTORE.has(restore.status.phase ?? '')) {
      return { remove: true, reason: 'restore-finished', message: `holder pod ${name} removed: Restore ${restore.metadata.name} is ${restore.status.phase ?? ''}` };
    }
    return keep(untilMax);
  }

  if (backup === undefined) {
    // The Backup is created once the holder runs, at most the start timeout after it: a crash in between leaves none.
    if (age >= input.backupGraceMs) {
      return { remove: true, reason: 'orphaned', message: `holder pod ${name} removed: its Backup ${holder.backupName || '(none named)'} does not exist` };
    }
    return keep(input.backupGraceMs - age);
  }
  if (isFinishedBackup(backup)) return backupFinished(name, backup);
  return keep(untilMax);
}
