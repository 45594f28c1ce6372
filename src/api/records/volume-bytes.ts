// Size and progress of a backup or restore are the sums over its pod volumes
// (the region API's loop over PodVolumeBackups / PodVolumeRestores).
import type { PodVolumeBackupView } from '../../velero/velero-views.js';

export function volumeBytes(volumes: readonly PodVolumeBackupView[]): { total: number; done: number } {
  let total = 0;
  let done = 0;
  for (const v of volumes) {
    total += v.status.progress?.totalBytes ?? 0;
    done += v.status.progress?.bytesDone ?? 0;
  }
  return { total, done };
}
