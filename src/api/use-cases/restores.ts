import { ApiError, conflict, notFound } from '../api-error.js';
import { liveRestoresOf } from '../../velero/live-component-objects.js';
import type { Component } from '../../components/component.js';
import { restoreBlocker } from '../../components/component-state.js';
import { buildBackup } from '../../velero/backup-object.js';
import { isRestorable, isUnfinishedRestore } from '../../velero/backup-phases.js';
import { DEFAULT_BACKUP_TTL } from '../../velero/backup-ttl.js';
import { restoreName, safetyBackupName } from '../../velero/object-names.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';
import { viewRestore, type RestoreView } from '../../velero/velero-views.js';
import { restoreComponent } from '../../velero/velero-scope.js';
import {
  isFinalStage,
  readRestoreRequest,
  RESTORE_REQUEST_LABEL,
  restoreRequestName,
  restoreRequestObject,
  stageOf,
  type RestoreRequest,
  type RestoreRequestRecord,
} from '../../restore/restore-request.js';
import { restoreRecord, type RestoreRecord } from '../records/restore-record.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { newestFirst, ownBackup, page, type Created, type RecordPage } from './backups.js';
import { requireVelero } from './component-context.js';
import { earlierTry, idempotencyOf, type Idempotency } from './idempotency.js';

export interface CreateRestoreRequest {
  backupId: string;
  operator: string;
  serviceId?: string;
  /** false: replace the data without backing it up first (the request's `safety_backup`); default true. */
  safetyBackup?: boolean;
  idempotencyKey?: string;
  body: unknown;
}

function recordOf(deps: BackupApiDeps, restore: RestoreView | undefined, request?: RestoreRequestRecord): RestoreRecord {
  const name = request?.request?.restoreName ?? restore?.metadata.name ?? '';
  return restoreRecord(restore, deps.cache.podVolumeRestoresOf(name), request);
}

/** A record read back from the cluster that belongs to this component (records are ours, but their names are not). */
function ownRequest(component: Component, raw: unknown): RestoreRequestRecord | undefined {
  const record = readRestoreRequest(raw);
  const asked = record?.request;
  return asked && asked.component.namespace === component.namespace && asked.component.serviceId === component.serviceId ? record : undefined;
}

function replayOf(deps: BackupApiDeps, record: RestoreRequestRecord, idempotency: Idempotency): Created<RestoreRecord> {
  if (record.request?.requestDigest !== idempotency.digest) {
    throw new ApiError(422, 'this Idempotency-Key was already used with a different request body', 'idempotency_key_reused', 'Idempotency-Key');
  }
  return { value: recordOf(deps, deps.cache.restore(record.request.restoreName), record), replayed: true };
}

/**
 * POST …/restore: a restore that replaces the stopped component's data with
 * the backup's (src/restore/). The API checks what it can see (the
 * component stopped, the backup its own and restorable, no other restore
 * unfinished) under the component's lock, then writes the request record;
 * the controller carries it out: safety backup, PVCs replaced, Velero
 * Restore, verdict. The answer is the new record, stage New.
 */
