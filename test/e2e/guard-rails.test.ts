import { jest } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, VELERO_NAMESPACE as VELERO, type BackupApiTestbed, type VeleroObjectJson } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { startVeleroStandIn, type VeleroStandIn } from './support/velero-stand-in.js';
import { eventually } from './support/wait.js';
import type { WutongComponent } from './support/wutong-component.js';

jest.setTimeout(300_000);

// The guard rails Velero v1.11.1 needs, through the backup API and the
// controller on the testbed (the shipped installation, the Velero stand-in):
// - deleting a backup makes Velero delete every Restore that reads it,
//   whatever its phase (pkg/controller/backup_deletion_controller.go
//   L324-351): the API refuses while one has not finished;
// - a ReadOnly location fails every backup's validation (backup_controller.go
//   L394-397), refuses deletions (backup_deletion_controller.go L184-206) and
//   stops expiry (gc_controller.go L150-157): the API refuses both, retention
//   pauses with a Warning;
// - a location Velero has not validated for BSL_VALIDATION_MAX_AGE (Velero not
//   running: backup_storage_location_controller.go L125-144 writes
//   lastValidationTime on every validation) is unavailable;
// - a failed deletion leaves the Backup in Deleting for good (L228-236,
//   L366-371): records say so, retention asks again with backoff.

const info = clusterInfo();
const SERVICE_ID = 'feed0000feed0000feed0000feed0000';
let testbed: BackupApiTestbed;
let velero: VeleroStandIn;
let component: WutongComponent;
let core: CoreV1Api;
/** A stand-in this file started itself (after stopping the testbed's): stopped at the end. */
let ownVelero: VeleroStandIn | undefined;

const veleroPath = (resource: string, name?: string): string => `/apis/velero.io/v1/namespaces/${VELERO}/${resource}${name ? `/${name}` : ''}`;

async function create(resource: string, body: Record<string, unknown>): Promise<VeleroObjectJson & { metadata: { uid: string } }> {
  const res = await apiRequest(info, 'POST', veleroPath(resource), { apiVersion: 'velero.io/v1', ...body });
  if (res.status !== 201) throw new Error(`creating ${resource}: ${res.status} ${res.body.slice(0, 300)}`);
  return res.json as VeleroObjectJson & { metadata: { uid: string } };
}
async function mergePatch(resource: string, name: string, patch: Record<string, unknown>): Promise<void> {
  const res = await apiRequest(info, 'PATCH', veleroPath(resource, name), patch, 'application/merge-patch+json');
  if (res.status !== 200) throw new Error(`patching ${resource}/${name}: ${res.status} ${res.body.slice(0, 300)}`);
}
async function read(resource: string, name: string): Promise<(VeleroObjectJson & { status?: Record<string, unknown> }) | undefined> {
  const res = await apiRequest(info, 'GET', veleroPath(resource, name));
  return res.status === 200 ? (res.json as VeleroObjectJson & { status?: Record<string, unknown> }) : undefined;
}
const kubeTime = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let seeded = 0;
/** A Completed Backup of the component with one PodVolumeBackup (restorable), as Velero leaves one, in `location`. */
async function seedBackup(location = 'default', completedAgoMs = 60_000): Promise<string> {
  const name = `${SERVICE_ID}-backup-2026120${seeded}030000-a${String(seeded).padStart(3, '0')}`;
  seeded++;
  const backup = await create('backups', {
    kind: 'Backup',
    metadata: { name, labels: { 'wutong.io/service_id': SERVICE_ID, 'velero.io/storage-location': location } },
    spec: { storageLocation: location, ttl: '720h0m0s', includedNamespaces: [component.namespace], labelSelector: { matchLabels: { service_id: SERVICE_ID } } },
    status: { phase: 'Completed', startTimestamp: kubeTime(Date.now() - completedAgoMs - 60_000), completionTimestamp: kubeTime(Date.now() - completedAgoMs), expiration: kubeTime(Date.now() + 86_400_000) },
  });
  await create('podvolumebackups', {
    kind: 'PodVolumeBackup',
    metadata: {
      name: `${name}-pvb`,
      labels: { 'velero.io/backup-name': name, 'velero.io/backup-uid': backup.metadata.uid },
      ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Backup', name, uid: backup.metadata.uid, controller: true }],
    },
    spec: { volume: 'data', pod: { kind: 'Pod', name: `${component.alias}-0`, namespace: component.namespace }, node: 'n', backupStorageLocation: location, repoIdentifier: 'r', uploaderType: 'restic' },
    status: { phase: 'Completed', progress: { totalBytes: 1000, bytesDone: 1000 } },
  });
  return name;
}
const requestsFor = async (backup: string): Promise<VeleroObjectJson[]> => (await testbed.veleroObjects('deletebackuprequests')).filter((r) => r.spec.backupName === backup);
const componentBackups = async (): Promise<string[]> => (await testbed.veleroObjects('backups', `wutong.io/service_id=${SERVICE_ID}`)).map((b) => b.metadata.name).sort();
const errorOf = (json: unknown): { msg?: string; code?: string } => json as { msg?: string; code?: string };

