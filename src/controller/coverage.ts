// Whether a component is covered by its backups: the one reading of a
// component's Schedule and Backups that the metrics (what the alerts fire on)
// and `wutong-backup status` (what scripts exit on) share, so the two never
// disagree about which component needs attention.
//
// When a backup is due (README "Coverage: metrics, alerts, status"):
//   base     = the last successful backup's completion, or the Schedule's
//              creation when there is none;
//   expected = the Schedule's first run after base (robfig/cron, as Velero);
//   dueAt    = expected + max(1 h, half the interval from expected to the run
//              after it). The grace lets a long backup finish (hours, for big
//              volumes through file-system backup) yet flags a missed run well
//              before the next one would hide it.
// So a component whose last success is old is overdue at once, even when its
// Schedule is new or was just resumed (a long-stopped component started
// again): its data changes now and its newest restorable copy is that old.
// A manual backup after such a start clears it.
// A cron Velero cannot run (it marks the Schedule FailedValidation) is due at
// base: it will never produce a backup. A cron with no run in the next five
// years has no due time. Overdue needs a live component and a Schedule that
// is not paused: a stopped component's Schedule is paused on purpose.
import type { ComponentKey } from '../components/component-key.js';
import { volumeBytes } from '../api/records/volume-bytes.js';
import type { VeleroCache } from '../velero/velero-ports.js';
import type { ComponentSnapshot, ComponentState } from '../components/component-registry.js';
import { parseBackupCron } from '../velero/backup-cron.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { BackupView, PodVolumeBackupView, ScheduleView } from '../velero/velero-views.js';

export const DUE_GRACE_MIN_MS = 3_600_000;

/** Velero phases that mean the backup did not copy everything it should have. */
const FAILED_PHASES: ReadonlySet<string> = new Set(['Failed', 'PartiallyFailed', 'FailedValidation']);

export interface CoverageSchedule {
  name: string;
  cron: string;
  paused: boolean;
  /** Who asked for it (label backup.wutong.io/schedule-source: policy or api); undefined for Schedules made elsewhere. */
  source?: string;
}

export interface CoverageBackup {
  name: string;
  /** Velero's phase; "New" before Velero has picked the Backup up. */
  phase: string;
  startedAt?: Date;
  completedAt?: Date;
  /** Sum of its PodVolumeBackups' totalBytes (0 while none reported). */
  bytes: number;
}

export interface Coverage {
  /** The registry's state; 'deleted' when the registry has nothing of it left. */
  state: ComponentState;
  /** A Schedule exists for the component. */
  protected: boolean;
  schedule?: CoverageSchedule;
  /** The newest Backup of the component, of any phase (an InProgress one included). */
  lastBackup?: CoverageBackup;
  /** Completion of the newest Completed Backup. */
  lastSuccessAt?: Date;
  dueAt?: Date;
  /** Protected, live, not paused, and past dueAt. */
  overdue: boolean;
  /** The newest Backup ended Failed, PartiallyFailed or FailedValidation. */
  failed: boolean;
}

/** A component's Velero objects: from the watch-backed cache (metrics) or from one-shot lists (status). */
export interface ComponentBackups {
  schedules: readonly ScheduleView[];
  backups: readonly BackupView[];
  podVolumeBackupsOf(backupName: string): readonly PodVolumeBackupView[];
}

export function componentBackups(velero: Pick<VeleroCache, 'schedulesOf' | 'backupsOf' | 'podVolumeBackupsOf'>, component: ComponentKey): ComponentBackups {
  return {
    schedules: velero.schedulesOf(component),
    backups: velero.backupsOf(component),
    podVolumeBackupsOf: (name) => velero.podVolumeBackupsOf(name),
  };
}

function time(text: string | undefined): Date | undefined {
  if (text === undefined || text === '') return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** When Velero started it, else when it was created: a Backup Velero has not picked up yet still counts as the newest. */
const backupTime = (b: BackupView): number => (time(b.status.startTimestamp) ?? time(b.metadata.creationTimestamp))?.getTime() ?? 0;

const newestFirst = (a: BackupView, b: BackupView): number => backupTime(b) - backupTime(a) || b.metadata.name.localeCompare(a.metadata.name);

/** The component's Schedule: one is expected; of several (a region API one left over), an active one first, then by name. */
function chosenSchedule(schedules: readonly ScheduleView[]): ScheduleView | undefined {
  const live = schedules.filter((s) => s.metadata.deletionTimestamp === undefined);
  return [...live].sort((a, b) => Number(a.spec.paused === true) - Number(b.spec.paused === true) || a.metadata.name.localeCompare(b.metadata.name))[0];
}

function dueAt(schedule: ScheduleView, lastSuccessAt: Date | undefined): Date | undefined {
  const base = lastSuccessAt ?? time(schedule.metadata.creationTimestamp);
  if (base === undefined) return undefined;
  const cron = parseBackupCron(schedule.spec.schedule);
  if (cron === undefined) return base;
  const expected = cron.next(base);
  if (expected === undefined) return undefined;
  const following = cron.next(expected);
  const interval = following === undefined ? 0 : following.getTime() - expected.getTime();
  return new Date(expected.getTime() + Math.max(DUE_GRACE_MIN_MS, interval / 2));
}

export function componentCoverage(component: Pick<ComponentSnapshot, 'state'> | undefined, velero: ComponentBackups, now: Date): Coverage {
  const state = component?.state ?? 'deleted';
  const live = velero.backups.filter((b) => b.metadata.deletionTimestamp === undefined && b.status.phase !== 'Deleting').sort(newestFirst);
  const newest = live[0];
  const lastBackup: CoverageBackup | undefined = newest && {
    name: newest.metadata.name,
    phase: newest.status.phase || 'New',
    startedAt: time(newest.status.startTimestamp),
    completedAt: time(newest.status.completionTimestamp),
    bytes: volumeBytes(velero.podVolumeBackupsOf(newest.metadata.name)).total,
  };
  const success = live.find((b) => b.status.phase === 'Completed');
  const lastSuccessAt = success && (time(success.status.completionTimestamp) ?? time(success.status.startTimestamp));
  const view = chosenSchedule(velero.schedules);
  const schedule: CoverageSchedule | undefined = view && {
    name: view.metadata.name,
    cron: view.spec.schedule,
    paused: view.spec.paused === true,
    source: view.metadata.labels[VELERO_LABEL.scheduleSource],
  };
  const due = view && dueAt(view, lastSuccessAt);
  return {
    state,
    protected: schedule !== undefined,
    ...(schedule && { schedule }),
    ...(lastBackup && { lastBackup }),
    ...(lastSuccessAt && { lastSuccessAt }),
    ...(due && { dueAt: due }),
    overdue: schedule !== undefined && !schedule.paused && state !== 'deleted' && due !== undefined && now.getTime() > due.getTime(),
    failed: lastBackup !== undefined && FAILED_PHASES.has(lastBackup.phase),
  };
}