export async function createRestore(deps: BackupApiDeps, component: Component, request: CreateRestoreRequest): Promise<Created<RestoreRecord>> {
  requireVelero(deps);
  // Never a backup of another namespace: ownBackup checks its scope, not only its label.
  const backup = await ownBackup(deps, component.key, request.backupId);
  const idempotency = idempotencyOf(request.idempotencyKey, 'POST restore', component.key, request.body);
  return deps.lock.withLock(component.key, async () => {
    if (idempotency) {
      // The first try's record (named after the key), or, once that is swept, its Restore.
      const first = ownRequest(component, await deps.restoreRequests.get(restoreRequestName('', idempotency.key)));
      if (first) return replayOf(deps, first, idempotency);
      const earlier = earlierTry(await liveRestoresOf(deps.store, component.key, (name) => deps.cache.backup(name)), idempotency);
      if (earlier) return { value: recordOf(deps, earlier), replayed: true };
    }
    const blocker = restoreBlocker(component);
    if (blocker) throw conflict(blocker, 'component_running');
    if (!isRestorable(backup, deps.cache.podVolumeBackupsOf(backup.metadata.name))) {
      throw conflict(`backup ${backup.metadata.name} is not restorable: it is ${backup.status.phase || 'New'}${backup.status.phase === 'Completed' ? ' but holds no volume data' : ''}`, 'backup_not_restorable');
    }
    // One restore at a time, read live: a request another replica wrote a moment ago counts.
    const requests = (await deps.restoreRequests.list(`${RESTORE_REQUEST_LABEL}=true,${VELERO_LABEL.serviceId}=${component.serviceId}`))
      .map((raw) => ownRequest(component, raw))
      .filter((r): r is RestoreRequestRecord => r !== undefined);
    const pending = requests.find((r) => !isFinalStage(stageOf(r)));
    if (pending) {
      throw conflict(`component ${component.ref.serviceAlias} already has an unfinished restore ${pending.request?.restoreName ?? pending.name} (${stageOf(pending)}): wait for it to finish`, 'restore_in_progress');
    }
    const unfinished = (await liveRestoresOf(deps.store, component.key, (name) => deps.cache.backup(name))).find(isUnfinishedRestore);
    if (unfinished) {
      throw conflict(`component ${component.ref.serviceAlias} already has an unfinished restore ${unfinished.metadata.name} (${unfinished.status.phase || 'New'}): wait for it to finish`, 'restore_in_progress');
    }
    const now = deps.now();
    const random = deps.random();
    const name = restoreName(component.serviceId, now, random);
    const safety = request.safetyBackup === false
      ? undefined
      : buildBackup({
          name: safetyBackupName(component.serviceId, now, random),
          veleroNamespace: deps.settings.veleroNamespace,
          storageLocation: deps.settings.storageLocation,
          serviceId: component.serviceId,
          componentNamespace: component.namespace,
          ttl: DEFAULT_BACKUP_TTL,
          desc: `safety backup: the data restore ${name} replaced`,
          operator: request.operator,
        });
    if (safety) safety.metadata.annotations = { ...safety.metadata.annotations, [VELERO_ANNOTATION.safetyFor]: name };
    const asked: RestoreRequest = {
      restoreName: name,
      component: { namespace: component.namespace, serviceId: component.serviceId, serviceAlias: component.ref.serviceAlias },
      backupName: backup.metadata.name,
      operator: request.operator,
      ...(safety ? { safetyBackup: safety } : {}),
      requestedAt: now.toISOString(),
      ...(idempotency ? { idempotencyKey: idempotency.key, requestDigest: idempotency.digest } : {}),
    };
    const recordName = restoreRequestName(name, idempotency?.key);
    if ((await deps.restoreRequests.create(restoreRequestObject(recordName, asked))) === 'exists' && idempotency) {
      // A retry on another replica wrote it a moment ago.
      const first = ownRequest(component, await deps.restoreRequests.get(recordName));
      if (first) return replayOf(deps, first, idempotency);
    }
    const record: RestoreRequestRecord = { name: recordName, uid: '', resourceVersion: '', creationTimestamp: now.toISOString(), request: asked };
    return { value: recordOf(deps, undefined, record), replayed: false };
  });
}

/** Every restore of the component: its request records (the restores in progress, and finished ones for a while) and its Velero Restores. */
function restoresOf(deps: BackupApiDeps, component: Component): { sortKey: { metadata: { creationTimestamp: string; name: string } }; restore: RestoreView | undefined; request?: RestoreRequestRecord }[] {
  const requests = deps.restoreIndex.of(component.key);
  const byRestore = new Map(requests.map((r) => [r.request?.restoreName ?? '', r]));
  const rows: ReturnType<typeof restoresOf> = requests.map((request) => {
    const restoreId = request.request?.restoreName ?? '';
    return { sortKey: { metadata: { creationTimestamp: request.request?.requestedAt ?? request.creationTimestamp, name: restoreId } }, restore: deps.cache.restore(restoreId), request };
  });
  for (const restore of deps.cache.restoresOf(component.key)) {
    if (!byRestore.has(restore.metadata.name)) rows.push({ sortKey: restore, restore });
  }
  return rows;
}

export function listRestoreRecords(deps: BackupApiDeps, component: Component, limit?: number, continueToken?: string): RecordPage<RestoreRecord> {
  requireVelero(deps);
  const rows = restoresOf(deps, component);
  const sorted = rows.map((row) => ({ ...row, metadata: row.sortKey.metadata })).sort(newestFirst);
  const { items, next } = page(sorted, limit, continueToken);
  return { items: items.map((row) => recordOf(deps, row.restore, row.request)), ...(next ? { continueToken: next } : {}) };
}

/**
 * DELETE …/restore/{id}: removes the restore's record (its request record,
 * and its Velero Restore, whose PodVolumeRestores go with it by owner
 * reference); the restored data stays. Refused while the restore is under
 * way: a record cancelled after the PVCs were deleted would leave the
 * component with no data and no one to finish the job.
 */
export async function deleteRestore(deps: BackupApiDeps, component: Component, restoreId: string): Promise<void> {
  requireVelero(deps);
  const request = deps.restoreIndex.of(component.key).find((r) => r.request?.restoreName === restoreId);
  const restore = deps.cache.restore(restoreId) ?? viewRestore(await deps.store.get('restores', restoreId));
  const ownRestore = restore && restoreComponent(restore, (name) => deps.cache.backup(name)) === component.key ? restore : undefined;
  if (!request && !ownRestore) throw notFound(`restore ${restoreId} not found for this component`);
  if (request && !isFinalStage(stageOf(request))) throw conflict(`restore ${restoreId} is still ${stageOf(request)}: wait for it to finish`, 'restore_in_progress');
  if (ownRestore && isUnfinishedRestore(ownRestore)) throw conflict(`restore ${restoreId} is still ${ownRestore.status.phase || 'New'}: wait for it to finish`, 'restore_in_progress');
  if (ownRestore) {
    await deps.store.remove('restores', restoreId);
    deps.cache.forget('restores', restoreId);
  }
  if (request) await deps.restoreRequests.remove(request.name, request.uid);
}
