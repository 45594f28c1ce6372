// What the controller does next for one download request record: pure, like
// restore-step.ts. Level-based: every decision is made from the record and
// the cluster objects as they are now (the scratch namespace, the Velero
// Restore named after it, its PodVolumeRestores, the pods in the scratch
// namespace, the holder's Secret and pod), so a controller that restarts
// anywhere decides the same step again, and a step already done is seen done.
import { SERVE_ARCHIVE_PORT } from './archive-server.js';
import { coverageOf } from '../velero/backup-coverage.js';
import { isUnfinishedRestore } from '../velero/backup-phases.js';
import { restoredPodProblem } from '../velero/download-restore.js';
import type { BackupView, PodVolumeBackupView, PodVolumeRestoreView, RestoreView } from '../velero/velero-views.js';
import type { MissingVolume } from './download-archive.js';
import { downloadStageOf, SCRATCH_NAMESPACE_PREFIX, type DownloadRequestRecord, type DownloadStage, type HolderEndpoint } from './download-request.js';

export const DOWNLOAD_RECHECK_MS = 2_000;

export interface ScratchPod {
  name: string;
  uid: string;
  phase: string;
  initContainers: readonly { name: string; image?: string }[];
}

export interface DownloadWorld {
  now: Date;
  /** How long a Failed record stays for the API to read the reason. */
  keepMs: number;
  image: string;
  /** The scratch namespace as it is; undefined when absent. */
  namespace: { terminating: boolean } | undefined;
  backup: BackupView | undefined;
  backupVolumes: readonly PodVolumeBackupView[];
  /** The Velero Restore named after the scratch namespace. */
  restore: RestoreView | undefined;
  restoreVolumes: readonly PodVolumeRestoreView[];
  /** Pods Velero restored into the scratch namespace (every pod there but the holder). */
  restoredPods: readonly ScratchPod[];
  /** The holder Secret's certificate fingerprint as the record keeps it (written once the Secret is created). */
  secretFingerprint: string | undefined;
  holder: { phase: string; podIP?: string } | undefined;
}

export type DownloadStep =
  | { kind: 'wait'; ms: number }
  | { kind: 'advance'; stage: DownloadStage; message: string; volumes?: string[]; missing?: MissingVolume[]; holder?: HolderEndpoint }
  | { kind: 'create-namespace' }
  | { kind: 'create-restore' }
  /** Delete these pods now (the tenant's code must never run on the restored data; the holder needs the claims). */
  | { kind: 'delete-pods'; pods: readonly { name: string; uid: string }[] }
  /** Issue the certificate, create the Secret (the token digest from the record) and keep its fingerprint in the record; a Secret already there whose fingerprint the record lacks fails the download. */
  | { kind: 'create-secret' }
  | { kind: 'create-holder'; claims: string[] }
  /** Delete the scratch namespace (everything in it goes with it), then fail the record with this reason. */
  | { kind: 'fail'; message: string }
  | { kind: 'delete-namespace' }
  | { kind: 'remove' };

const recheck: DownloadStep = { kind: 'wait', ms: DOWNLOAD_RECHECK_MS };

/** The backup's volumes split into what the archive will hold and what the backup lacks (its coverage's skipped claims, and PodVolumeBackups that did not complete). */
export function backupVolumeSplit(backup: BackupView, volumes: readonly PodVolumeBackupView[]): { copied: PodVolumeBackupView[]; missing: MissingVolume[] } {
  const copied = volumes.filter((v) => v.status.phase === 'Completed');
  const missing: MissingVolume[] = Object.entries(coverageOf(backup)?.skipped ?? {}).map(([claim, why]) => ({ claim, why }));
  for (const v of volumes) {
    const claim = v.spec.claimName ?? `${v.spec.pod.name}/${v.spec.volume}`;
    if (v.status.phase !== 'Completed' && !missing.some((m) => m.claim === claim)) missing.push({ claim, why: `PodVolumeBackup ${v.metadata.name} ${v.status.phase || 'New'}${v.status.message ? `: ${v.status.message}` : ''}` });
  }
  return { copied, missing };
}

