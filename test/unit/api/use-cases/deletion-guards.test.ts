import { ApiError } from '../../../../src/api/api-error.js';
import { refuseReadOnlyLocation, refuseWhileRestoring } from '../../../../src/api/use-cases/deletion-guards.js';
import { restoreRequestObject, type RestoreStage } from '../../../../src/restore/restore-request.js';
import type { VeleroCache, VeleroStore } from '../../../../src/velero/velero-ports.js';
import { viewBackupStorageLocation } from '../../../../src/velero/velero-views.js';

// Deleting a backup makes Velero v1.11.1 delete every Restore whose spec.backupName is that backup,
// whatever its phase (pkg/controller/backup_deletion_controller.go L324-351); a ReadOnly location
// fails every backup's validation (backup_controller.go L394-397) and refuses deletions
// (backup_deletion_controller.go L199-206). The API answers 409 before it creates anything.

const restore = (name: string, backupName: string, phase?: string): Record<string, unknown> => ({
  metadata: { name, namespace: 'velero', uid: `u-${name}`, labels: {} },
  spec: { backupName },
  status: phase === undefined ? {} : { phase },
});
const request = (name: string, backupName: string, stage?: RestoreStage): Record<string, unknown> => {
  const object = restoreRequestObject(name, {
    restoreName: `${name}-restore`,
    component: { namespace: 'acme-prod', serviceId: 'a'.repeat(32), serviceAlias: 'gr0a1b2c' },
    backupName,
    operator: 'alice',
    requestedAt: '2026-12-10T00:00:00Z',
  }) as { metadata: Record<string, unknown>; data: Record<string, string> };
  if (stage) object.data.progress = JSON.stringify({ stage, message: '', since: '2026-12-10T00:00:00Z' });
  return object;
};
function deps(restores: unknown[], records: unknown[]) {
  const lists: string[] = [];
  return {
    lists,
    store: { list: (resource: string, selector: string) => (lists.push(`${resource}?${selector}`), Promise.resolve(restores)) } as unknown as VeleroStore,
    restoreRequests: { list: (selector: string) => (lists.push(`records?${selector}`), Promise.resolve(records)), create: () => Promise.reject(new Error('unused')), get: () => Promise.resolve(undefined), remove: () => Promise.resolve(false) },
  };
}
async function refusal(work: Promise<void>): Promise<ApiError | undefined> {
  try {
    await work;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
}

test('a Velero Restore of the backup that has not finished refuses the deletion with 409, naming it; every Restore in Velero\'s namespace counts', async () => {
  const d = deps([restore('mine-done', 'b-1', 'Completed'), restore('theirs', 'b-1', 'InProgress')], []);
  const err = await refusal(refuseWhileRestoring(d, 'b-1'));
  expect(err).toMatchObject({ status: 409, code: 'backup_being_restored' });
  expect(err?.message).toBe('backup b-1 is being restored by Restore theirs (InProgress): Velero deletes every Restore of a backup it deletes; delete it once the restore has finished');
  // Velero deletes Restores by spec.backupName (they carry no backup label): all of them are listed.
  expect(d.lists).toContain('restores?');
  // A Restore Velero has not picked up (no phase) is unfinished too.
  expect(await refusal(refuseWhileRestoring(deps([restore('new', 'b-1')], []), 'b-1'))).toMatchObject({ status: 409 });
});

test('a restore request of ours that has not finished refuses it too, though no Velero Restore exists yet', async () => {
  const err = await refusal(refuseWhileRestoring(deps([], [request('restore-r1', 'b-1', 'ReplacingVolumes')]), 'b-1'));
  expect(err).toMatchObject({ status: 409, code: 'backup_being_restored' });
  expect(err?.message).toBe('backup b-1 is being restored by restore restore-r1-restore (ReplacingVolumes): delete it once the restore has finished');
  expect(await refusal(refuseWhileRestoring(deps([], [request('restore-r2', 'b-1')]), 'b-1'))).toMatchObject({ status: 409 });
});

test('finished restores, and unfinished ones of other backups, refuse nothing', async () => {
  const d = deps([restore('done', 'b-1', 'Completed'), restore('failed', 'b-1', 'PartiallyFailed'), restore('other', 'b-2', 'InProgress')], [request('r-done', 'b-1', 'Completed'), request('r-failed', 'b-1', 'Failed'), request('r-other', 'b-2', 'Restoring')]);
  expect(await refusal(refuseWhileRestoring(d, 'b-1'))).toBeUndefined();
});

test('a ReadOnly location refuses new backups and deletions with 409, naming the location and its mode', () => {
  const cache = (accessMode?: string): Pick<VeleroCache, 'storageLocation'> => ({
    storageLocation: (name) => viewBackupStorageLocation({ metadata: { name }, spec: accessMode ? { accessMode } : {}, status: { phase: 'Available' } }),
  });
  const settings = { veleroNamespace: 'velero', storageLocation: 'default', downloadTimeoutMs: 0, downloadPollMs: 0, holderStartTimeoutMs: 0, atRestPollMs: 0 };
  let thrown: unknown;
  try {
    refuseReadOnlyLocation({ cache: cache('ReadOnly') as VeleroCache, settings }, 'archive', 'deleting a backup');
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toMatchObject({ status: 409, code: 'storage_location_read_only' });
  expect((thrown as Error).message).toMatch(/^BackupStorageLocation velero\/archive has accessMode ReadOnly: Velero refuses to delete its backups/);
  expect(() => refuseReadOnlyLocation({ cache: cache() as VeleroCache, settings }, 'default', 'a new backup')).not.toThrow();
});
