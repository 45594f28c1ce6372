// The durable record of a component's last running period, kept on its PVCs
// (annotation backup.wutong.io/ran-until) because they are the only objects
// a stopped component still has: "running" while the controller sees it run,
// then the time the controller saw it stop. A backup covers the data only if
// it started after that stop: everything before it may have been written
// since any earlier backup. Two consumers: the backup on stop (there is no
// covering backup yet: take one) and the deletion guard (is there one?).
import { copiedClaim, isRestorable } from '../velero/backup-phases.js';
import type { BackupView, PodVolumeBackupView } from '../velero/velero-views.js';
import type { ClaimSummary, ComponentState } from './component-registry.js';
import { PROTECTION_ANNOTATION } from './protection-keys.js';

export type RunMark = { kind: 'running' } | { kind: 'stopped'; at: string };

const RUNNING = 'running';

/** The mark in a PVC's annotations; undefined when absent or unreadable (a hand-edited value proves nothing). */
export function readRunMark(annotations: Readonly<Record<string, string>>): RunMark | undefined {
  const value = annotations[PROTECTION_ANNOTATION.ranUntil];
  if (value === undefined) return undefined;
  if (value === RUNNING) return { kind: 'running' };
  return Number.isNaN(Date.parse(value)) ? undefined : { kind: 'stopped', at: value };
}

export function runMarkValue(mark: RunMark): string {
  return mark.kind === 'running' ? RUNNING : mark.at;
}

/**
 * Whether the component is stopped the way Wutong stops it: no workload and
 * no running pod. A workload whose pods are all down for a moment (a
 * restart, a rollout of one replica, a node failure) is not stopped: its
 * controller is bringing a pod back onto the volumes this very moment.
 */
export function isStopped(component: { state: ComponentState; workload?: unknown }): boolean {
  return component.state === 'stopped' && component.workload === undefined;
}

/**
 * What a PVC's mark should become, or undefined when it is right as it is.
 * Running: "running". Stopped after a run: the time of this observation,
 * which is at or after the real stop, so a backup counted as covering
 * started after the last write. Stopped and never seen running: nothing is
 * known about its last run, and nothing is invented. Between the two (a
 * workload without a running pod) and deleted: left alone (the deletion
 * guard reads the mark last).
 */
export function nextRunMark(component: { state: ComponentState; workload?: unknown }, current: RunMark | undefined, now: Date): RunMark | undefined {
  if (component.state === 'running') return current?.kind === 'running' ? undefined : { kind: 'running' };
  if (isStopped(component) && current?.kind === 'running') return { kind: 'stopped', at: now.toISOString() };
  return undefined;
}

/** The component's last run across its PVCs: running if any says so, else the latest stop, else undefined (never seen running). */
export function lastRun(claims: readonly ClaimSummary[]): RunMark | undefined {
  let latest: RunMark | undefined;
  for (const claim of claims) {
    const mark = readRunMark(claim.annotations);
    if (mark === undefined) continue;
    if (mark.kind === 'running') return mark;
    if (latest?.kind !== 'stopped' || Date.parse(mark.at) > Date.parse(latest.at)) latest = mark;
  }
  return latest;
}

/**
 * Whether a Backup started after the stop. Velero stamps startTimestamp in
 * whole seconds (metav1.Time), the stop mark has milliseconds: a Backup
 * stamped in the stop's own second may have started just before it, so it
 * counts only from the next whole second. The controller's own backup for
 * this stop (`forThisStop`, named by it) was made after the mark by
 * construction and counts whatever its stamp, started or not.
 */
export function startedAfterStop(backup: Pick<BackupView, 'metadata' | 'status'>, stoppedAt: string, forThisStop?: string): boolean {
  if (forThisStop !== undefined && backup.metadata.name === forThisStop) return true;
  return Date.parse(backup.status.startTimestamp ?? '') >= Math.ceil(Date.parse(stoppedAt) / 1000) * 1000;
}

/**
 * The newest restorable Backup (Completed, with volume data) that Velero
 * started after the stop (startedAfterStop) and that copied every one of
 * `claimUids` (a Completed PodVolumeBackup of each, copiedClaim): it holds
 * everything the last run wrote to those claims. None while the component
 * runs (it is still writing) or when its last run is unknown. Velero's clock
 * stamps startTimestamp and ours the stop: they are both NTP-synchronised
 * cluster clocks, and the stop is stamped after the pods were gone, so a skew
 * smaller than that delay cannot make an older backup look covering.
 */
export function coveringBackup(
  run: RunMark | undefined,
  backups: readonly BackupView[],
  volumesOf: (backupName: string) => readonly PodVolumeBackupView[],
  claimUids: readonly string[],
  forThisStop?: string,
): BackupView | undefined {
  if (run?.kind !== 'stopped') return undefined;
  let newest: BackupView | undefined;
  let newestStart = -Infinity;
  for (const backup of backups) {
    if (!startedAfterStop(backup, run.at, forThisStop)) continue;
    const parsed = Date.parse(backup.status.startTimestamp ?? '');
    const start = Number.isFinite(parsed) ? parsed : 0;
    if (newest !== undefined && start <= newestStart) continue;
    const volumes = volumesOf(backup.metadata.name);
    if (backup.metadata.deletionTimestamp !== undefined || !isRestorable(backup, volumes) || !claimUids.every((uid) => copiedClaim(volumes, uid))) continue;
    newest = backup;
    newestStart = start;
  }
  return newest;
}
