// Every Velero object this project builds, sent to a real API server serving
// Velero's own CRDs, v1.11.1 (the globalSetup cluster) and v1.18.1 (a second
// API server started here): each must be accepted, and must come back with
// every field we set. Velero's CRDs have structural schemas, so the API server
// prunes a field it does not know instead of rejecting it: a misspelt or
// misplaced field would be lost without an error, and only reading the object
// back shows it. The statuses Velero writes are sent the same way and read
// through our views, so a view reading a field name the CRD does not have
// fails here too.
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { apiRequest, installCrds, startCluster, veleroCrdDir, type ApiResponse, type TestCluster } from './cluster/cluster.js';
import { clusterInfo } from './support/kube.js';
import { buildBackup } from '../../src/velero/backup-object.js';
import { parseBackupTtl } from '../../src/velero/backup-ttl.js';
import { buildDeleteBackupRequest } from '../../src/velero/delete-backup-request.js';
import { buildDownloadRequest } from '../../src/velero/download-request.js';
import { deleteBackupRequestName, downloadRequestName, manualBackupName, restoreName, scheduleName } from '../../src/velero/object-names.js';
import { buildRestore } from '../../src/velero/restore-object.js';
import { buildSchedule, scheduleUpdatePatch } from '../../src/velero/schedule-object.js';
import { veleroPath, type VeleroObject, type VeleroResource } from '../../src/velero/velero-resources.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';
import {
  viewBackup,
  viewBackupStorageLocation,
  viewDeleteBackupRequest,
  viewDownloadRequest,
  viewPodVolumeBackup,
  viewPodVolumeRestore,
  viewRestore,
  viewBytes,
  viewSchedule,
  type BackupView,
} from '../../src/velero/velero-views.js';

jest.setTimeout(240_000);

type Conn = Pick<TestCluster, 'server' | 'token' | 'caPem'>;
type Version = '1.11.1' | '1.18.1';

const NAMESPACE = `velero-acc-${process.pid}`;
const servers = new Map<Version, Conn>();
let second: TestCluster | undefined;