beforeAll(async () => {
  testbed = await startBackupApiTestbed({
    suite: 'guard-rails',
    serviceId: SERVICE_ID,
    alias: 'gr9a9a9a',
    replicaCount: 1,
    // Short retries of a stuck deletion, so the test sees several.
    replicaEnv: { DELETION_RETRY_BASE: '2s', DELETION_RETRY_MAX: '4s' },
  });
  ({ velero, component, core } = testbed);
});

afterAll(async () => {
  await ownVelero?.stop();
  await testbed?.stop();
});

test('DELETE of a backup an unfinished Restore reads: 409 naming the restore, and no DeleteBackupRequest; once the restore finished, 202', async () => {
  const backup = await seedBackup();
  const restore = `${SERVICE_ID}-restore-20261207120000-ab12`;
  // Velero is in the middle of it (the stand-in starts only restores with no phase; v1.11.1's CRDs keep a status written on create).
  await create('restores', { kind: 'Restore', metadata: { name: restore, labels: { 'wutong.io/service_id': SERVICE_ID } }, spec: { backupName: backup }, status: { phase: 'InProgress' } });
  await eventually(async () => ((await testbed.call('GET', `${component.path}/backup/records`)).text.includes(backup) ? true : undefined), 'the backup in records', 30_000);

  const refused = await testbed.call('DELETE', `${component.path}/backup/${backup}`);
  expect(refused.status).toBe(409);
  expect(errorOf(refused.json)).toEqual({
    msg: `backup ${backup} is being restored by Restore ${restore} (InProgress): Velero deletes every Restore of a backup it deletes; delete it once the restore has finished`,
    code: 'backup_being_restored',
  });
  await sleep(1_000);
  expect(await requestsFor(backup)).toEqual([]);
  expect((await read('restores', restore))?.status?.phase).toBe('InProgress');

  await mergePatch('restores', restore, { status: { phase: 'Completed', completionTimestamp: kubeTime() } });
  const accepted = await testbed.call('DELETE', `${component.path}/backup/${backup}`);
  expect(accepted.status).toBe(202);
  // Velero deletes the backup and, with it, the (finished) Restore that read it.
  await eventually(async () => ((await read('backups', backup)) === undefined && (await read('restores', restore)) === undefined ? true : undefined), 'the backup and its restore gone', 60_000);
});

