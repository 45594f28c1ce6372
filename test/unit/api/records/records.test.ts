import { backupRecord } from '../../../../src/api/records/backup-record.js';
import { restoreRecord } from '../../../../src/api/records/restore-record.js';
import { scheduleRecord } from '../../../../src/api/records/schedule-record.js';
import { viewBackup, viewPodVolumeBackup, viewPodVolumeRestore, viewRestore, viewSchedule } from '../../../../src/velero/velero-views.js';

const SID = '0123456789abcdef0123456789abcdef';

const pv = (name: string, totalBytes: number, bytesDone: number) => ({
  metadata: { name, namespace: 'velero' },
  spec: { volume: 'data', pod: { name: 'mysql-0', namespace: 'tenant-a' } },
  status: { phase: 'Completed', progress: { totalBytes, bytesDone } },
});

const backup = viewBackup({
  metadata: {
    name: `${SID}-schedule-20240601020000`,
    namespace: 'velero',
    labels: { 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d', 'velero.io/schedule-name': `${SID}-schedule` },
    annotations: { 'wutong.io/desc': '夜间备份', 'wutong.io/creator': 'alice' },
  },
  spec: { ttl: '720h0m0s' },
  status: {
    phase: 'Completed',
    startTimestamp: '2024-06-01T02:00:01Z',
    completionTimestamp: '2024-06-01T02:03:40Z',
    expiration: '2024-07-01T02:00:01Z',
    progress: { totalItems: 12, itemsBackedUp: 12 },
  },
})!;
const volumes = [viewPodVolumeBackup(pv('a', 60_000_000, 60_000_000))!, viewPodVolumeBackup(pv('b', 22_854_982, 22_854_982))!];

test('a backup record is the region API\'s BackupRecord JSON, byte for byte, plus download_url, data_state, volumes and partial', () => {
  const json = JSON.stringify(backupRecord(backup, volumes, 'https://s3.example/b?X-Amz-Signature=1'));
  expect(json).toBe(
    `{"backup_id":"${SID}-schedule-20240601020000","service_id":"${SID}","desc":"夜间备份","ttl":"30d","mode":"Scheduled",` +
      '"created_at":"2024-06-01 02:00:01","completed_at":"2024-06-01 02:03:40","expired_at":"2024-07-01 02:00:01",' +
      '"size":"83 MB","progress_rate":"100.00%","completed_items":12,"total_items":12,"scheduled":true,"status":"Completed",' +
      '"failure_reason":"","operator":"alice","restorable":true,"download_url":"https://s3.example/b?X-Amz-Signature=1","data_state":"live",' +
      '"volumes":"","partial":false}',
  );
});

test('a new manual backup: "-" for what is not known yet, 0 items, not restorable', () => {
  const fresh = viewBackup({ metadata: { name: 'b', labels: { 'wutong.io/service_id': SID } }, spec: { ttl: '168h0m0s' } })!;
  expect(backupRecord(fresh, [], '')).toEqual({
    backup_id: 'b', service_id: SID, desc: '', ttl: '168h', mode: 'Manual',
    created_at: '-', completed_at: '-', expired_at: '-', size: '-', progress_rate: '-',
    completed_items: 0, total_items: 0, scheduled: false, status: '', failure_reason: '', operator: '',
    restorable: false, download_url: '', data_state: 'live', volumes: '', partial: false,
  });
});

test('a backup of a stopped component says it is crash-consistent data at rest: data_state, and in desc (the console shows only desc)', () => {
  const atRest = (desc: string | undefined) =>
    viewBackup({ metadata: { name: 'b', labels: { 'wutong.io/service_id': SID }, annotations: { 'backup.wutong.io/data-state': 'at-rest', ...(desc === undefined ? {} : { 'wutong.io/desc': desc }) } } })!;
  expect(backupRecord(atRest('before the move'), [], '')).toMatchObject({
    data_state: 'at-rest',
    desc: 'before the move (crash-consistent data at rest: taken while the component was stopped)',
  });
  expect(backupRecord(atRest(undefined), [], '').desc).toBe('(crash-consistent data at rest: taken while the component was stopped)');
});

test('restorable needs phase Completed and at least one PodVolumeBackup', () => {
  const failed = viewBackup({ metadata: { name: 'b' }, status: { phase: 'PartiallyFailed', failureReason: 'pod volume backup failed' } })!;
  expect(backupRecord(failed, volumes, '')).toMatchObject({ restorable: false, status: 'PartiallyFailed', failure_reason: 'pod volume backup failed' });
  expect(backupRecord(backup, [], '').restorable).toBe(false);
  expect(backupRecord(backup, volumes, '').restorable).toBe(true);
});

describe('a partial backup says so: Velero skipped a volume the policy selects and still called the Backup Completed', () => {
  const judged = (coverage: string) =>
    viewBackup({ ...structuredClone({ metadata: { name: 'b', labels: { 'wutong.io/service_id': SID }, annotations: { 'backup.wutong.io/coverage': coverage } } }), status: { phase: 'Completed' } })!;

  test('"2 of 3 volumes; logs skipped: hostPath PV", partial, and restorable as before (the volumes it holds restore)', () => {
    const record = backupRecord(judged('{"expected":["data","logs","media"],"skipped":{"logs":"hostPath PV"}}'), volumes, '');
    expect(record).toMatchObject({ status: 'Completed', volumes: '2 of 3 volumes; logs skipped: hostPath PV', partial: true, restorable: true });
  });

  test('every skipped claim is named with its reason', () => {
    const record = backupRecord(judged('{"expected":["a","b"],"skipped":{"a":"pod db-0 not Running","b":"not mounted by any pod"}}'), [], '');
    expect(record).toMatchObject({ volumes: '0 of 2 volumes; a skipped: pod db-0 not Running; b skipped: not mounted by any pod', partial: true });
  });

  test('a complete one: "1 of 1 volume", not partial', () => {
    expect(backupRecord(judged('{"expected":["data"],"skipped":{}}'), volumes, '')).toMatchObject({ volumes: '1 of 1 volume', partial: false });
  });

  test('an unreadable annotation is as good as none: not judged', () => {
    for (const bad of ['', 'not json', '{"expected":"data"}', '{"expected":["a"],"skipped":[]}']) {
      expect(backupRecord(judged(bad), volumes, '')).toMatchObject({ volumes: '', partial: false });
    }
  });
});

test('progress sums bytes over the volumes', () => {
  const partial = [viewPodVolumeBackup(pv('a', 1_000, 1_000))!, viewPodVolumeBackup(pv('b', 1_000, 125))!];
  expect(backupRecord(backup, partial, '')).toMatchObject({ size: '2.0 kB', progress_rate: '56.25%' });
});

test('a restore record is the region API\'s RestoreRecord JSON, byte for byte', () => {
  const restore = viewRestore({
    metadata: { name: `${SID}-restore-20240602000000-beef`, labels: { 'wutong.io/service_id': SID }, annotations: { 'wutong.io/creator': 'dave' } },
    spec: { backupName: `${SID}-schedule-20240601020000` },
    status: { phase: 'InProgress', startTimestamp: '2024-06-02T08:00:00+08:00', progress: { totalItems: 10, itemsRestored: 4 } },
  })!;
  const json = JSON.stringify(restoreRecord(restore, [viewPodVolumeRestore(pv('a', 3, 1))!]));
  expect(json).toBe(
    `{"restore_id":"${SID}-restore-20240602000000-beef","backup_id":"${SID}-schedule-20240601020000","service_id":"${SID}",` +
      '"created_at":"2024-06-02 00:00:00","completed_at":"-","size":"3 B","progress_rate":"33.33%","completed_items":4,"total_items":10,' +
      '"status":"InProgress","failure_reason":"","operator":"dave","stage":"","message":"","safety_backup_id":""}',
  );
});

test('a schedule record is the region API\'s BackupSchedule JSON, byte for byte', () => {
  const schedule = viewSchedule({
    metadata: {
      name: `${SID}-schedule`,
      labels: { 'wutong.io/service_id': SID },
      annotations: { 'wutong.io/desc': 'nightly', 'wutong.io/creator': 'bob', 'wutong.io/last_modifier': 'carol' },
    },
    spec: { schedule: '0 2 * * *', template: { ttl: '720h0m0s' } },
  })!;
  expect(JSON.stringify(scheduleRecord(schedule))).toBe(
    `{"schedule_id":"${SID}-schedule","service_id":"${SID}","desc":"nightly","ttl":"720h","cron":"0 2 * * *","creator":"bob","last_modifier":"carol"}`,
  );
});

describe('restores that replace (src/restore/): the record follows the controller, not Velero\'s phase', () => {
  const requestRecord = (stage?: 'SavingCurrentData' | 'Completed' | 'Failed', message = 'm') => ({
    name: 'restore-x',
    uid: 'u',
    resourceVersion: '1',
    creationTimestamp: '2026-12-07T10:00:00Z',
    request: {
      restoreName: `${SID}-restore-20261207100000-beef`,
      component: { namespace: 'tenant-a', serviceId: SID, serviceAlias: 'gr0123' },
      backupName: `${SID}-backup-20261206100000-a1b2`,
      operator: 'erin',
      safetyBackup: { apiVersion: 'velero.io/v1' as const, kind: 'Backup', metadata: { name: `${SID}-safety-20261207100000-beef`, namespace: 'velero' }, spec: {} },
      requestedAt: '2026-12-07T10:00:00.000Z',
    },
    ...(stage ? { progress: { stage, message, since: '2026-12-07T10:07:00.000Z' } } : {}),
  });

  test('before Velero has a Restore: New, then InProgress while the current data is saved, with the stage and safety backup named', () => {
    expect(restoreRecord(undefined, [], requestRecord())).toMatchObject({ restore_id: `${SID}-restore-20261207100000-beef`, status: 'New', stage: 'New', created_at: '2026-12-07 10:00:00', operator: 'erin', safety_backup_id: `${SID}-safety-20261207100000-beef` });
    expect(restoreRecord(undefined, [], requestRecord('SavingCurrentData', 'backing up'))).toMatchObject({ status: 'InProgress', stage: 'SavingCurrentData', message: 'backing up', completed_at: '-' });
  });

  test('Velero says Completed but the verdict says Failed: the record says Failed, with the reason; after the request record is gone the Restore\'s verdict annotation says the same', () => {
    const veleroCompleted = viewRestore({
      metadata: { name: `${SID}-restore-20261207100000-beef`, labels: { 'wutong.io/service_id': SID }, annotations: { 'backup.wutong.io/verdict': JSON.stringify({ phase: 'Failed', message: 'Velero wrote 0 of 1 volume' }), 'backup.wutong.io/safety-backup': 'safe' } },
      spec: { backupName: 'b' },
      status: { phase: 'Completed', completionTimestamp: '2026-12-07T10:06:00Z' },
    })!;
    expect(restoreRecord(veleroCompleted, [], requestRecord('Failed', 'Velero wrote 0 of 1 volume'))).toMatchObject({ status: 'Failed', failure_reason: 'Velero wrote 0 of 1 volume', completed_at: '2026-12-07 10:07:00' });
    expect(restoreRecord(veleroCompleted, [])).toMatchObject({ status: 'Failed', stage: 'Failed', failure_reason: 'Velero wrote 0 of 1 volume', safety_backup_id: 'safe', completed_at: '2026-12-07 10:06:00' });
  });
});

// Velero v1.11.1 refuses a Backup or Restore before starting it with phase FailedValidation and its reasons in
// status.validationErrors, leaving failureReason empty (pkg/controller/backup_controller.go L250-252,
// pkg/controller/restore_controller.go L172-173): the record's failure_reason must say why all the same.
describe('a FailedValidation backup or restore shows Velero\'s validation errors as its failure_reason', () => {
  const readOnly = 'backup can\'t be created because backup storage location default is currently in read-only mode';

  test('backup: the reasons, joined', () => {
    const refused = viewBackup({ metadata: { name: 'b' }, status: { phase: 'FailedValidation', validationErrors: [readOnly, 'encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified'] } })!;
    expect(backupRecord(refused, [], '')).toMatchObject({
      status: 'FailedValidation',
      failure_reason: `${readOnly}; encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified`,
    });
  });

  test('restore made elsewhere (no request record): the reasons', () => {
    const refused = viewRestore({ metadata: { name: 'r', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: 'b' }, status: { phase: 'FailedValidation', validationErrors: ['Error retrieving backup: backups.velero.io "b" not found'] } })!;
    expect(restoreRecord(refused, [])).toMatchObject({ status: 'FailedValidation', failure_reason: 'Error retrieving backup: backups.velero.io "b" not found' });
  });

  test('a failureReason, when Velero wrote one, is what the record shows', () => {
    const failed = viewBackup({ metadata: { name: 'b' }, status: { phase: 'Failed', failureReason: 'get a backup with status "InProgress" during the server starting, mark it as "Failed"', validationErrors: ['old'] } })!;
    expect(backupRecord(failed, [], '').failure_reason).toBe('get a backup with status "InProgress" during the server starting, mark it as "Failed"');
  });
});
