// Tells a component's story in `kubectl describe`: an Event on its workload
// (on a PVC once the workload is gone) when one of its Backups starts,
// completes or fails. What was told is kept on the Backup itself (annotation
// backup.wutong.io/announced-phase), so a restart or a new leader neither
// repeats nor skips one: the Event is written first and the annotation after
// it, so a crash between the two repeats that one Event rather than lose it.
// Backups that had finished more than an hour before this process first saw
// them are not announced: Velero's backup sync re-creates old Backups from
// object storage without our annotation, and nobody wants a hundred
// BackupCompleted Events from last year after a reinstall.
import { humanBytes } from '../api/records/record-format.js';
import { volumeBytes } from '../api/records/volume-bytes.js';
import { backupComponent } from '../velero/velero-scope.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from '../velero/velero-labels.js';
import type { BackupView } from '../velero/velero-views.js';
import { synced, type ControllerDeps } from './controller-deps.js';
import type { ControllerLoop } from './controller-loop.js';
import { EVENT_REASON, type EventReason } from './event-reasons.js';
import { eventTarget } from './event-target.js';
import { WorkQueue } from './work-queue.js';

export const STALE_BACKUP_MS = 3_600_000;
// Until the registry and the cache have listed once, an unknown component proves nothing: look again soon.
const NOT_SYNCED_RETRY_MS = 2_000;

export interface Announcement {
  phase: string;
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

const TOLD: Readonly<Record<string, { type: 'Normal' | 'Warning'; reason: EventReason }>> = {
  InProgress: { type: 'Normal', reason: EVENT_REASON.backupStarted },
  Completed: { type: 'Normal', reason: EVENT_REASON.backupCompleted },
  PartiallyFailed: { type: 'Warning', reason: EVENT_REASON.backupFailed },
  Failed: { type: 'Warning', reason: EVENT_REASON.backupFailed },
  FailedValidation: { type: 'Warning', reason: EVENT_REASON.backupFailed },
};

const FINISHED: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);

function message(b: BackupView, phase: string, bytes: number): string {
  const name = b.metadata.name;
  const scheduled = b.metadata.labels[VELERO_LABEL.scheduleName];
  switch (phase) {
    case 'InProgress':
      return `Backup ${name} started${scheduled ? ` by Schedule ${scheduled}` : ''}`;
    case 'Completed':
      return `Backup ${name} completed${bytes > 0 ? `: ${humanBytes(bytes)} of volume data` : ''}`;
    default:
      return `Backup ${name} ended ${phase}${b.status.failureReason ? `: ${b.status.failureReason}` : ''} (velero backup describe ${name} --details)`;
  }
}

/**
 * What to tell about this Backup now, if anything (pure). `firstSeenAt`: when
 * this process first saw the Backup.
 */
export function announcement(b: BackupView, bytes: number, firstSeenAt: Date): Announcement | undefined {
  const phase = b.status.phase ?? '';
  const told = TOLD[phase];
  if (!told || b.metadata.deletionTimestamp !== undefined) return undefined;
  const announced = b.metadata.annotations[VELERO_ANNOTATION.announcedPhase];
  if (announced === phase) return undefined;
  // A finished Backup is told once: a later phase change back (never expected) is not news.
  if (announced !== undefined && FINISHED.has(announced)) return undefined;
  const completed = Date.parse(b.status.completionTimestamp ?? '');
  if (announced === undefined && FINISHED.has(phase) && Number.isFinite(completed) && firstSeenAt.getTime() - completed > STALE_BACKUP_MS) return undefined;
  return { phase, ...told, message: message(b, phase, bytes) };
}

export function backupAnnouncementLoop(deps: ControllerDeps, options: { resyncMs?: number } = {}): ControllerLoop {
  const firstSeen = new Map<string, Date>();
  const see = (name: string): void => {
    if (!firstSeen.has(name)) firstSeen.set(name, deps.now());
  };

  const queue = new WorkQueue(
    async (name, signal) => {
      if (!synced(deps)) return { requeueAfterMs: NOT_SYNCED_RETRY_MS };
      const backup = deps.cache.backup(name);
      if (!backup) {
        firstSeen.delete(name);
        return;
      }
      see(name);
      const bytes = volumeBytes(deps.cache.podVolumeBackupsOf(name)).total;
      const told = announcement(backup, bytes, firstSeen.get(name) ?? deps.now());
      if (!told) return;
      // Its component by scope and label: the Event goes into the namespace the Backup copies, never where a label alone points.
      const key = backupComponent(backup);
      const component = key ? deps.registry.get(key) : undefined;
      const target = eventTarget(component);
      // Not a Wutong component this cluster knows (a Backup of something else, or a component already gone): nowhere to tell it.
      if (!target) return;
      signal.throwIfAborted();
      await deps.events.record(target, told.type, told.reason, told.message);
      signal.throwIfAborted();
      const patched = await deps.store.patch('backups', name, { metadata: { annotations: { [VELERO_ANNOTATION.announcedPhase]: told.phase } } });
      // Read-your-writes: the trigger this patch causes must see the annotation, not tell it again.
      deps.cache.remember('backups', patched);
      deps.log.debug({ backup: name, reason: told.reason, target: `${target.kind}/${target.namespace}/${target.name}` }, 'backup announced');
    },
    { name: 'backup-announcement' },
    deps.log,
  );

  return {
    queue,
    resyncMs: options.resyncMs ?? 5 * 60_000,
    *keys() {
      for (const key of deps.registry.keys()) {
        for (const b of deps.cache.backupsOf(key)) {
          see(b.metadata.name);
          // Most Backups were told long ago: a resync over 100,000 of them queues only the few with news.
          if (announcement(b, 0, firstSeen.get(b.metadata.name) ?? deps.now())) yield b.metadata.name;
        }
      }
    },
    watch() {
      return deps.cache.subscribe((change) => {
        if (change.resource !== 'backups') return;
        // Noted on every replica, leading or not: a replica that takes over knows what it saw and when.
        if (deps.cache.backup(change.name)) see(change.name);
        else firstSeen.delete(change.name);
        queue.add(change.name);
      });
    },
  };
}