test('a ReadOnly location: POST backup and DELETE answer 409 naming it and its mode, nothing is created; retention pauses with one Warning, and resumes', async () => {
  const older = await seedBackup('default', 3 * 60_000);
  const newer = await seedBackup('default', 2 * 60_000);
  const backupsBefore = await componentBackups();
  await mergePatch('backupstoragelocations', 'default', { spec: { accessMode: 'ReadOnly' } });
  try {
    // The API's watch of the location carries the change in milliseconds; a create before it would be a real Backup.
    await sleep(2_000);
    const post = await testbed.call('POST', `${component.path}/backup`, { body: { desc: 'into a read-only location', operator: 'alice' } });
    expect(post.status).toBe(409);
    expect(errorOf(post.json).code).toBe('storage_location_read_only');
    expect(errorOf(post.json).msg).toBe(
      `BackupStorageLocation ${VELERO}/default has accessMode ReadOnly: Velero fails every new backup there in validation (v1.11.1 backup_controller.go L394-397); set spec.accessMode to ReadWrite to allow a new backup`,
    );
    const del = await testbed.call('DELETE', `${component.path}/backup/${older}`);
    expect(del.status).toBe(409);
    expect(errorOf(del.json)).toMatchObject({ code: 'storage_location_read_only', msg: expect.stringMatching(new RegExp(`^BackupStorageLocation ${VELERO}/default has accessMode ReadOnly: Velero refuses to delete its backups`)) as unknown });
    expect(await componentBackups()).toEqual(backupsBefore);
    expect(await requestsFor(older)).toEqual([]);

    // A Schedule that keeps 1: retention would delete `older`, but Velero would refuse.
    await create('schedules', {
      kind: 'Schedule',
      metadata: { name: `${SERVICE_ID}-schedule`, labels: { 'wutong.io/service_id': SERVICE_ID, 'backup.wutong.io/schedule-source': 'api' }, annotations: { 'backup.wutong.io/keep': '1' } },
      spec: { schedule: '0 3 1 1 *', paused: true, template: { includedNamespaces: [component.namespace], storageLocation: 'default', ttl: '720h0m0s' } },
    });
    const warning = await eventually(async () => {
      const events = await core.listNamespacedEvent({ namespace: component.namespace, fieldSelector: 'reason=RetentionPaused' });
      return events.items.length > 0 ? events.items : undefined;
    }, 'a RetentionPaused Warning', 60_000);
    expect(warning[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'StatefulSet', name: component.alias } });
    expect(warning[0]?.message).toMatch(new RegExp(`^retention paused: BackupStorageLocation ${VELERO}/default has accessMode ReadOnly: Velero neither deletes nor expires its backups`));
    // Later passes (a change to the component's Velero objects triggers one) warn no more and delete nothing.
    await mergePatch('schedules', `${SERVICE_ID}-schedule`, { metadata: { annotations: { 'wutong.io/desc': 'touched' } } });
    await sleep(3_000);
    expect((await core.listNamespacedEvent({ namespace: component.namespace, fieldSelector: 'reason=RetentionPaused' })).items.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(1);
    expect(await requestsFor(older)).toEqual([]);
  } finally {
    await mergePatch('backupstoragelocations', 'default', { spec: { accessMode: 'ReadWrite' } });
  }
  // ReadWrite again: retention goes on (the next pass it is triggered into) and Velero deletes `older`.
  await mergePatch('schedules', `${SERVICE_ID}-schedule`, { metadata: { annotations: { 'wutong.io/desc': 'read-write again' } } });
  await eventually(async () => ((await read('backups', older)) === undefined ? true : undefined), `${older} pruned once the location is ReadWrite`, 60_000);
  expect(await read('backups', newer)).toBeDefined();
  await apiRequest(info, 'DELETE', veleroPath('schedules', `${SERVICE_ID}-schedule`));
});

