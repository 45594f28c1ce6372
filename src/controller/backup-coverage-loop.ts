// Writes on each finished Backup of a component which of its claims it was
// expected to copy and why any was skipped (annotation
// backup.wutong.io/coverage, backup-coverage.ts), so the backup records can
// say "2 of 3 volumes; logs skipped: hostPath PV" of a Backup Velero calls
// Completed. Written once, from what the cluster shows when the Backup has
// just finished (the pods, PVCs and PVs Velero looked at seconds before);
// a Backup that finished more than an hour before this process saw it
// (Velero's backup sync re-creating old ones) is left without: today's
// pods say nothing about last year's backup.
import { isObject } from '../is-object.js';
import type { ComponentPodReader } from '../kube/component-pods.js';
import type { VolumeStore } from '../kube/volume-store.js';
import { formatCoverage } from '../velero/backup-coverage.js';
import { VELERO_ANNOTATION } from '../velero/velero-labels.js';
import { backupComponent } from '../velero/velero-scope.js';
import type { BackupView } from '../velero/velero-views.js';
import { STALE_BACKUP_MS } from './backup-announcement-loop.js';
import { claimCoverage } from './claim-coverage.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { WorkQueue } from './work-queue.js';

export interface BackupCoverageDeps extends ControllerDeps {
  pods: ComponentPodReader;
  volumes: VolumeStore;
  resyncMs: number;
}

const NOT_SYNCED_RETRY_MS = 2_000;
/** The phases in which Velero has stopped copying: Failed and FailedValidation copied nothing worth describing. */
const COPIED_PHASES: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed']);

/** Whether this Backup still needs its coverage written (pure). */
export function needsCoverage(backup: BackupView, now: Date): boolean {
  if (backup.metadata.deletionTimestamp !== undefined) return false;
  if (!COPIED_PHASES.has(backup.status.phase ?? '')) return false;
  if (backup.metadata.annotations[VELERO_ANNOTATION.coverage] !== undefined) return false;
  const completed = Date.parse(backup.status.completionTimestamp ?? '');
  return !(Number.isFinite(completed) && now.getTime() - completed > STALE_BACKUP_MS);
}

const isHostPathPv = (raw: unknown): boolean => isObject(raw) && isObject(raw.spec) && isObject(raw.spec.hostPath);

export function backupCoverageLoop(deps: BackupCoverageDeps): ControllerLoop {
  const queue = new WorkQueue(
    async (name, signal) => {
      if (!synced(deps)) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
      const backup = deps.cache.backup(name);
      if (!backup || !needsCoverage(backup, deps.now())) return;
      const key = backupComponent(backup);
      const component = key ? deps.registry.get(key) : undefined;
      // Not a component this cluster knows (anymore): no claims to judge.
      if (!component) return;
      const volumes = deps.cache.podVolumeBackupsOf(name);
      // Velero finishes every PodVolumeBackup before the Backup; a watch event of one may still be on its way.
      if (volumes.some((v) => v.status.phase !== 'Completed' && v.status.phase !== 'Failed')) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
      const pods = await deps.pods.list(component.namespace, component.serviceId);
      const hostPathVolumes = new Set<string>();
      for (const claim of component.claims) {
        if (claim.volumeName !== undefined && isHostPathPv(await deps.volumes.get(claim.volumeName))) hostPathVolumes.add(claim.volumeName);
      }
      const coverage = claimCoverage({
        claims: component.claims.map((c) => ({ name: c.name, uid: c.uid, creationTimestamp: c.creationTimestamp, ...(c.volumeName !== undefined ? { volumeName: c.volumeName } : {}) })),
        pods,
        hostPathVolumes,
        podVolumeBackups: volumes,
        startedAt: backup.status.startTimestamp,
        backupName: name,
      });
      signal.throwIfAborted();
      const patched = await deps.store.patch('backups', name, { metadata: { annotations: { [VELERO_ANNOTATION.coverage]: formatCoverage(coverage) } } });
      deps.cache.remember('backups', patched);
      deps.log.info({ backup: name, expected: coverage.expected.length, skipped: coverage.skipped }, 'backup coverage recorded');
    },
    { name: 'backup-coverage' },
    deps.log,
  );

  return {
    queue,
    resyncMs: deps.resyncMs,
    *keys() {
      const now = deps.now();
      for (const key of deps.registry.keys()) {
        for (const b of deps.cache.backupsOf(key)) if (needsCoverage(b, now)) yield b.metadata.name;
      }
    },
    watch() {
      return deps.cache.subscribe((change) => {
        if (change.resource === 'backups') queue.add(change.name);
      });
    },
  };
}
