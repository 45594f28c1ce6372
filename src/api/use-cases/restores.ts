import { conflict, notFound } from '../api-error.js';
import { liveRestoresOf } from '../../velero/live-component-objects.js';
import type { Component } from '../../components/component.js';
import { restoreBlocker } from '../../components/component-state.js';
import { holderPodName } from '../../holder/holder-pod.js';
import { isRestorable, isUnfinishedRestore } from '../../velero/backup-phases.js';
import { restoreName } from '../../velero/object-names.js';
import { buildRestore } from '../../velero/restore-object.js';
import { viewRestore, type RestoreView } from '../../velero/velero-views.js';
import { restoreComponent } from '../../velero/velero-scope.js';
import { restoreRecord, type RestoreRecord } from '../records/restore-record.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { newestFirst, ownBackup, page, type Created, type RecordPage } from './backups.js';
import { requireVelero } from './component-context.js';
import { createNamed } from './create-named.js';
import { earlierTry, idempotencyOf } from './idempotency.js';

export interface CreateRestoreRequest {
  backupId: string;
  operator: string;
  serviceId?: string;
  idempotencyKey?: string;
  body: unknown;
}

function recordOf(deps: BackupApiDeps, restore: RestoreView): RestoreRecord {
  return restoreRecord(restore, deps.cache.podVolumeRestoresOf(restore.metadata.name));
}

/**
 * POST …/restore: only into a stopped component (Velero recreates its pods
 * and writes the volumes through them), from one of its own restorable
 * backups, and one restore at a time, checked and created under the
 * component's lock like backups.
 */
export async function createRestore(deps: BackupApiDeps, component: Component, request: CreateRestoreRequest): Promise<Created<RestoreRecord>> {
  requireVelero(deps);
  // Never a backup of another namespace: ownBackup checks its scope, not only its label.
  const backup = await ownBackup(deps, component.key, request.backupId);
  const idempotency = idempotencyOf(request.idempotencyKey, 'POST restore', component.key, request.body);
  return deps.lock.withLock(component.key, async () => {
    const existing = await liveRestoresOf(deps.store, component.key, (name) => deps.cache.backup(name));
    const earlier = earlierTry(existing, idempotency);
    if (earlier) return { value: recordOf(deps, earlier), replayed: true };
    const blocker = restoreBlocker(component);
    if (blocker) throw conflict(blocker, 'component_running');
    if (!isRestorable(backup, deps.cache.podVolumeBackupsOf(backup.metadata.name))) {
      throw conflict(`backup ${backup.metadata.name} is not restorable: it is ${backup.status.phase || 'New'}${backup.status.phase === 'Completed' ? ' but holds no volume data' : ''}`, 'backup_not_restorable');
    }
    // A holder pod still up (a backup of the stopped component running, or the
    // last restore's, not yet swept) has the name Velero would restore the
    // backup's holder under: Velero would skip that pod as existing and write
    // no volume data. Wait until it is gone.
    const holder = await deps.holderPods.get(component.namespace, holderPodName(component.serviceId));
    if (holder) {
      throw conflict(
        `component ${component.ref.serviceAlias} has holder pod ${component.namespace}/${holder.name} (for ${holder.restoreName ? `restore ${holder.restoreName}` : `backup ${holder.backupName}`}) still up: wait for it to go, then restore`,
        'holder_present',
      );
    }
    const unfinished = existing.find(isUnfinishedRestore);
    if (unfinished) {
      throw conflict(`component ${component.ref.serviceAlias} already has an unfinished restore ${unfinished.metadata.name} (${unfinished.status.phase || 'New'}): wait for it to finish`, 'restore_in_progress');
    }
    const created = await createNamed(deps, (random) =>
      buildRestore({
        name: restoreName(component.serviceId, deps.now(), random),
        veleroNamespace: deps.settings.veleroNamespace,
        component,
        backup,
        operator: request.operator,
        ...(idempotency ? { idempotencyKey: idempotency.key, requestDigest: idempotency.digest } : {}),
      }),
    );
    deps.cache.remember('restores', created);
    const view = viewRestore(created);
    if (!view) throw new Error('the API server answered the Restore create with no object');
    return { value: recordOf(deps, view), replayed: false };
  });
}

export function listRestoreRecords(deps: BackupApiDeps, component: Component, limit?: number, continueToken?: string): RecordPage<RestoreRecord> {
  requireVelero(deps);
  const sorted = [...deps.cache.restoresOf(component.key)].sort(newestFirst);
  const { items, next } = page(sorted, limit, continueToken);
  return { items: items.map((restore) => recordOf(deps, restore)), ...(next ? { continueToken: next } : {}) };
}

/** DELETE …/restore/{id}: removes the Restore record (its PodVolumeRestores go with it, by owner reference); restored data stays. */
export async function deleteRestore(deps: BackupApiDeps, component: Component, restoreId: string): Promise<void> {
  requireVelero(deps);
  const restore = deps.cache.restore(restoreId) ?? viewRestore(await deps.store.get('restores', restoreId));
  if (!restore || restoreComponent(restore, (name) => deps.cache.backup(name)) !== component.key) throw notFound(`restore ${restoreId} not found for this component`);
  if (isUnfinishedRestore(restore)) throw conflict(`restore ${restoreId} is still ${restore.status.phase || 'New'}: wait for it to finish`, 'restore_in_progress');
  await deps.store.remove('restores', restoreId);
  deps.cache.forget('restores', restoreId);
}
