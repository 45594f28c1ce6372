import { jest } from '@jest/globals';
import { scheduleName } from '../../src/velero/object-names.js';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { apiRequest, installCrds, veleroCrdDir, waitForServiceAccountToken } from './cluster/cluster.js';
import type { ApiAnswer, CallOptions } from './support/backup-api-client.js';
import { startBackupApiTestbed, VELERO_NAMESPACE as VELERO, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';
import { clusterInfo } from './support/kube.js';
import { startVeleroStandIn, type VeleroStandIn } from './support/velero-stand-in.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { stopWutongComponent, type WutongComponent } from './support/wutong-component.js';

jest.setTimeout(240_000);

const info = clusterInfo();
let testbed: BackupApiTestbed;
let core: CoreV1Api;
let apps: AppsV1Api;
let replicas: WebhookProcess[];
let velero: VeleroStandIn;
/** The stand-in started again after Velero's CRDs were reinstalled (the testbed stops the first one). */
let restartedVelero: VeleroStandIn | undefined;
let namespace: string;
let strangerToken: string;
let component: WutongComponent;

/** As the console, on replica `replica` or round robin, as the console's Service would spread requests. */
const call = (method: string, path: string, options: CallOptions = {}, replica?: number): Promise<ApiAnswer> => testbed.call(method, path, options, replica);

interface Bean<T> {
  bean: T;
}
interface List<T> {
  list: T[];
}
interface BackupRecordJson {
  backup_id: string;
  status: string;
  mode: string;
  size: string;
  restorable: boolean;
  download_url: string;
  progress_rate: string;
  created_at: string;
}

const veleroObjects = (resource: string, labelSelector = ''): ReturnType<BackupApiTestbed['veleroObjects']> => testbed.veleroObjects(resource, labelSelector);

async function backupRecords(): Promise<BackupRecordJson[]> {
  const answer = await call('GET', `${component.path}/backup/records`);
  expect(answer.status).toBe(200);
  return (answer.json as List<BackupRecordJson>).list;
}

async function waitForBackup(id: string, status: string): Promise<BackupRecordJson> {
  return eventually(async () => (await backupRecords()).find((r) => r.backup_id === id && r.status === status), `backup ${id} ${status}`, 60_000);
}

// Field order of the region API's Go structs (api/model/component.go): Go writes them in that order.
const BACKUP_RECORD_FIELDS = ['backup_id', 'service_id', 'desc', 'ttl', 'mode', 'created_at', 'completed_at', 'expired_at', 'size', 'progress_rate', 'completed_items', 'total_items', 'scheduled', 'status', 'failure_reason', 'operator', 'restorable', 'download_url', 'data_state', 'volumes', 'partial'];
const RESTORE_RECORD_FIELDS = ['restore_id', 'backup_id', 'service_id', 'created_at', 'completed_at', 'size', 'progress_rate', 'completed_items', 'total_items', 'status', 'failure_reason', 'operator', 'stage', 'message', 'safety_backup_id'];

/** What Go's json.Encoder (go-chi/render) writes for a value: compact, <>& and U+2028/9 escaped, one newline. An oracle of its own, not the code under test. */
const goEncoded = (value: unknown): string => `${JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;

/** The answer is the region API's envelope byte for byte: `shape` names the envelope key and the record's field order. */
function expectRegionApiBytes(answer: ApiAnswer, shape: 'bean' | 'list', fields?: readonly string[]): void {
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  const value = JSON.parse(answer.text) as Record<string, unknown>;
  expect(answer.text).toBe(goEncoded(value));
  expect(Object.keys(value)[0]).toBe(shape);
  const records = shape === 'bean' ? [value.bean] : (value.list as unknown[]);
  if (fields) for (const record of records) expect(Object.keys(record as object)).toEqual(fields);
}

// A running Wutong component, the console bound to the example ClusterRole,
// two replicas of the shipped install, and the Velero stand-in
// (support/backup-api-testbed.ts); plus a ServiceAccount with no role.
beforeAll(async () => {
  testbed = await startBackupApiTestbed({ suite: 'backup-api', serviceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', alias: 'gr0a1b2c' });
  ({ core, apps, replicas, velero, component } = testbed);
  namespace = component.namespace;
  expect((await apiRequest(info, 'POST', `/api/v1/namespaces/${testbed.consoleNamespace}/serviceaccounts`, { metadata: { name: 'stranger' } })).status).toBe(201);
  strangerToken = await waitForServiceAccountToken(info, testbed.consoleNamespace, 'stranger');
});

afterAll(async () => {
  await restartedVelero?.stop();
  await testbed?.stop();
});

describe('authentication and authorization with real ServiceAccount tokens', () => {
  test('no token: 401; a garbage token: 401; a ServiceAccount without the role: 403; the console: 200', async () => {
    const path = `${component.path}/backup/records`;
    const none = await call('GET', path, { token: '' });
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ code: 'unauthenticated' });
    expect((await call('GET', path, { token: 'not-a-token' })).status).toBe(401);
    const stranger = await call('GET', path, { token: strangerToken });
    expect(stranger.status).toBe(403);
    expect((stranger.json as { msg: string }).msg).toMatch(/get.*componentbackups.*backup-api/);
    expect((await call('GET', path)).status).toBe(200);
  });
});

describe('the console envelope, byte for byte', () => {
  test('no schedule yet: {"bean":null}; no restores: {"list":[]}', async () => {
    expect((await call('GET', `${component.path}/backup/schedule`)).text).toBe('{"bean":null}\n');
    expect((await call('GET', `${component.path}/restore/records`)).text).toBe('{"list":[]}\n');
  });

  test('an unknown component: 404 {"msg"} naming it; a mismatched service_id: 400 validation_error', async () => {
    const unknown = await call('GET', `/v2/tenants/${testbed.component.tenant}/envs/${testbed.component.env}/services/nosuch/backup/records`);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe(`{"msg":"component ${component.tenant}/${component.env}/nosuch not found: no workload, pod or PVC in its namespace carries its alias","code":"not_found"}\n`);
    const mismatch = await call('POST', `${component.path}/backup`, { body: { desc: 'x', service_id: '00000000000000000000000000000000' } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toBe(
      `{"validation_error":{"service_id":["does not match the component: gr0a1b2c has service_id ${component.serviceId}"]},"code":"invalid_request","field":"service_id"}\n`,
    );
    expect(await veleroObjects('backups')).toEqual([]);
  });
});

describe('backups', () => {
  let first: string;

  test('50 concurrent backup requests over two replicas create exactly one Backup; the others get 409', async () => {
    velero.holdBackups(true);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call('POST', `${component.path}/backup`, { body: { desc: `try ${i}`, ttl: '7d', operator: 'alice' } }, i % 2)));
    const created = answers.filter((a) => a.status === 200);
    expect(created).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(49);
    expect((answers.find((a) => a.status === 409)!.json as { code: string }).code).toBe('backup_in_progress');
    const backups = await veleroObjects('backups', `wutong.io/service_id=${component.serviceId}`);
    expect(backups).toHaveLength(1);
    first = (created[0]!.json as Bean<BackupRecordJson>).bean.backup_id;
    expectRegionApiBytes(created[0]!, 'bean', BACKUP_RECORD_FIELDS);
    expect(backups[0]!.metadata.name).toBe(first);
    // The Backup as the issue and the region API specify it.
    expect(backups[0]!.metadata.labels).toMatchObject({ 'wutong.io/service_id': component.serviceId, 'wutong.io/backup-ttl': '7d', 'velero.io/storage-location': 'default' });
    expect(backups[0]!.metadata.annotations).toMatchObject({ 'wutong.io/creator': 'alice' });
    expect(backups[0]!.spec).toMatchObject({
      defaultVolumesToFsBackup: false,
      includedNamespaces: [namespace],
      labelSelector: { matchLabels: { service_id: component.serviceId } },
      storageLocation: 'default',
      ttl: '168h0m0s',
      csiSnapshotTimeout: '10m0s',
    });
    velero.holdBackups(false);
    const done = await waitForBackup(first, 'Completed');
    expect(done).toMatchObject({ mode: 'Manual', size: '83 MB', progress_rate: '100.00%', restorable: true });
    expect(done.download_url).toBe(`${component.path}/backup/${first}/download`);
    expect(done.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  test('a retried request with the same Idempotency-Key returns the original backup and creates nothing; another body with that key is 422', async () => {
    const headers = { 'idempotency-key': `console-${process.pid}-1` };
    const body = { desc: 'nightly <by hand> & checked', operator: 'bob' };
    const one = await call('POST', `${component.path}/backup`, { body, headers }, 0);
    expect(one.status).toBe(200);
    // Go's HTML escaping, as the console sees it from the region API.
    expect(one.text).toContain('"desc":"nightly \\u003cby hand\\u003e \\u0026 checked"');
    const id = (one.json as Bean<BackupRecordJson>).bean.backup_id;
    await waitForBackup(id, 'Completed');
    const again = await call('POST', `${component.path}/backup`, { body, headers }, 1);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((again.json as Bean<BackupRecordJson>).bean.backup_id).toBe(id);
    expect((await veleroObjects('backups', `wutong.io/service_id=${component.serviceId}`)).map((b) => b.metadata.name).sort()).toEqual([first, id].sort());
    const reused = await call('POST', `${component.path}/backup`, { body: { ...body, desc: 'other' }, headers });
    expect(reused.status).toBe(422);
  });

  test('records are newest first, served from the caches; pages with limit and continue', async () => {
    const records = await backupRecords();
    expect(records.length).toBeGreaterThanOrEqual(2);
    expectRegionApiBytes(await call('GET', `${component.path}/backup/records`), 'list', BACKUP_RECORD_FIELDS);
    const page1 = await call('GET', `${component.path}/backup/records?limit=1`);
    const { list, continue: next } = page1.json as List<BackupRecordJson> & { continue: string };
    expect(list.map((r) => r.backup_id)).toEqual([records[0]!.backup_id]);
    const page2 = await call('GET', `${component.path}/backup/records?limit=1&continue=${encodeURIComponent(next)}`);
    expect((page2.json as List<BackupRecordJson>).list.map((r) => r.backup_id)).toEqual([records[1]!.backup_id]);
  });

  test('a failed backup does not block the next one', async () => {
    velero.failNextBackup('Failed', 'storage exploded');
    const failed = await call('POST', `${component.path}/backup`, { body: { desc: 'will fail' } });
    expect(failed.status).toBe(200);
    const id = (failed.json as Bean<BackupRecordJson>).bean.backup_id;
    const record = await waitForBackup(id, 'Failed');
    expect(record).toMatchObject({ restorable: false, download_url: '' });
    const next = await call('POST', `${component.path}/backup`, { body: { desc: 'after the failure' } });
    expect(next.status).toBe(200);
    await waitForBackup((next.json as Bean<BackupRecordJson>).bean.backup_id, 'Completed');
  });

  // Velero v1.11.1 pkg/controller/backup_controller.go L250-252: a refused Backup is FailedValidation with its
  // reasons in status.validationErrors and no failureReason; the record must still say why.
  test('a FailedValidation backup: the record\'s failure_reason is Velero\'s validation errors', async () => {
    velero.failNextBackup('FailedValidation', 'backup can\'t be created because the test said so');
    const refused = await call('POST', `${component.path}/backup`, { body: { desc: 'will be refused' } });
    expect(refused.status).toBe(200);
    const record = await waitForBackup((refused.json as Bean<BackupRecordJson>).bean.backup_id, 'FailedValidation');
    expect(record).toMatchObject({ failure_reason: 'backup can\'t be created because the test said so', restorable: false });
  });

  test('download: a DownloadRequest answered by Velero with a pre-signed URL (JSON, or a 302 to it)', async () => {
    const json = await call('GET', `${component.path}/backup/${first}/download`);
    expect(json.status).toBe(200);
    expectRegionApiBytes(json, 'bean', ['download_url', 'expires_at']);
    const url = (json.json as Bean<{ download_url: string }>).bean.download_url;
    expect(url).toContain(`${first}.tar.gz`);
    const redirect = await call('GET', `${component.path}/backup/${first}/download`, { headers: { accept: '*/*' } });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toContain(`${first}.tar.gz`);
  });

  test('delete: a DeleteBackupRequest (202); again while pending: the same request (202); then the record is gone', async () => {
    const one = await call('DELETE', `${component.path}/backup/${first}`);
    expect(one.status).toBe(202);
    expectRegionApiBytes(one, 'bean', ['backup_id', 'delete_request', 'status']);
    const pending = (one.json as Bean<{ delete_request: string }>).bean.delete_request;
    // At once the record says Deleting (or is already gone), never restorable.
    const meanwhile = (await backupRecords()).find((r) => r.backup_id === first);
    if (meanwhile) expect(meanwhile).toMatchObject({ status: 'Deleting', restorable: false, download_url: '' });
    const two = await call('DELETE', `${component.path}/backup/${first}`);
    expect(two.status).toBe(202);
    expect(await veleroObjects('deletebackuprequests', `velero.io/backup-name=${first}`)).toHaveLength(1);
    expect([(two.json as Bean<{ delete_request: string }>).bean.delete_request, pending]).toEqual([pending, pending]);
    await eventually(async () => ((await backupRecords()).some((r) => r.backup_id === first) ? undefined : true), 'the deleted backup leaves the records', 30_000);
  });

  test("another component's backup, or none: 404", async () => {
    expect((await call('DELETE', `${component.path}/backup/no-such-backup`)).status).toBe(404);
    expect((await call('GET', `${component.path}/backup/no-such-backup/download`)).status).toBe(404);
  });
});

describe('the backup schedule', () => {
  test('create, read, update, and the backups it makes show as Scheduled; delete', async () => {
    const created = await call('POST', `${component.path}/backup/schedule`, { body: { cron: '0 3 * * *', ttl: '30d', desc: 'nightly', operator: 'carol' } });
    expect(created.status).toBe(200);
    expect(created.text).toBe(
      `{"bean":{"schedule_id":"${scheduleName(component)}","service_id":"${component.serviceId}","desc":"nightly","ttl":"30d","cron":"0 3 * * *","creator":"carol","last_modifier":""}}\n`,
    );
    expect((await call('POST', `${component.path}/backup/schedule`, { body: { cron: '0 3 * * *' } })).status).toBe(409);
    // Every minute: at the stand-in's 60x time scale, a backup a second.
    const updated = await call('PUT', `${component.path}/backup/schedule`, { body: { cron: '* * * * *', desc: 'often', operator: 'dave' } });
    expect(updated.status).toBe(200);
    expectRegionApiBytes(updated, 'bean', ['schedule_id', 'service_id', 'desc', 'ttl', 'cron', 'creator', 'last_modifier']);
    expect(updated.json).toMatchObject({ bean: { cron: '* * * * *', desc: 'often', last_modifier: 'dave', creator: 'carol' } });
    await eventually(async () => (await backupRecords()).find((r) => r.mode === 'Scheduled' && r.status === 'Completed'), 'a scheduled backup in the records', 60_000);
    const deleted = await call('DELETE', `${component.path}/backup/schedule`);
    expect(deleted.text).toBe('{}\n');
    expect((await call('GET', `${component.path}/backup/schedule`)).text).toBe('{"bean":null}\n');
    expect(await veleroObjects('schedules')).toEqual([]);
  });
});

describe('restores', () => {
  test('while the component runs: 409 saying to stop it; stopped: a Restore of its own backup, one at a time; records; delete', async () => {
    const backup = (await backupRecords()).find((r) => r.restorable)!;
    const running = await call('POST', `${component.path}/restore`, { body: { backup_id: backup.backup_id, operator: 'erin' } });
    expect(running.status).toBe(409);
    expect((running.json as { msg: string }).msg).toMatch(/stop it first/);

    await stopWutongComponent(apps, core, component);
    // Stopped: no workload, no pods, the PVC stays, and the component still resolves.
    const restore = await call('POST', `${component.path}/restore`, { body: { backup_id: backup.backup_id, operator: 'erin' }, headers: { 'idempotency-key': `restore-${process.pid}` } });
    expect(restore.status).toBe(200);
    expectRegionApiBytes(restore, 'bean', RESTORE_RECORD_FIELDS);
    const restoreId = (restore.json as Bean<{ restore_id: string; stage: string }>).bean.restore_id;
    expect((restore.json as Bean<{ stage: string }>).bean.stage).toBe('New');
    const retried = await call('POST', `${component.path}/restore`, { body: { backup_id: backup.backup_id, operator: 'erin' }, headers: { 'idempotency-key': `restore-${process.pid}` } });
    expect((retried.json as Bean<{ restore_id: string }>).bean.restore_id).toBe(restoreId);
    // One at a time: a second request (another key) while the first runs.
    const second = await call('POST', `${component.path}/restore`, { body: { backup_id: backup.backup_id } });
    expect(second.status).toBe(409);
    expect((second.json as { msg: string }).msg).toMatch(/already has an unfinished restore/);

    const done = await eventually(async () => {
      const answer = await call('GET', `${component.path}/restore/records`);
      return (answer.json as List<{ restore_id: string; status: string; size: string }>).list.find((r) => r.restore_id === restoreId && r.status === 'Completed');
    }, 'restore completed', 60_000);
    expect(done.size).toBe('83 MB');
    expectRegionApiBytes(await call('GET', `${component.path}/restore/records`), 'list', RESTORE_RECORD_FIELDS);
    // The controller made the Velero Restore once the safety backup had copied the claim and the claim was replaced.
    const [object] = await veleroObjects('restores', `wutong.io/service_id=${component.serviceId}`);
    expect(object!.spec).toMatchObject({ backupName: backup.backup_id, includedNamespaces: [component.namespace], includedResources: ['persistentvolumeclaims', 'persistentvolumes', 'pods', 'configmaps', 'secrets'], labelSelector: { matchLabels: { service_id: component.serviceId } } });
    expect(object!.spec.excludedResources).toEqual(expect.arrayContaining(['nodes', 'events', 'backups.velero.io', 'restores.velero.io']));
    const safetyId = (done as unknown as { safety_backup_id: string }).safety_backup_id;
    expect((await backupRecords()).find((r) => r.backup_id === safetyId)).toMatchObject({ status: 'Completed' });
    // The pods Velero brought back are gone: the component is stopped again.
    await eventually(async () => ((await core.listNamespacedPod({ namespace: component.namespace, labelSelector: `service_id=${component.serviceId}` })).items.length === 0 ? true : undefined), 'restored pods removed', 60_000);
    expect((await call('POST', `${component.path}/restore`, { body: { backup_id: 'no-such-backup' } })).status).toBe(404);
    expect((await call('DELETE', `${component.path}/restore/no-such-restore`)).status).toBe(404);
    const deleted = await call('DELETE', `${component.path}/restore/${restoreId}`);
    expect(deleted.text).toBe('{}\n');
    expect(await veleroObjects('restores')).toEqual([]);
  });
});

describe('Velero missing', () => {
  test('CRDs absent: 503 naming the CRD; installed again: works without a restart', async () => {
    // Deleting them is cluster-wide: no other file may be using them meanwhile.
    const release = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
    try {
      await withoutVeleroCrds();
    } finally {
      release();
    }
  });
});

/** Velero's CRDs deleted under the running replicas, then installed again. */
async function withoutVeleroCrds(): Promise<void> {
  const crds = ['backups', 'restores', 'schedules', 'podvolumebackups', 'podvolumerestores', 'deletebackuprequests', 'downloadrequests', 'backupstoragelocations'];
  await velero.stop();
  for (const name of crds) await apiRequest(info, 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}.velero.io`);
  const missing = await eventually(async () => {
    const answer = await call('GET', `${component.path}/backup/records`, {}, 0);
    // First the storage location goes (its objects are deleted with the CRD), then the lists fail.
    return answer.status === 503 && /CustomResourceDefinition/.test(answer.text) ? answer : undefined;
  }, 'a 503 naming a missing CRD', 60_000);
  expect((missing.json as { msg: string }).msg).toMatch(/CustomResourceDefinition \w+\.velero\.io/);

  await installCrds(info, veleroCrdDir('1.11.1'));
  restartedVelero = await startVeleroStandIn(info, { namespace: VELERO, timeScale: 60, stepMs: 100 });
  velero = restartedVelero;
  const noLocation = await eventually(async () => {
    const answer = await call('GET', `${component.path}/backup/records`, {}, 0);
    return answer.status === 503 && /BackupStorageLocation/.test((answer.json as { msg: string }).msg) ? answer : undefined;
  }, 'a 503 naming the missing BackupStorageLocation', 60_000);
  expect((noLocation.json as { msg: string }).msg).toBe(`BackupStorageLocation ${VELERO}/default does not exist`);
  await velero.setStorageLocation('default', 'Available');
  for (let i = 0; i < replicas.length; i++) {
    await eventually(async () => ((await call('GET', `${component.path}/backup/records`, {}, i)).status === 200 ? true : undefined), `replica ${i} works again`, 60_000);
  }
}
