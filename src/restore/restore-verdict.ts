// Whether a finished Velero Restore gave the data back: pure. Velero calls a
// Restore Completed when every PodVolumeRestore it made finished, but it
// makes them only for the pods it created itself (v1.11.1
// pkg/restore/restore.go L1525-1538): a pod of the same name that was there
// already (Wutong started the component meanwhile) gets none, and the
// Restore is Completed with no byte written. So the verdict compares what
// the Backup holds (its Completed PodVolumeBackups) with what Velero wrote
// (this Restore's Completed PodVolumeRestores), volume by volume.
import { failureReasonOf } from '../velero/failure-reason.js';
import type { PodVolumeBackupView, PodVolumeRestoreView, RestoreView } from '../velero/velero-views.js';

export type RestoreVerdict = { phase: 'Completed'; message: string } | { phase: 'Failed'; message: string };

/** A volume as records name it: the PVC when Velero recorded it, else pod/volume. */
const volumeName = (v: PodVolumeBackupView): string => v.spec.claimName ?? `${v.spec.pod.name}/${v.spec.volume}`;
const volumeKey = (v: PodVolumeRestoreView): string => `${v.spec.pod.name}\u0000${v.spec.volume}`;

export function restoreVerdict(restore: RestoreView, backupVolumes: readonly PodVolumeBackupView[], restoreVolumes: readonly PodVolumeRestoreView[]): RestoreVerdict {
  const phase = restore.status.phase ?? '';
  const expected = backupVolumes.filter((v) => v.status.phase === 'Completed');
  const written = new Map(restoreVolumes.map((v) => [volumeKey(v), v]));
  const missing: string[] = [];
  for (const volume of expected) {
    const restored = written.get(volumeKey(volume));
    // Only a Restore Velero completed tells that the pod existed already; one it ended otherwise (refused, failed) may never have got there.
    if (!restored) missing.push(`${volumeName(volume)} (no PodVolumeRestore${phase === 'Completed' ? `: a pod ${volume.spec.pod.name} existed already, so Velero wrote no data through it` : ''})`);
    else if (restored.status.phase !== 'Completed') missing.push(`${volumeName(volume)} (PodVolumeRestore ${restored.metadata.name} ${restored.status.phase || 'New'}${restored.status.message ? `: ${restored.status.message}` : ''})`);
  }
  const count = `${expected.length - missing.length} of ${expected.length} volume${expected.length === 1 ? '' : 's'}`;
  if (phase !== 'Completed') {
    const reason = failureReasonOf(restore.status);
    const why = reason ? `: ${reason}` : '';
    return { phase: 'Failed', message: `Velero ended the restore ${phase || 'New'}${why}; it wrote ${count}${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}` };
  }
  if (missing.length > 0) return { phase: 'Failed', message: `Velero wrote ${count} of backup ${restore.spec.backupName}; missing ${missing.join(', ')}` };
  return { phase: 'Completed', message: `Velero wrote ${count} of backup ${restore.spec.backupName}` };
}
