// The next step of a restore that replaces (restore-request.ts), from the
// record and what the cluster holds now: pure and level-based, so the
// controller's loop can run it again after any crash, watch event or
// resync and do the right thing. The order is what makes the result exact:
//
//   1. The component must be stopped (a running pod writes to what is being
//      replaced), and the backup restorable.
//   2. Safety backup: the data about to be replaced is backed up first (at
//      rest, through a holder pod), and it must have copied every claim that
//      will be replaced (coverage per claim); otherwise nothing is touched.
//   3. The component's PVCs that the backup holds data of are deleted, so
//      Velero recreates them: Velero keeps a PVC that exists and restic/kopia
//      write over its files without deleting any (v1.11.1
//      pkg/restore/restore.go L1447-1458, pkg/uploader/kopia/snapshot.go
//      L292-298): restoring into the old PVC would mix two points in time.
//   4. The Velero Restore (restore-object.ts): PVCs, PVs (re-provisioned),
//      the pods Velero writes the data through (with their ConfigMaps and
//      Secrets); their post-restore hooks (a profile's dump import) run as
//      Velero runs them.
//   5. Verdict, once Velero's Restore has finished (hooks included): the
//      PodVolumeRestores against the Backup's PodVolumeBackups
//      (restore-verdict.ts); then the pods Velero created are deleted, so the
//      component is stopped, as Wutong expects, on the backup's data.
import type { ComponentSnapshot } from '../components/component-registry.js';
import { describeComponent } from '../components/component.js';
import { copiedClaim, isRestorable, isUnfinishedBackup, isUnfinishedRestore } from '../velero/backup-phases.js';
import type { BackupView, PodVolumeBackupView, PodVolumeRestoreView, RestoreView } from '../velero/velero-views.js';
import { isFinalStage, stageOf, type RestoreRequestRecord, type RestoreStage } from './restore-request.js';
import { restoreVerdict, type RestoreVerdict } from './restore-verdict.js';

/** While a restore moves, it is looked at again this often even without a watch event. */
export const RESTORE_RECHECK_MS = 2_000;

export interface PodRef {
  name: string;
  uid: string;
}

/** A pod this restore's Velero Restore created, and its phase: Running means its init containers, Velero's restore-wait among them, are done. */
export interface RestoredPod extends PodRef {
  phase: string;
}

/**
 * How long after the verdict a restored pod that never got past its init
 * containers (an image it cannot pull, a hook that waits for ever) is left
 * before it is deleted anyway.
 */
export const RESTORED_POD_GRACE_MS = 120_000;

export interface RestoreWorld {
  now: Date;
  /** After Completed or Failed, how long the record stays (records read it; a restore that failed before Velero's existed has nothing else). */
  keepMs: number;
  /** The request's namespace is a tenant env (its labels say so; tenants cannot write them). */
  tenantNamespace: boolean;
  /** The component from the registry; undefined when it has no object left. */
  component: ComponentSnapshot | undefined;
  /** The pods this restore's Velero Restore created, still there (velero.io/restore-name). */
  restoredPods: readonly RestoredPod[];
  /** A holder pod of the component that is up (not one this restore created), and what it serves. */
  holder: { name: string; serving: string } | undefined;
  backup: BackupView | undefined;
  backupVolumes: readonly PodVolumeBackupView[];
  safety: BackupView | undefined;
  safetyVolumes: readonly PodVolumeBackupView[];
  restore: RestoreView | undefined;
  restoreVolumes: readonly PodVolumeRestoreView[];
}

export type RestoreStep =
  | { kind: 'wait'; ms: number }
  /** Write the stage into the record (then look again at once). */
  | { kind: 'advance'; stage: RestoreStage; message: string }
  | { kind: 'back-up-current-data' }
  | { kind: 'delete-claims'; claims: readonly PodRef[] }
  | { kind: 'create-restore' }
  /** Write the verdict (on the Velero Restore when there is one, and into the record). */
  | { kind: 'finish'; verdict: RestoreVerdict }
  | { kind: 'clean-up'; pods: readonly PodRef[] }
  | { kind: 'remove' };

const failed = (message: string): RestoreStep => ({ kind: 'finish', verdict: { phase: 'Failed', message } });
const recheck: RestoreStep = { kind: 'wait', ms: RESTORE_RECHECK_MS };

/** The component's live PVCs whose data the backup holds (by name: Velero recreates a PVC under its old name, with a new uid). */
export function claimsToReplace(component: ComponentSnapshot | undefined, backupVolumes: readonly PodVolumeBackupView[]): ComponentSnapshot['claims'] {
  const inBackup = new Set(backupVolumes.filter((v) => v.status.phase === 'Completed').map((v) => v.spec.claimName).filter((n): n is string => n !== undefined));
  return (component?.claims ?? []).filter((c) => inBackup.has(c.name));
}

