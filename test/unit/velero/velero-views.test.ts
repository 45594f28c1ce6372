import {
  viewBackup,
  viewBackupStorageLocation,
  viewBytes,
  viewDeleteBackupRequest,
  viewDownloadRequest,
  viewPodVolumeBackup,
  viewPodVolumeRestore,
  viewRestore,
  viewSchedule,
} from '../../../src/velero/velero-views.js';

const SID = '0123456789abcdef0123456789abcdef';

/** metadata as the API server returns it, with what a cache must not keep. */
function serverMeta(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    namespace: 'velero',
    uid: '6f1c2e9a-0000-4000-8000-000000000001',
    resourceVersion: '4242',
    generation: 3,
    creationTimestamp: '2024-06-01T00:30:00Z',
    labels: { 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d', 'velero.io/storage-location': 'default' },
    annotations: {
      'wutong.io/desc': 'before upgrade',
      'wutong.io/creator': 'alice',
      'backup.wutong.io/request-digest': 'ab'.repeat(32),
      'velero.io/source-cluster-k8s-gitversion': 'v1.20.2',
      'velero.io/resource-timeout': '10m0s',
      'kubectl.kubernetes.io/last-applied-configuration': '{"big":"' + 'x'.repeat(2_000) + '"}',
    },
    finalizers: ['velero.io/pod-volume-finalizer'],
    managedFields: [
      { manager: 'velero-server', operation: 'Update', apiVersion: 'velero.io/v1', time: '2024-06-01T00:31:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:phase': {}, 'f:progress': { 'f:itemsBackedUp': {}, 'f:totalItems': {} } } } },
    ],
    ...extra,
  };
}

const rawBackup = {
  apiVersion: 'velero.io/v1',
  kind: 'Backup',
  metadata: serverMeta(`${SID}-backup-20240601003000-a1b2`),
  spec: {
    csiSnapshotTimeout: '10m0s',
    defaultVolumesToFsBackup: true,
    includedNamespaces: ['tenant-a'],
    labelSelector: { matchLabels: { service_id: SID } },
    storageLocation: 'default',
    ttl: '720h0m0s',
    hooks: { resources: [{ name: 'mysql', pre: [{ exec: { command: ['/bin/sh', '-c', 'mysqldump ...'] } }] }] },
    itemOperationTimeout: '4h0m0s',
    volumeSnapshotLocations: ['default'],
  },
  status: {
    phase: 'Completed',
    version: 1,
    formatVersion: '1.1.0',
    startTimestamp: '2024-06-01T00:30:01Z',
    completionTimestamp: '2024-06-01T00:31:40Z',
    expiration: '2024-07-01T00:30:01Z',
    progress: { totalItems: 12, itemsBackedUp: 12 },
    warnings: 2,
    hookStatus: { hooksAttempted: 2 },
  },
};

test('a Backup view keeps exactly what records and checks read', () => {
  expect(viewBackup(rawBackup)).toEqual({
    metadata: {
      name: `${SID}-backup-20240601003000-a1b2`,
      namespace: 'velero',
      uid: '6f1c2e9a-0000-4000-8000-000000000001',
      resourceVersion: '4242',
      creationTimestamp: '2024-06-01T00:30:00Z',
      labels: { 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '30d', 'velero.io/storage-location': 'default' },
      annotations: { 'wutong.io/desc': 'before upgrade', 'wutong.io/creator': 'alice', 'backup.wutong.io/request-digest': 'ab'.repeat(32) },
    },
    spec: { ttl: '720h0m0s', storageLocation: 'default', includedNamespaces: ['tenant-a'] },
    status: {
      phase: 'Completed',
      startTimestamp: '2024-06-01T00:30:01Z',
      completionTimestamp: '2024-06-01T00:31:40Z',
      expiration: '2024-07-01T00:30:01Z',
      progress: { totalItems: 12, itemsBackedUp: 12 },
    },
  });
});

test('managedFields, spec.hooks, finalizers and foreign annotations are dropped, and the view is a fraction of the object', () => {
  const view = viewBackup(rawBackup);
  const json = JSON.stringify(view);
  for (const dropped of ['managedFields', 'hooks', 'mysqldump', 'finalizers', 'last-applied', 'source-cluster', 'resource-timeout', 'itemOperationTimeout', 'hookStatus', 'warnings']) {
    expect(json).not.toContain(dropped);
  }
  expect(viewBytes(view)).toBe(Buffer.byteLength(json));
  expect(viewBytes(view)).toBeLessThan(viewBytes(rawBackup) / 4);
});

test('a Backup Velero has not touched yet has an empty status, and undefined fields are absent, not undefined', () => {
  const view = viewBackup({ metadata: { name: 'b' }, spec: {} });
  expect(view).toEqual({
    metadata: { name: 'b', namespace: '', uid: '', resourceVersion: '', creationTimestamp: '', labels: {}, annotations: {} },
    spec: {},
    status: {},
  });
  expect(Object.keys(view!.status)).toEqual([]);
  expect(Object.keys(view!.metadata)).not.toContain('deletionTimestamp');
});