function expectStatus(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${res.body}`);
}

let releaseCrds: (() => void) | undefined;

beforeAll(async () => {
  // Velero's CRDs are cluster-wide: the file that deletes them waits for this one.
  releaseCrds = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
  servers.set('1.11.1', clusterInfo());
  second = await startCluster();
  await installCrds(second, veleroCrdDir('1.18.1'));
  servers.set('1.18.1', second);
  for (const [version, conn] of servers) {
    expectStatus(await apiRequest(conn, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }), 201, `namespace on ${version}`);
  }
});

afterAll(async () => {
  const first = servers.get('1.11.1');
  if (first !== undefined) await apiRequest(first, 'DELETE', `/api/v1/namespaces/${NAMESPACE}`).catch(() => undefined);
  await second?.stop();
  releaseCrds?.();
});

/** Paths (a.b[0].c) of every value in `sent` that `stored` does not hold, equal. */
function lostFields(sent: unknown, stored: unknown, path = ''): string[] {
  if (typeof sent === 'object' && sent !== null && !Array.isArray(sent)) {
    const into = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
    return Object.entries(sent).flatMap(([key, value]) => lostFields(value, into[key], path === '' ? key : `${path}.${key}`));
  }
  return isDeepStrictEqual(sent, stored) ? [] : [`${path}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`];
}

/** Creates `object` for real, reads it back, and returns what the API server stored. */
async function createAndRead(conn: Conn, resource: VeleroResource, object: unknown, name: string): Promise<Record<string, unknown>> {
  expectStatus(await apiRequest(conn, 'POST', veleroPath(NAMESPACE, resource), object), 201, `create ${resource}/${name}`);
  const res = await apiRequest(conn, 'GET', veleroPath(NAMESPACE, resource, name));
  expectStatus(res, 200, `get ${resource}/${name}`);
  return res.json as Record<string, unknown>;
}

async function remove(conn: Conn, resource: VeleroResource, name: string): Promise<void> {
  expectStatus(await apiRequest(conn, 'DELETE', veleroPath(NAMESPACE, resource, name)), 200, `delete ${resource}/${name}`);
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

describe.each(['1.11.1', '1.18.1'] as const)('Velero %s CRDs', (version) => {
  const conn = (): Conn => {
    const c = servers.get(version);
    if (c === undefined) throw new Error(`no API server for Velero ${version}`);
    return c;
  };
  const serviceId = hex(16);
  const now = new Date();
  const ttl = parseBackupTtl('30d');
  if (ttl === undefined) throw new Error('30d must parse');
  const backupName = manualBackupName(serviceId, now, hex(2));
  let storedBackup: BackupView | undefined;

  test('Backup: accepted, every field kept', async () => {
    const backup = buildBackup({
      name: backupName,
      veleroNamespace: NAMESPACE,
      storageLocation: 'default',
      serviceId,
      componentNamespace: 'tenant-a-env-1',
      ttl,
      desc: 'before the upgrade: 升级前',
      operator: 'alice',
      idempotencyKey: hex(20),
      requestDigest: hex(32),
    });
    const stored = await createAndRead(conn(), 'backups', backup, backupName);
    expect(lostFields(backup, stored)).toEqual([]);
    storedBackup = viewBackup(stored);
    expect(storedBackup?.metadata.labels).toEqual(backup.metadata.labels);
    expect(storedBackup?.metadata.annotations).toEqual(backup.metadata.annotations);
    expect(storedBackup?.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    // What a cache keeps of it: the object as the API server returns it carries managedFields (and, once
    // Velero has run, hooks, status counters and its own annotations); the view does not.
    expect(stored.metadata).toHaveProperty('managedFields');
    expect(JSON.stringify(storedBackup)).not.toContain('managedFields');
    expect(viewBytes(storedBackup)).toBeLessThan(viewBytes(stored) * 0.75);
  });

  test('Schedule: accepted, every field kept; the update patch applies and keeps the creator and the rest of the template', async () => {
    const name = scheduleName({ namespace: 'tenant-a-env-1', serviceId });
    const input = {
      name,
      veleroNamespace: NAMESPACE,
      storageLocation: 'default',
      serviceId,
      componentNamespace: 'tenant-a-env-1',
      cron: '0 2 * * *',
      ttl,
      desc: 'nightly',
      operator: 'bob',
    };
    const schedule = buildSchedule(input);
    const created = await createAndRead(conn(), 'schedules', schedule, name);
    expect(lostFields(schedule, created)).toEqual([]);

    const weekly = parseBackupTtl('7d');
    if (weekly === undefined) throw new Error('7d must parse');
    // Made 13 hours "ago": under @every 12h Velero would back up at once, so the patch carries status.lastBackup
    // (schedule-cron-change.ts), which lands only because v1.11.1's Schedule CRD has no status subresource.
    const existing = viewSchedule(created);
    if (existing === undefined) throw new Error('the stored Schedule must have a view');
    const patch = scheduleUpdatePatch(existing, new Date(Date.parse(existing.metadata.creationTimestamp) + 13 * 3_600_000), { cron: '@every 12h', ttl: weekly, desc: 'twice a day', operator: 'carol' });
    expect(patch).toHaveProperty(['status', 'lastBackup']);
    expectStatus(await apiRequest(conn(), 'PATCH', veleroPath(NAMESPACE, 'schedules', name), patch, 'application/merge-patch+json'), 200, 'patch schedule');
    const res = await apiRequest(conn(), 'GET', veleroPath(NAMESPACE, 'schedules', name));
    expectStatus(res, 200, 'get schedule');
    expect(lostFields(patch, res.json)).toEqual([]);
    const updated: VeleroObject = buildSchedule({ ...input, cron: '@every 12h', ttl: weekly, desc: 'twice a day' });
    expect(lostFields(updated, res.json)).toEqual([]);
    expect(viewSchedule(res.json)?.metadata.annotations).toEqual({ 'wutong.io/desc': 'twice a day', 'wutong.io/creator': 'bob', 'wutong.io/last_modifier': 'carol' });
    await remove(conn(), 'schedules', name);
  });

  test('Restore, DeleteBackupRequest and DownloadRequest of the stored Backup: accepted, every field kept', async () => {
    if (storedBackup === undefined) throw new Error('the Backup test did not store a Backup');
    const restore = buildRestore({ name: restoreName(serviceId, now, hex(2)), veleroNamespace: NAMESPACE, component: { namespace: 'tenant-a-env-1', serviceId }, backup: storedBackup, operator: 'dave', safetyBackupName: 'safe', idempotencyKey: hex(20), requestDigest: hex(32) });
    expect(lostFields(restore, await createAndRead(conn(), 'restores', restore, restore.metadata.name))).toEqual([]);
    expect(restore.metadata.labels?.['wutong.io/service_id']).toBe(serviceId);

    const deletion = buildDeleteBackupRequest({ name: deleteBackupRequestName(backupName, hex(2)), veleroNamespace: NAMESPACE, backup: storedBackup });
    expect(lostFields(deletion, await createAndRead(conn(), 'deletebackuprequests', deletion, deletion.metadata.name))).toEqual([]);

    const download = buildDownloadRequest({ name: downloadRequestName(backupName, hex(2)), veleroNamespace: NAMESPACE, backupName });
    expect(lostFields(download, await createAndRead(conn(), 'downloadrequests', download, download.metadata.name))).toEqual([]);

    await remove(conn(), 'restores', restore.metadata.name);
    await remove(conn(), 'deletebackuprequests', deletion.metadata.name);
    await remove(conn(), 'downloadrequests', download.metadata.name);
    await remove(conn(), 'backups', backupName);
  });

  // What Velero writes (pkg/controller), in the fields our views read. None of
  // these CRDs has a status subresource, so status is stored as sent on create.
  const T0 = '2024-06-01T02:00:01Z';
  const T1 = '2024-06-01T02:03:40Z';
  const meta = (name: string) => ({ name, namespace: NAMESPACE, labels: { 'velero.io/backup-name': 'b-1' }, annotations: { 'wutong.io/desc': 'kept' } });
  const podVolumeSpec = { backupStorageLocation: 'default', node: 'node-1', pod: { kind: 'Pod', name: 'mysql-0', namespace: 'tenant-a' }, repoIdentifier: 's3:http://minio/velero/kopia/tenant-a', volume: 'data' };
  const cases = [
    {
      resource: 'backups',
      kind: 'Backup',
      spec: { ttl: '720h0m0s', storageLocation: 'default', includedNamespaces: ['tenant-a'] },
      status: { phase: 'Completed', startTimestamp: T0, completionTimestamp: T1, expiration: '2024-07-01T02:00:01Z', progress: { totalItems: 12, itemsBackedUp: 12 }, failureReason: 'none' },
      viewSpec: { ttl: '720h0m0s', storageLocation: 'default', includedNamespaces: ['tenant-a'] },
      view: viewBackup,
    },
    {
      resource: 'restores',
      kind: 'Restore',
      spec: { backupName: 'b-1' },
      status: { phase: 'InProgress', startTimestamp: T0, completionTimestamp: T1, progress: { totalItems: 10, itemsRestored: 4 }, failureReason: 'none' },
      viewSpec: { backupName: 'b-1' },
      view: viewRestore,
    },
    {
      resource: 'schedules',
      kind: 'Schedule',
      spec: { schedule: '0 2 * * *', paused: true, template: { ttl: '720h0m0s', includedNamespaces: ['tenant-a'] } },
      status: { phase: 'FailedValidation', lastBackup: T0, validationErrors: ['invalid schedule'] },
      viewSpec: { schedule: '0 2 * * *', paused: true, template: { ttl: '720h0m0s', includedNamespaces: ['tenant-a'] } },
      view: viewSchedule,
    },
    {
      resource: 'podvolumebackups',
      kind: 'PodVolumeBackup',
      spec: podVolumeSpec,
      status: { phase: 'Completed', progress: { totalBytes: 82854982, bytesDone: 41427491 } },
      viewSpec: { volume: 'data', pod: { name: 'mysql-0', namespace: 'tenant-a' } },
      view: viewPodVolumeBackup,
    },
    {
      resource: 'podvolumerestores',
      kind: 'PodVolumeRestore',
      spec: { backupStorageLocation: 'default', pod: podVolumeSpec.pod, repoIdentifier: podVolumeSpec.repoIdentifier, snapshotID: 'k0123', sourceNamespace: 'tenant-a', volume: 'data' },
      status: { phase: 'InProgress', progress: { totalBytes: 3, bytesDone: 1 } },
      viewSpec: { volume: 'data', pod: { name: 'mysql-0', namespace: 'tenant-a' } },
      view: viewPodVolumeRestore,
    },
    {
      resource: 'deletebackuprequests',
      kind: 'DeleteBackupRequest',
      spec: { backupName: 'b-1' },
      status: { phase: 'Processed', errors: ['error deleting backup'] },
      viewSpec: { backupName: 'b-1' },
      view: viewDeleteBackupRequest,
    },
    {
      resource: 'backupstoragelocations',
      kind: 'BackupStorageLocation',
      // accessMode and validationFrequency: what the guard rails read (ReadOnly refusals, staleness bound).
      spec: { provider: 'aws', objectStorage: { bucket: 'velero' }, accessMode: 'ReadOnly', validationFrequency: '30s' },
      status: { phase: 'Unavailable', message: 'BackupStorageLocation "default" is unavailable: bucket not found', lastValidationTime: T1 },
      viewSpec: { accessMode: 'ReadOnly', validationFrequency: '30s' },
      view: viewBackupStorageLocation,
    },
    {
      resource: 'downloadrequests',
      kind: 'DownloadRequest',
      spec: { target: { kind: 'BackupContents', name: 'b-1' } },
      status: { phase: 'Processed', downloadURL: 'https://minio.example/velero/backups/b-1/b-1.tar.gz?X-Amz-Signature=abc', expiration: T1 },
      viewSpec: undefined,
      view: viewDownloadRequest,
    },
  ] as const;

  test.each(cases)('$kind: the status fields our view reads exist in the CRD (not pruned) and read back as written', async (c) => {
    const name = `acc-${c.resource}-${hex(2)}`;
    const stored = await createAndRead(conn(), c.resource, { apiVersion: 'velero.io/v1', kind: c.kind, metadata: meta(name), spec: c.spec, status: c.status }, name);
    const view = c.view(stored);
    expect(view?.status).toEqual(c.status);
    expect(view?.metadata).toMatchObject({ name, namespace: NAMESPACE, labels: { 'velero.io/backup-name': 'b-1' }, annotations: { 'wutong.io/desc': 'kept' } });
    expect(view !== undefined && 'spec' in view ? view.spec : undefined).toEqual(c.viewSpec);
    await remove(conn(), c.resource, name);
  });
});
