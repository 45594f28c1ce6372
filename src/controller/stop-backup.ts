// Backup on stop, the decision (protection.backupOnStop): a protected
// component that Wutong stopped after a run, whose data no restorable backup
// taken since the stop holds, gets one backup of its data at rest, named by
// that stop. Pure: the loop (stop-backup-loop.ts) carries it out through a
// holder pod, the same way the API's POST …/backup of a stopped component
// (handed to the controller through a request record) is done.
import type { ComponentSnapshot } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { coveringBackup, isStopped, lastRun } from '../components/run-mark.js';
import { stopBackupName } from '../velero/object-names.js';
import type { BackupView, PodVolumeBackupView } from '../velero/velero-views.js';

export type StopBackupStep = { kind: 'none'; why: string } | { kind: 'back-up'; backup: string; stoppedAt: string };

export interface StopBackupInput {
  component: ComponentSnapshot;
  /** Whether the component's rule turns backupOnStop on (undefined: unprotected). */
  backupOnStop: boolean | undefined;
  backups: readonly BackupView[];
  podVolumeBackupsOf: (backupName: string) => readonly PodVolumeBackupView[];
}

export function stopBackupStep({ component, backupOnStop, backups, podVolumeBackupsOf }: StopBackupInput): StopBackupStep {
  if (backupOnStop !== true) return { kind: 'none', why: 'backupOnStop is off for its rule' };
  if (!isStopped(component)) return { kind: 'none', why: 'it is not stopped' };
  // A PVC being deleted cannot be mounted any more: the data guard decides what happens to the data.
  if (component.claims.length === 0 || component.claims.some((c) => c.deletionTimestamp !== undefined)) return { kind: 'none', why: 'no PVC left to mount' };
  const run = lastRun(component.claims);
  // Never seen running (installed after its stop, or a component that never ran): nothing is known to be new.
  if (run?.kind !== 'stopped') return { kind: 'none', why: 'no run is known to have ended' };
  const backup = stopBackupName(component, new Date(run.at));
  // Covering only if it copied every claim: a backup that skipped one (Velero only warns) leaves that claim's last run uncopied.
  const covering = coveringBackup(run, backups, podVolumeBackupsOf, component.claims.map((c) => c.uid), backup);
  if (covering) return { kind: 'none', why: `Backup ${covering.metadata.name} holds the last run's data of every claim` };
  // One try per stop: the Backup exists (any phase: a failed one is not retried) or its holder never ran and that was recorded.
  if (backups.some((b) => b.metadata.name === backup)) return { kind: 'none', why: `Backup ${backup} was taken for this stop` };
  if (component.claims.some((c) => c.annotations[PROTECTION_ANNOTATION.stopBackup] === backup)) return { kind: 'none', why: `Backup ${backup} was tried for this stop and could not start` };
  return { kind: 'back-up', backup, stoppedAt: run.at };
}
