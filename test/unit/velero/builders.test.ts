import { buildBackup } from '../../../src/velero/backup-object.js';
import { parseBackupTtl } from '../../../src/velero/backup-ttl.js';
import { buildDeleteBackupRequest } from '../../../src/velero/delete-backup-request.js';
import { buildDownloadRequest } from '../../../src/velero/download-request.js';
import { buildRestore, RESTORE_EXCLUDED_RESOURCES } from '../../../src/velero/restore-object.js';
import { buildSchedule, SCHEDULE_ANNOTATIONS, scheduleUpdatePatch } from '../../../src/velero/schedule-object.js';
import { VELERO_ANNOTATION } from '../../../src/velero/velero-labels.js';
import { viewBackup, viewSchedule } from '../../../src/velero/velero-views.js';

const SID = '0123456789abcdef0123456789abcdef';
const TTL_30D = parseBackupTtl('30d')!;
const backupSpec = {
  csiSnapshotTimeout: '10m0s',
  // Not the region API's true: Velero then copies only the volumes the webhook lists (backup.velero.io/backup-volumes).
  defaultVolumesToFsBackup: false,
  includedNamespaces: ['tenant-a'],
  labelSelector: { matchLabels: { service_id: SID } },
  storageLocation: 'default',
  ttl: '720h0m0s',
};

test('Backup: the seed document\'s and region API\'s labels, annotations and spec', () => {
  expect(buildBackup({
    name: `${SID}-backup-20240601003000-a1b2`,
    veleroNamespace: 'velero',
    storageLocation: 'default',
    serviceId: SID,
    componentNamespace: 'tenant-a',
    ttl: TTL_30D,
    desc: 'before upgrade',
    operator: 'alice',
  })).toEqual({
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name: `${SID}-backup-20240601003000-a1b2`,
      namespace: 'velero',
      labels: { 'velero.io/storage-location': 'default', 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d' },
      annotations: { 'wutong.io/desc': 'before upgrade', 'wutong.io/creator': 'alice' },
    },
    spec: backupSpec,
  });
});

test('Backup: idempotency key as a label (selectable), request digest as an annotation; the configured namespace and location', () => {
  const b = buildBackup({
    name: 'n',
    veleroNamespace: 'backup-system',
    storageLocation: 'minio',
    serviceId: SID,
    componentNamespace: 'tenant-a',
    ttl: parseBackupTtl('720h')!,
    desc: '',
    operator: '',
    idempotencyKey: 'c'.repeat(40),
    requestDigest: 'd'.repeat(64),
  });
  expect(b.metadata).toEqual({
    name: 'n',
    namespace: 'backup-system',
    labels: { 'velero.io/storage-location': 'minio', 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '720h', 'backup.wutong.io/idempotency-key': 'c'.repeat(40) },
    annotations: { 'wutong.io/desc': '', 'wutong.io/creator': '', 'backup.wutong.io/request-digest': 'd'.repeat(64) },
  });
  expect(b.spec).toEqual({ ...backupSpec, storageLocation: 'minio' });
});

