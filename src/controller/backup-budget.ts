// How many Backups the controller may start for one component per hour on
// its own initiative (before an upgrade, after a stop). Both are set off by
// objects a tenant controls: editing a pod template is an upgrade, and a
// stop is deleting her own workload. Without a bound, a loop of edits would
// have Velero, which runs as cluster-admin for every tenant, copy her
// volumes again and again. The count is read from the Backups themselves
// (their trigger label and creation time), so a restarted controller or a
// new leader counts exactly what the last one did.
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { BackupView } from '../velero/velero-views.js';

/** Backups the controller starts per component per hour (upgrade and stop together). */
export const CONTROLLER_BACKUPS_PER_HOUR = 6;
const HOUR_MS = 3_600_000;

export type BudgetAnswer = { allowed: true } | { allowed: false; used: number; freeAtMs: number };

/** Whether one more controller-made Backup may start now, given the component's Backups; when not, when the oldest counted one ages out. */
export function backupBudget(backups: readonly BackupView[], now: Date, perHour = CONTROLLER_BACKUPS_PER_HOUR): BudgetAnswer {
  const since = now.getTime() - HOUR_MS;
  const recent = backups
    .filter((b) => b.metadata.labels[VELERO_LABEL.trigger] !== undefined)
    .map((b) => Date.parse(b.metadata.creationTimestamp))
    .filter((at) => Number.isFinite(at) && at > since)
    .sort((a, b) => a - b);
  if (recent.length < perHour) return { allowed: true };
  return { allowed: false, used: recent.length, freeAtMs: (recent[recent.length - perHour] ?? now.getTime()) + HOUR_MS };
}