export function downloadStep(record: DownloadRequestRecord, world: DownloadWorld): DownloadStep {
  const stage = downloadStageOf(record);
  const request = record.request;
  const expired = request !== undefined && world.now.getTime() >= Date.parse(request.expiresAt);
  if (stage === 'Failed' || expired) {
    // The namespace first: the record is what the sweep would otherwise need to find it by.
    if (world.namespace && !world.namespace.terminating) return { kind: 'delete-namespace' };
    if (expired) return { kind: 'remove' };
    const since = Date.parse(record.progress?.since ?? '');
    const left = world.keepMs - (world.now.getTime() - (Number.isFinite(since) ? since : 0));
    return left <= 0 ? { kind: 'remove' } : { kind: 'wait', ms: left };
  }
  if (!request) return { kind: 'fail', message: `the download request ${record.name} cannot be read (${record.unreadable ?? 'no request'})` };

  // Whatever the stage: a restored pod whose first init container after restore-wait is not our hold would run the tenant's code.
  for (const pod of world.restoredPods) {
    const problem = restoredPodProblem(pod, world.image);
    if (problem) return { kind: 'fail', message: problem };
  }

  if (stage === 'Ready') {
    // The holder serves once and exits; the API removes the record when the stream ends. An ended holder the API did not come for is a failure.
    if (!world.holder || world.holder.phase === 'Failed') return { kind: 'fail', message: 'the download holder pod ended before the archive was sent' };
    return recheck;
  }

  if (!world.backup || world.backup.metadata.deletionTimestamp !== undefined) return { kind: 'fail', message: `backup ${request.backupName} is gone` };
  if (world.backup.status.phase !== 'Completed') return { kind: 'fail', message: `backup ${request.backupName} is ${world.backup.status.phase || 'New'}, not Completed` };
  const { copied, missing } = backupVolumeSplit(world.backup, world.backupVolumes);
  if (copied.length === 0) return { kind: 'fail', message: `backup ${request.backupName} holds no volume data${missing.length > 0 ? ` (missing: ${missing.map((m) => m.claim).join(', ')})` : ''}` };

  if (!world.namespace) return stage === 'New' ? { kind: 'create-namespace' } : { kind: 'fail', message: `the scratch namespace ${request.scratchNamespace} was deleted under the download` };
  if (world.namespace.terminating) return { kind: 'fail', message: `the scratch namespace ${request.scratchNamespace} is being deleted` };
  if (!world.restore) return stage === 'New' ? { kind: 'create-restore' } : { kind: 'fail', message: `the Velero Restore ${request.scratchNamespace} is gone` };

  if (stage === 'New' || stage === 'Restoring') {
    // The data is there once every copied volume has a Completed PodVolumeRestore, whatever the
    // Restore's phase: a pod with post-restore exec hooks (the MariaDB profile's) keeps the Restore
    // InProgress for ever here, because its containers never start and a hook without waitTimeout
    // waits indefinitely (internal/hook/wait_exec_hook_handler.go L92-98, L262-275); deleting the
    // pods ends that wait (L196-199), which the Starting stage does.
    const phase = world.restore.status.phase ?? '';
    const unfinished = isUnfinishedRestore(world.restore);
    const restored = new Map(world.restoreVolumes.map((v) => [`${v.spec.pod.name}\u0000${v.spec.volume}`, v]));
    const phaseOf = (v: PodVolumeBackupView): string => restored.get(`${v.spec.pod.name}\u0000${v.spec.volume}`)?.status.phase ?? '';
    const unwritten = copied.filter((v) => phaseOf(v) !== 'Completed');
    const broken = copied.filter((v) => phaseOf(v) === 'Failed');
    const names = (list: readonly PodVolumeBackupView[]): string => list.map((v) => v.spec.claimName ?? v.spec.volume).join(', ');
    if (broken.length > 0) return { kind: 'fail', message: `Velero could not write ${names(broken)}` };
    if ((!unfinished && unwritten.length > 0) || phase === 'Failed' || phase === 'FailedValidation') {
      return { kind: 'fail', message: `Velero ended the restore ${phase || 'New'}${world.restore.status.failureReason ? `: ${world.restore.status.failureReason}` : ''}${unwritten.length > 0 ? `; not written: ${names(unwritten)}` : ''}` };
    }
    if (unwritten.length > 0) {
      return stage === 'Restoring' ? recheck : { kind: 'advance', stage: 'Restoring', message: `Velero is restoring backup ${request.backupName} into ${request.scratchNamespace}` };
    }
    const volumes = [...new Set(copied.map((v) => v.spec.claimName).filter((c): c is string => c !== undefined))].sort();
    return { kind: 'advance', stage: 'Starting', message: `Velero wrote ${volumes.length} volume${volumes.length === 1 ? '' : 's'}; starting the download holder`, volumes, missing };
  }

  // Starting.
  if (world.restoredPods.length > 0) return { kind: 'delete-pods', pods: world.restoredPods.map(({ name, uid }) => ({ name, uid })) };
  if (!world.secretFingerprint) return { kind: 'create-secret' };
  if (!world.holder) return { kind: 'create-holder', claims: record.progress?.volumes ?? [] };
  if (world.holder.phase === 'Failed' || world.holder.phase === 'Succeeded') return { kind: 'fail', message: `the download holder pod ended (${world.holder.phase}) before it served` };
  if (world.holder.phase !== 'Running' || !world.holder.podIP) return recheck;
  return {
    kind: 'advance',
    stage: 'Ready',
    message: 'the download holder serves the archive',
    ...(record.progress?.volumes ? { volumes: record.progress.volumes } : {}),
    ...(record.progress?.missing ? { missing: record.progress.missing } : {}),
    holder: { ip: world.holder.podIP, port: SERVE_ARCHIVE_PORT, fingerprint: world.secretFingerprint },
  };
}

/** Scratch namespaces (by their label's record name) whose record is gone: the sweep deletes them (an API or controller killed mid-way). */
export function orphanScratchNamespaces(namespaces: readonly { name: string; record: string; terminating: boolean }[], records: ReadonlySet<string>): string[] {
  // The label alone is a claim anyone who may label a namespace can make: only a namespace also named
  // as the API names scratch namespaces is ever deleted, so a labelled tenant env is left alone.
  return namespaces.filter((ns) => ns.name.startsWith(SCRATCH_NAMESPACE_PREFIX) && !ns.terminating && !records.has(ns.record)).map((ns) => ns.name);
}
