// Which of a component's backups retention deletes: pure, so the loop can
// compute it from the cache (cheap, to decide whether to look closer) and
// again from a live read (to act), and tests can table it.
//
// The invariant is "at least `keep` completed backups survive": a backup
// that is already on its way out (a DeleteBackupRequest names it, it has a
// deletionTimestamp, or Velero marked it Deleting) holds no slot, so a pass
// interrupted after some of its requests, then run again, finishes the job
// instead of deleting `keep` more; and a backup someone deleted by hand
// through the API is not counted as kept.
import { createHash } from 'node:crypto';
import { isRestorable, isUnfinishedRestore } from '../velero/backup-phases.js';
import { deleteBackupRequestName } from '../velero/object-names.js';
import { VELERO_ANNOTATION } from '../velero/velero-labels.js';
import type { BackupView, DeleteBackupRequestView, PodVolumeBackupView, RestoreView, ScheduleView } from '../velero/velero-views.js';

export interface RetentionInput {
  /** The component's Backups, any phase. */
  backups: readonly BackupView[];
  podVolumeBackupsOf: (backupName: string) => readonly PodVolumeBackupView[];
  /** The component's Restores, any phase. */
  restores: readonly RestoreView[];
  deleteRequestsFor: (backupName: string) => readonly DeleteBackupRequestView[];
  /**
   * Backups that the project's own restore requests (src/restore/) read and
   * that have not finished: until the request reaches Restoring there is no
   * Velero Restore to see, yet its PVCs may already be gone.
   */
  requestedRestores?: readonly string[];
  keep: number;
}

export type ProtectedReason = 'newest restorable' | 'unfinished restore';

export interface RetentionPlan {
  /** Completed backups not already on their way out, the ones ranked. */
  completed: number;
  /** What to delete, oldest first. */
  toDelete: BackupView[];
  /** Beyond `keep` but kept anyway, and why. */
  protected: { backup: string; reason: ProtectedReason }[];
}

/**
 * How many completed backups the component's Schedules say to keep: the
 * largest keep any of them carries (a component may have the region API's
 * Schedule next to ours; keeping more is the safe reading), or undefined.
 * Absent, or not a whole number of at least 1, means no pruning (TTL only).
 */
export function keepOf(schedules: readonly ScheduleView[]): number | undefined {
  let keep: number | undefined;
  for (const schedule of schedules) {
    const text = schedule.metadata.annotations[VELERO_ANNOTATION.keep]?.trim();
    if (text === undefined || !/^[1-9][0-9]{0,8}$/.test(text)) continue;
    keep = Math.max(keep ?? 0, Number(text));
  }
  return keep;
}

/**
 * The DeleteBackupRequest retention makes for `backup`: always the same name
 * for the same Backup (4 hex of its uid's sha256 where the API uses a random
 * suffix), so a retry after a crash hits AlreadyExists instead of making a
 * second request.
 */
export function retentionDeleteRequestName(backup: BackupView): string {
  return deleteBackupRequestName(backup.metadata.name, createHash('sha256').update(backup.metadata.uid).digest('hex').slice(0, 4));
}

const time = (text: string | undefined): number => {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/** Newest first: completionTimestamp, then startTimestamp, then name (all descending). */
export function newestCompletedFirst(a: BackupView, b: BackupView): number {
  return (
    time(b.status.completionTimestamp) - time(a.status.completionTimestamp) ||
    time(b.status.startTimestamp) - time(a.status.startTimestamp) ||
    (a.metadata.name < b.metadata.name ? 1 : a.metadata.name > b.metadata.name ? -1 : 0)
  );
}

function onItsWay(backup: BackupView, deleteRequestsFor: RetentionInput['deleteRequestsFor']): boolean {
  return backup.metadata.deletionTimestamp !== undefined || backup.status.phase === 'Deleting' || deleteRequestsFor(backup.metadata.name).length > 0;
}

/**
 * Ranks the Completed backups (Failed and PartiallyFailed ones are left to
 * their TTL) newest first; those beyond the first `keep` are deleted, except
 * the newest restorable one and any an unfinished restore reads from.
 */
export function retentionPlan(input: RetentionInput): RetentionPlan {
  const ranked = input.backups
    .filter((b) => b.status.phase === 'Completed' && !onItsWay(b, input.deleteRequestsFor))
    .sort(newestCompletedFirst);
  const newestRestorable = ranked.find((b) => isRestorable(b, input.podVolumeBackupsOf(b.metadata.name)));
  const restoring = new Set([...input.restores.filter(isUnfinishedRestore).map((r) => r.spec.backupName), ...(input.requestedRestores ?? [])]);
  const toDelete: BackupView[] = [];
  const kept: RetentionPlan['protected'] = [];
  for (const backup of ranked.slice(Math.max(0, input.keep))) {
    const name = backup.metadata.name;
    if (backup === newestRestorable) kept.push({ backup: name, reason: 'newest restorable' });
    else if (restoring.has(name)) kept.push({ backup: name, reason: 'unfinished restore' });
    else toDelete.push(backup);
  }
  return { completed: ranked.length, toDelete: toDelete.reverse(), protected: kept };
}

/** Backups an Event names before it only counts the rest: the API server refuses Event messages over 1 kB. */
const NAMED_IN_MESSAGE = 10;

/** What the RetentionPruned Event says: "deleted 3 of 6 completed backups (keep 3): a, b, c", and what was kept beyond keep. */
export function retentionMessage(plan: RetentionPlan, keep: number): string {
  const names = (items: string[]): string =>
    items.length > NAMED_IN_MESSAGE ? `${items.slice(0, NAMED_IN_MESSAGE).join(', ')} and ${items.length - NAMED_IN_MESSAGE} more` : items.join(', ');
  const deleted = plan.toDelete.map((b) => b.metadata.name);
  const kept = plan.protected.map((p) => `${p.backup} (${p.reason})`);
  return `deleted ${deleted.length} of ${plan.completed} completed backups (keep ${keep}): ${names(deleted)}` + (kept.length > 0 ? `; kept beyond keep: ${names(kept)}` : '');
}
