// A cron change that does not make Velero back up at once.
//
// Velero v1.11.1 decides a Schedule is due when now is after
// cron.Next(status.lastBackup, else metadata.creationTimestamp) under the
// spec as it is now (pkg/controller/schedule_controller.go L246-257), and a
// spec change is reconciled at once (L81 SpecChangePredicate; L135-139
// submits the Backup). Changing "0 3 * * *" to "0 4 * * *" at 10:00 after
// the 03:00 run therefore backs up at 10:00: Next(03:00) under the new spec
// is 04:00, which has passed. The user asked for 04:00 tomorrow.
//
// So the patch that changes the cron also sets status.lastBackup to the time
// of the change when, and only when, the new spec would otherwise be due at
// once: the next run is then the new spec's first time after the change.
// Every v1.11.1 Velero CRD has no status subresource
// (config/crd/v1/bases/velero.io_schedules.yaml L547 `subresources: {}`), so
// the one merge patch that writes spec writes status too, under the
// `patch schedules` both the API and the controller already have: no new
// right, and atomic with the spec change (no window in which Velero sees
// the new cron with the old time). The price: lastBackup then says when
// Velero counts runs from, not when the last backup ran; records never read
// it (the last backup is the newest Backup, coverage.ts).
import { parseBackupCron } from './backup-cron.js';
import type { ScheduleView } from './velero-views.js';

/** metav1.Time as the API server stores it: RFC 3339, whole seconds. */
function kubeTime(at: Date): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The status part of the patch that changes `existing`'s cron to `cron` at
 * `now`: `{ lastBackup: now }` when Velero would otherwise run the new spec
 * at once, else undefined (the cron is unchanged, or its next run under the
 * new spec is still ahead: that run is a real one of the new spec).
 */
export function quietCronStatus(existing: ScheduleView, cron: string, now: Date): { lastBackup: string } | undefined {
  if (existing.spec.schedule === cron) return undefined;
  const runs = parseBackupCron(cron);
  if (runs === undefined) return undefined;
  const from = Date.parse(existing.status.lastBackup ?? existing.metadata.creationTimestamp);
  if (Number.isNaN(from)) return { lastBackup: kubeTime(now) };
  const next = runs.next(new Date(from));
  // Due means now.After(next) (L256); the check runs a moment after the patch, so "not yet" by a hair counts as due.
  return next === undefined || next.getTime() <= now.getTime() ? { lastBackup: kubeTime(now) } : undefined;
}