test("Schedule: its template is exactly the Backup's spec, its labels the Backup's (Velero copies them onto each Backup)", () => {
  expect(buildSchedule({
    name: `${SID}-schedule`,
    veleroNamespace: 'velero',
    storageLocation: 'default',
    serviceId: SID,
    componentNamespace: 'tenant-a',
    cron: '0 2 * * *',
    ttl: TTL_30D,
    desc: 'nightly',
    operator: 'bob',
  })).toEqual({
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: {
      name: `${SID}-schedule`,
      namespace: 'velero',
      labels: { 'velero.io/storage-location': 'default', 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d' },
      annotations: { 'wutong.io/desc': 'nightly', 'wutong.io/creator': 'bob' },
    },
    spec: { schedule: '0 2 * * *', template: backupSpec },
  });
});

test('Schedule update: a merge patch of cron, TTL (label and spec), desc and last modifier; never the creator', () => {
  const existing = viewSchedule({ metadata: { name: 's', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { schedule: '0 2 * * *' } })!;
  expect(scheduleUpdatePatch(existing, new Date('2026-01-01T00:10:00Z'), { cron: '@daily', ttl: parseBackupTtl('7d')!, desc: 'daily now', operator: 'carol' })).toEqual({
    metadata: { labels: { 'wutong.io/backup-ttl': '7d' }, annotations: { 'wutong.io/desc': 'daily now', 'wutong.io/last_modifier': 'carol' } },
    spec: { schedule: '@daily', template: { ttl: '168h0m0s', defaultVolumesToFsBackup: false } },
  });
});

const storedBackup = viewBackup({
  metadata: {
    name: `${SID}-backup-20240601003000-a1b2`,
    namespace: 'velero',
    uid: '6f1c2e9a-0000-4000-8000-000000000001',
    labels: {
      'wutong.io/service_id': SID,
      'wutong.io/backup-ttl': '30d',
      'velero.io/storage-location': 'default',
      'velero.io/schedule-name': `${SID}-schedule`,
      'backup.wutong.io/idempotency-key': 'c'.repeat(40),
    },
  },
  spec: {},
})!;

test("Restore: backupName, the Backup's wutong.io/* labels only, scoped to the component's namespace and service_id, only its data and what its pods need (PVCs, PVs, pods, ConfigMaps, Secrets), the region API's excluded resources, the creator, the safety backup", () => {
  expect(buildRestore({ name: `${SID}-restore-20240602000000-beef`, veleroNamespace: 'velero', component: { namespace: 'acme-prod', serviceId: SID }, backup: storedBackup, operator: 'dave', safetyBackupName: 'safe' })).toEqual({
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: {
      name: `${SID}-restore-20240602000000-beef`,
      namespace: 'velero',
      labels: { 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d' },
      annotations: { 'wutong.io/creator': 'dave', 'backup.wutong.io/safety-backup': 'safe' },
    },
    spec: {
      backupName: `${SID}-backup-20240601003000-a1b2`,
      includedNamespaces: ['acme-prod'],
      includedResources: ['persistentvolumeclaims', 'persistentvolumes', 'pods', 'configmaps', 'secrets'],
      excludedResources: [
        'nodes', 'events', 'endpoints', 'events.events.k8s.io', 'backups.velero.io', 'restores.velero.io',
        'resticrepositories.velero.io', 'csinodes.storage.k8s.io', 'volumeattachments.storage.k8s.io', 'backuprepositories.velero.io',
      ],
      labelSelector: { matchLabels: { service_id: SID } },
    },
  });
});

test("Restore: its own idempotency key and digest, not the Backup's; the exported list cannot be changed through an object", () => {
  const r = buildRestore({ name: 'r', veleroNamespace: 'velero', component: { namespace: 'acme-prod', serviceId: SID }, backup: storedBackup, operator: 'dave', idempotencyKey: 'e'.repeat(40), requestDigest: 'f'.repeat(64) });
  expect(r.metadata.labels).toEqual({ 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d', 'backup.wutong.io/idempotency-key': 'e'.repeat(40) });
  expect(r.metadata.annotations).toEqual({ 'wutong.io/creator': 'dave', 'backup.wutong.io/request-digest': 'f'.repeat(64) });
  (r.spec.excludedResources as string[]).push('pods');
  expect(RESTORE_EXCLUDED_RESOURCES).not.toContain('pods');
  expect(Object.isFrozen(RESTORE_EXCLUDED_RESOURCES)).toBe(true);
});

test('Restore: its service_id label and scope are the component\'s, whatever the Backup\'s labels say', () => {
  const forged = { ...storedBackup, metadata: { ...storedBackup.metadata, labels: { ...storedBackup.metadata.labels, 'wutong.io/service_id': 'f'.repeat(32) } } };
  const r = buildRestore({ name: 'r', veleroNamespace: 'velero', component: { namespace: 'acme-prod', serviceId: SID }, backup: forged, operator: 'dave' });
  expect(r.metadata.labels?.['wutong.io/service_id']).toBe(SID);
  expect(r.spec.includedNamespaces).toEqual(['acme-prod']);
});

test('DeleteBackupRequest: the labels `velero backup delete` sets, plus service_id', () => {
  expect(buildDeleteBackupRequest({ name: 'x-delete-abcd', veleroNamespace: 'velero', backup: storedBackup })).toEqual({
    apiVersion: 'velero.io/v1',
    kind: 'DeleteBackupRequest',
    metadata: {
      name: 'x-delete-abcd',
      namespace: 'velero',
      labels: {
        'velero.io/backup-name': `${SID}-backup-20240601003000-a1b2`,
        'velero.io/backup-uid': '6f1c2e9a-0000-4000-8000-000000000001',
        'wutong.io/service_id': SID,
      },
    },
    spec: { backupName: `${SID}-backup-20240601003000-a1b2` },
  });
});

test('DownloadRequest: the Backup\'s contents', () => {
  expect(buildDownloadRequest({ name: 'x-download-abcd', veleroNamespace: 'velero', backupName: 'b-1' })).toEqual({
    apiVersion: 'velero.io/v1',
    kind: 'DownloadRequest',
    metadata: { name: 'x-download-abcd', namespace: 'velero' },
    spec: { target: { kind: 'BackupContents', name: 'b-1' } },
  });
});

test("DeleteBackupRequest of a Backup named longer than a label value: the label Velero's own selector uses", () => {
  const name = 'nightly-database-backup-for-the-production-cluster-in-region-east-20240101000000';
  const long = viewBackup({ metadata: { name, uid: 'u-1' } })!;
  const request = buildDeleteBackupRequest({ name: 'd', veleroNamespace: 'velero', backup: long });
  expect(request.metadata.labels).toEqual({ 'velero.io/backup-name': 'nightly-database-backup-for-the-production-cluster-in-reg46bf3c', 'velero.io/backup-uid': 'u-1' });
  expect(request.spec).toEqual({ backupName: name });
});

test('a Schedule carries only SCHEDULE_ANNOTATIONS, none of which a Backup reader takes as a Backup\'s own: Velero v1.11.1 copies them all onto each Backup (pkg/builder/backup_builder.go L112-114)', () => {
  const ttl7 = parseBackupTtl('7d')!;
  const made = buildSchedule({
    name: 's', veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: 'shop', cron: '0 2 * * *', ttl: ttl7,
    desc: 'nightly', operator: 'alice', annotations: { 'backup.wutong.io/rule': 'orders-db', 'backup.wutong.io/keep': '7' },
  });
  const existing = viewSchedule({ ...made, metadata: { ...made.metadata, creationTimestamp: '2026-01-01T00:00:00Z' } })!;
  const patch = scheduleUpdatePatch(existing, new Date('2026-01-01T00:10:00Z'), { cron: '0 3 * * *', ttl: ttl7, desc: 'later', operator: 'bob', annotations: { 'backup.wutong.io/keep': null } });
  const written = [...Object.keys(made.metadata.annotations ?? {}), ...Object.keys((patch.metadata as { annotations: object }).annotations)];
  expect(written.filter((key) => !(SCHEDULE_ANNOTATIONS as readonly string[]).includes(key))).toEqual([]);
  const readOnBackups = [
    VELERO_ANNOTATION.announcedPhase, VELERO_ANNOTATION.dataState, VELERO_ANNOTATION.coverage, VELERO_ANNOTATION.requestDigest,
    VELERO_ANNOTATION.safetyFor, VELERO_ANNOTATION.safetyBackup, VELERO_ANNOTATION.restoreVerdict,
  ];
  expect(SCHEDULE_ANNOTATIONS.filter((key) => (readOnBackups as readonly string[]).includes(key))).toEqual([]);
});