test('values of the wrong type are dropped, not trusted', () => {
  const view = viewBackup({
    metadata: { name: 'b', labels: { ok: 'yes', n: 5 }, annotations: { 'wutong.io/desc': ['x'] }, deletionTimestamp: 7 },
    spec: { ttl: 720, includedNamespaces: ['a', 3] },
    status: { phase: { p: 1 }, progress: { totalItems: '12', itemsBackedUp: Number.NaN } },
  });
  expect(view).toEqual({
    metadata: { name: 'b', namespace: '', uid: '', resourceVersion: '', creationTimestamp: '', labels: { ok: 'yes' }, annotations: {} },
    spec: { includedNamespaces: ['a'] },
    status: { progress: {} },
  });
});

test.each([null, 'x', 5, [], {}, { metadata: {} }, { metadata: { name: '' } }, { metadata: { name: 3 } }])(
  'not an object with metadata.name (%j) → undefined',
  (raw) => {
    expect(viewBackup(raw)).toBeUndefined();
    expect(viewRestore(raw)).toBeUndefined();
    expect(viewSchedule(raw)).toBeUndefined();
    expect(viewPodVolumeBackup(raw)).toBeUndefined();
    expect(viewDeleteBackupRequest(raw)).toBeUndefined();
    expect(viewBackupStorageLocation(raw)).toBeUndefined();
    expect(viewDownloadRequest(raw)).toBeUndefined();
  },
);

test('Restore, Schedule, PodVolumeBackup/Restore, DeleteBackupRequest, BSL and DownloadRequest views', () => {
  const meta = (name: string) => ({ ...serverMeta(name), labels: { 'wutong.io/service_id': SID } });
  const kept = (name: string) => ({
    name,
    namespace: 'velero',
    uid: '6f1c2e9a-0000-4000-8000-000000000001',
    resourceVersion: '4242',
    creationTimestamp: '2024-06-01T00:30:00Z',
    labels: { 'wutong.io/service_id': SID },
    annotations: { 'wutong.io/desc': 'before upgrade', 'wutong.io/creator': 'alice', 'backup.wutong.io/request-digest': 'ab'.repeat(32) },
  });
  expect(viewRestore({
    metadata: meta('r'),
    spec: { backupName: 'b', excludedResources: ['nodes'], hooks: {} },
    status: { phase: 'InProgress', startTimestamp: '2024-06-02T00:00:00Z', progress: { totalItems: 9, itemsRestored: 4 }, warnings: 1 },
  })).toEqual({
    metadata: kept('r'),
    spec: { backupName: 'b' },
    status: { phase: 'InProgress', startTimestamp: '2024-06-02T00:00:00Z', progress: { totalItems: 9, itemsRestored: 4 } },
  });
  expect(viewSchedule({
    metadata: meta('s'),
    spec: { schedule: '0 2 * * *', paused: false, useOwnerReferencesInBackup: false, template: { ttl: '720h0m0s', includedNamespaces: ['tenant-a'], hooks: {} } },
    status: { phase: 'Enabled', lastBackup: '2024-06-02T02:00:00Z' },
  })).toEqual({
    metadata: kept('s'),
    spec: { schedule: '0 2 * * *', paused: false, template: { ttl: '720h0m0s', includedNamespaces: ['tenant-a'] } },
    status: { phase: 'Enabled', lastBackup: '2024-06-02T02:00:00Z' },
  });
  const podVolume = {
    metadata: meta('pvb'),
    spec: { volume: 'data', pod: { kind: 'Pod', name: 'mysql-0', namespace: 'tenant-a', uid: 'u' }, repoIdentifier: 's3:...', uploaderType: 'kopia' },
    status: { phase: 'Completed', snapshotID: 'k123', path: '/host_pods/...', progress: { totalBytes: 1000, bytesDone: 1000 } },
  };
  const podVolumeView = { metadata: kept('pvb'), spec: { volume: 'data', pod: { name: 'mysql-0', namespace: 'tenant-a' } }, status: { phase: 'Completed', progress: { totalBytes: 1000, bytesDone: 1000 } } };
  expect(viewPodVolumeBackup(podVolume)).toEqual(podVolumeView);
  expect(viewPodVolumeRestore(podVolume)).toEqual(podVolumeView);
  expect(viewDeleteBackupRequest({ metadata: meta('d'), spec: { backupName: 'b' }, status: { phase: 'Processed', errors: ['gone'] } }))
    .toEqual({ metadata: kept('d'), spec: { backupName: 'b' }, status: { phase: 'Processed', errors: ['gone'] } });
  expect(viewBackupStorageLocation({ metadata: meta('default'), spec: { provider: 'aws', accessMode: 'ReadOnly', objectStorage: { bucket: 'b' }, credential: { name: 'cloud-credentials', key: 'cloud' } }, status: { phase: 'Available', lastValidationTime: 'x', message: 'ok' } }))
    .toEqual({ metadata: kept('default'), spec: { accessMode: 'ReadOnly' }, status: { phase: 'Available', message: 'ok', lastValidationTime: 'x' } });
  expect(viewDownloadRequest({ metadata: meta('dl'), spec: { target: { kind: 'BackupContents', name: 'b' } }, status: { phase: 'Processed', downloadURL: 'https://s3/x?sig', expiration: '2024-06-02T00:10:00Z' } }))
    .toEqual({ metadata: kept('dl'), status: { phase: 'Processed', downloadURL: 'https://s3/x?sig', expiration: '2024-06-02T00:10:00Z' } });
});
