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
//      (restore-verdict.ts). Then the pods Velero created are deleted, so the
//      component is stopped, as Wutong expects, on the backup's data; then a
//      marker holder (src/holder/restore-marker-pod.ts) removes the
//      `.velero` folder Velero's node agent left in each restored volume
//      (its restore-wait, non-root, cannot: velero#8973); only then is the
//      verdict written, so a component started on a Completed restore never
//      finds the folder.
import type { ComponentSnapshot } from '../components/component-registry.js';
import { describeComponent } from '../components/component.js';
import { copiedClaim, isRestorable, isUnfinishedBackup, isUnfinishedRestore } from '../velero/backup-phases.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
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
  /** A holder pod of the component that is up (not one this restore created, nor its marker holder), and what it serves. */
  holder: { name: string; serving: string } | undefined;
  /** This restore's marker holder (PROTECTION_ANNOTATION.clearsRestoreMarkers), once created. */
  markerHolder: MarkerHolder | undefined;
  backup: BackupView | undefined;
  backupVolumes: readonly PodVolumeBackupView[];
  safety: BackupView | undefined;
  safetyVolumes: readonly PodVolumeBackupView[];
  restore: RestoreView | undefined;
  restoreVolumes: readonly PodVolumeRestoreView[];
}

/** The marker holder as the step reads it: Running (or beyond) means its init container removed the folders. */
export interface MarkerHolder extends PodRef {
  phase: string;
  creationTimestamp: string;
  /** Why it does not run yet, when the pod says (ImagePullBackOff: …). */
  waiting?: string;
}

/** How long a marker holder may take to run (pull, schedule, attach) before the restore finishes without it, saying so. */
export const MARKER_HOLDER_TIMEOUT_MS = 120_000;

export type RestoreStep =
  | { kind: 'wait'; ms: number }
  /** Write the stage into the record (then look again at once). */
  | { kind: 'advance'; stage: RestoreStage; message: string }
  | { kind: 'back-up-current-data' }
  | { kind: 'delete-claims'; claims: readonly PodRef[] }
  | { kind: 'create-restore' }
  /** Start the marker holder on these claims (the ones Velero restored); the verdict to write if the cluster refuses the pod. */
  | { kind: 'clear-markers'; claims: readonly PodRef[]; verdict: RestoreVerdict }
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
    // The marker holder has done its part once the verdict is written.
    if (world.markerHolder) return { kind: 'clean-up', pods: [{ name: world.markerHolder.name, uid: world.markerHolder.uid }] };
    if (world.restoredPods.length > 0) return cleanUpRestoredPods(world.restoredPods, age);
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
    const verdict = restoreVerdict(world.restore, world.backupVolumes, world.restoreVolumes);
    return afterVelero(world, verdict);
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

/**
 * Velero's pods that are done with (Running: every init container ended, its
 * restore-wait included), or stuck before that longer than the grace.
 */
function cleanUpRestoredPods(pods: readonly RestoredPod[], age: number): RestoreStep {
  const done = pods.filter((p) => p.phase !== 'Pending' || age >= RESTORED_POD_GRACE_MS);
  return done.length > 0 ? { kind: 'clean-up', pods: done.map(({ name, uid }) => ({ name, uid })) } : recheck;
}

const names = (claims: readonly PodRef[]): string => claims.map((c) => c.name).join(', ');

/**
 * Velero has finished: its pods go (they mount the volumes: restore-wait, the
 * restore hooks), then the marker holder removes the `.velero` folders from
 * the claims Velero restored, then the verdict is written, with a note when
 * the folders could not be removed.
 */
function afterVelero(world: RestoreWorld, verdict: RestoreVerdict): RestoreStep {
  const completed = Date.parse(world.restore?.status.completionTimestamp ?? '');
  const sinceVelero = Number.isFinite(completed) ? world.now.getTime() - completed : RESTORED_POD_GRACE_MS;
  if (world.restoredPods.length > 0) return cleanUpRestoredPods(world.restoredPods, sinceVelero);
  const restored = claimsToReplace(world.component, world.backupVolumes).filter((c) => c.deletionTimestamp === undefined);
  // Nothing written, nothing to clear (Velero refused, or wrote no volume).
  if (restored.length === 0 || !world.restoreVolumes.some((v) => v.status.phase === 'Completed')) return { kind: 'finish', verdict };
  // The component started meanwhile: its pods own the volumes now; the holder must not start beside them.
  // Velero's pods (velero.io/restore-name) are on their way out: they are not the component starting.
  const started = world.component?.workload ?? world.component?.pods.find((p) => p.labels[VELERO_LABEL.restoreName] === undefined && p.deletionTimestamp === undefined);
  const holder = world.markerHolder;
  if (started && !holder) return { kind: 'finish', verdict: note(verdict, `the .velero folders Velero left in ${names(restored)} were not removed: the component was started (${started.kind} ${started.name})`) };
  if (!holder) {
    // Another holder (a backup on stop) has the one holder name: after it.
    if (world.holder) return recheck;
    return { kind: 'clear-markers', claims: restored.map((c) => ({ name: c.name, uid: c.uid })), verdict };
  }
  if (holder.phase === 'Running' || holder.phase === 'Succeeded') return { kind: 'finish', verdict };
  if (holder.phase === 'Failed') return { kind: 'finish', verdict: note(verdict, `the .velero folders Velero left in ${names(restored)} could not be removed (marker holder ${holder.name} failed: kubectl logs ${holder.name} -c clear-restore-markers)`) };
  const created = Date.parse(holder.creationTimestamp);
  const age = Number.isFinite(created) ? world.now.getTime() - created : 0;
  if (age >= MARKER_HOLDER_TIMEOUT_MS) {
    return { kind: 'finish', verdict: note(verdict, `the .velero folders Velero left in ${names(restored)} were not removed: marker holder ${holder.name} did not run in ${MARKER_HOLDER_TIMEOUT_MS / 1000} s${holder.waiting ? ` (${holder.waiting})` : ''}`) };
  }
  return recheck;
}

/** The verdict with what happened to Velero's .velero folders added. */
export function note(verdict: RestoreVerdict, text: string): RestoreVerdict {
  return { phase: verdict.phase, message: `${verdict.message}; ${text}` };
}