test('a deletion Velero failed leaves the backup Deleting: records say why, the controller asks again with backoff until it succeeds', async () => {
  await velero.setStorageLocation('offline', 'Available');
  const backup = await seedBackup('offline');
  await velero.setStorageLocation('offline', 'Unavailable');
  await eventually(async () => ((await testbed.call('GET', `${component.path}/backup/records`)).text.includes(backup) ? true : undefined), 'the backup in records', 30_000);
  const accepted = await testbed.call('DELETE', `${component.path}/backup/${backup}`);
  expect(accepted.status).toBe(202);

  const recordOf = async (): Promise<{ status: string; failure_reason: string; restorable: boolean } | undefined> =>
    ((await testbed.call('GET', `${component.path}/backup/records`)).json as { list: { backup_id: string; status: string; failure_reason: string; restorable: boolean }[] }).list.find((r) => r.backup_id === backup);
  const stuck = await eventually(async () => {
    const record = await recordOf();
    return record?.failure_reason.startsWith('deletion failed:') ? record : undefined;
  }, 'the record to say the deletion failed', 60_000);
  expect(stuck.status).toBe('Deleting');
  expect(stuck.restorable).toBe(false);
  expect(stuck.failure_reason).toContain(`error deleting backup ${backup} from backup storage: stand-in: BackupStorageLocation "offline" is Unavailable`);
  expect(stuck.failure_reason).toMatch(/the controller retries it with backoff$/);

  // Retried (2 s, then 4 s apart): the attempts are counted on the Backup, and the record shows them.
  const attempts = async (): Promise<number> => {
    const text = (await read('backups', backup))?.metadata.annotations?.['backup.wutong.io/deletion-retry'];
    return text ? (JSON.parse(text) as { attempts: number }).attempts : 0;
  };
  await eventually(async () => ((await attempts()) >= 2 ? true : undefined), 'two retries', 60_000, 500);
  expect((await read('backups', backup))?.status?.phase).toBe('Deleting');
  await eventually(async () => ((await recordOf())?.failure_reason.match(/retried \d+ times?, last at/) ? true : undefined), 'the record to count the retries', 30_000);
  const retried = await core.listNamespacedEvent({ namespace: component.namespace, fieldSelector: 'reason=DeletionRetried' });
  expect(retried.items[0]?.message).toMatch(new RegExp(`^backup ${backup} stuck in Deleting \\(error deleting backup ${backup} from backup storage: .*\\): asked Velero again, attempt \\d+$`));

  // The store is back: the next retry deletes it.
  await velero.setStorageLocation('offline', 'Available');
  await eventually(async () => ((await read('backups', backup)) === undefined ? true : undefined), 'the backup deleted by a retry', 60_000);
  await eventually(async () => ((await recordOf()) === undefined ? true : undefined), 'the record gone', 30_000);
});

test('Velero not running: a location whose lastValidationTime is older than BSL_VALIDATION_MAX_AGE is unavailable (503 naming why), whatever its phase; Velero back, 200', async () => {
  await velero.stop();
  // What five missed validations leave behind: the last phase Velero wrote, and its time.
  await mergePatch('backupstoragelocations', 'default', { status: { phase: 'Available', lastValidationTime: kubeTime(Date.now() - 10 * 60_000) } });
  const refused = await eventually(async () => {
    const answer = await testbed.call('GET', `${component.path}/backup/records`);
    return answer.status === 503 ? answer : undefined;
  }, 'a 503 for the stale location', 30_000);
  expect(errorOf(refused.json).code).toBe('velero_unavailable');
  expect(errorOf(refused.json).msg).toMatch(new RegExp(`^BackupStorageLocation ${VELERO}/default was last validated (10m|6\\d\\ds) ago \\(more than 5m\\): no Velero server is validating it, so it is unavailable, not Available$`));
  const post = await testbed.call('POST', `${component.path}/backup`, { body: { desc: 'with no Velero', operator: 'alice' } });
  expect(post.status).toBe(503);

  // Velero starts again: its first validation is due at once (IsReadyToValidate), and the API answers.
  ownVelero = await startVeleroStandIn(info, { namespace: VELERO, timeScale: 60, stepMs: 100 });
  await ownVelero.setStorageLocation('default', 'Available');
  await eventually(async () => ((await testbed.call('GET', `${component.path}/backup/records`)).status === 200 ? true : undefined), 'records again once Velero validated the location', 30_000);
});