export function restoreStep(record: RestoreRequestRecord, world: RestoreWorld): RestoreStep {
  const stage = stageOf(record);
  if (isFinalStage(stage)) {
    const since = Date.parse(record.progress?.since ?? '');
    const age = world.now.getTime() - (Number.isFinite(since) ? since : 0);
    if (world.restoredPods.length > 0) {
      // Velero calls the Restore done once its node agent wrote the data, but its restore-wait removes the
      // .velero done files from the volumes only when it sees them (within a second): a pod deleted before it
      // runs leaves them behind. Running means every init container ended.
      const done = world.restoredPods.filter((p) => p.phase !== 'Pending' || age >= RESTORED_POD_GRACE_MS);
      return done.length > 0 ? { kind: 'clean-up', pods: done.map(({ name, uid }) => ({ name, uid })) } : recheck;
    }
    const left = world.keepMs - age;
    return left <= 0 ? { kind: 'remove' } : { kind: 'wait', ms: left };
  }
  const request = record.request;
  if (!request) return failed(`the restore request ${record.name} cannot be read (${record.unreadable ?? 'no request'}): nothing was changed`);
  if (!world.tenantNamespace) return failed(`namespace ${request.component.namespace} is not a tenant env: nothing was changed`);
  const name = world.component ? describeComponent(world.component.ref) : request.component.serviceAlias;

  if (world.restore) {
    if (isUnfinishedRestore(world.restore)) {
      return stage === 'Restoring' ? recheck : { kind: 'advance', stage: 'Restoring', message: `Velero is restoring backup ${request.backupName}` };
    }
    return { kind: 'finish', verdict: restoreVerdict(world.restore, world.backupVolumes, world.restoreVolumes) };
  }

  const replace = claimsToReplace(world.component, world.backupVolumes);
  const safetyName = request.safetyBackup?.metadata.name;
  const kept = safetyName ? `; the data it replaced is in safety backup ${safetyName}` : '';

  if (stage === 'ReplacingVolumes') {
    // Wutong started the component while its PVCs were going: its pods would run on whatever is left.
    const running = world.component?.workload ?? world.component?.pods.find((p) => !world.restoredPods.some((r) => r.uid === p.uid));
    if (running) return failed(`component ${name} was started (${running.kind} ${running.name}) while its volumes were being replaced: the restore stopped before Velero wrote anything${kept}; stop it and restore again`);
    const live = replace.filter((c) => c.deletionTimestamp === undefined);
    if (live.length > 0) return { kind: 'delete-claims', claims: live.map((c) => ({ name: c.name, uid: c.uid })) };
    return replace.length > 0 ? recheck : { kind: 'create-restore' };
  }

  // New or SavingCurrentData: nothing has been changed yet.
  const started = world.component?.workload ?? world.component?.pods[0];
  if (started) return failed(`component ${name} was started (${started.kind} ${started.name}) after the restore was requested: nothing was changed; stop it and restore again`);
  if (!world.backup || world.backup.metadata.deletionTimestamp !== undefined) return failed(`backup ${request.backupName} is gone: nothing was changed`);
  if (!isRestorable(world.backup, world.backupVolumes)) return failed(`backup ${request.backupName} is not restorable (${world.backup.status.phase || 'New'}): nothing was changed`);

  if (request.safetyBackup && replace.length > 0) {
    const safety = world.safety;
    if (!safety) {
      if (stage === 'New') return { kind: 'advance', stage: 'SavingCurrentData', message: `backing up the current data of ${replace.map((c) => c.name).join(', ')} as backup ${safetyName ?? ''} before replacing it` };
      // Another backup's holder (a backup on stop, a console backup) holds the volumes: the safety backup starts after it.
      return world.holder ? recheck : { kind: 'back-up-current-data' };
    }
    if (isUnfinishedBackup(safety)) return recheck;
    if (safety.status.phase !== 'Completed') return failed(`safety backup ${safety.metadata.name} ended ${safety.status.phase ?? 'without a phase'}: nothing was replaced`);
    const uncovered = replace.filter((c) => !copiedClaim(world.safetyVolumes, c.uid));
    if (uncovered.length > 0) return failed(`safety backup ${safety.metadata.name} did not copy ${uncovered.map((c) => c.name).join(', ')}: nothing was replaced`);
  }
  // The safety backup's holder mounts the PVCs: they cannot go (pvc-protection) until it has.
  if (world.holder) return recheck;
  if (replace.length === 0) return { kind: 'create-restore' };
  return { kind: 'advance', stage: 'ReplacingVolumes', message: `deleting PVCs ${replace.map((c) => c.name).join(', ')} so Velero recreates them with exactly the backup's data${kept}` };
}
