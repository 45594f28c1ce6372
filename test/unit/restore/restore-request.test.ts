import { progressPatch, readRestoreRequest, restoreRequestName, restoreRequestObject, stageOf, type RestoreRequest } from '../../../src/restore/restore-request.js';

const SID = '0123456789abcdef0123456789abcdef';
const request: RestoreRequest = {
  restoreName: `${SID}-restore-20261207100000-beef`,
  component: { namespace: 'acme-prod', serviceId: SID, serviceAlias: 'gr0123' },
  backupName: `${SID}-backup-20261206100000-a1b2`,
  operator: 'dave',
  safetyBackup: { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: `${SID}-safety-20261207100000-beef`, namespace: 'velero', labels: { 'wutong.io/service_id': SID } }, spec: { includedNamespaces: ['acme-prod'] } },
  requestedAt: '2026-12-07T10:00:00.000Z',
  idempotencyKey: 'e'.repeat(40),
  requestDigest: 'f'.repeat(64),
};

const stored = (data: Record<string, string>, extra: Record<string, unknown> = {}): unknown => ({
  metadata: { name: 'restore-x', uid: 'u1', resourceVersion: '7', creationTimestamp: '2026-12-07T10:00:00Z', ...extra },
  data,
});

test('a record round-trips: the ConfigMap the API writes reads back as the same request, stage New until the controller writes one', () => {
  const object = restoreRequestObject(restoreRequestName(request.restoreName, request.idempotencyKey), request) as { metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> };
  expect(object.metadata.name).toBe(`restore-${'e'.repeat(40)}`);
  expect(object.metadata.labels).toEqual({ 'backup.wutong.io/restore-request': 'true', 'wutong.io/service_id': SID });
  const record = readRestoreRequest(stored(object.data))!;
  expect(record.request).toEqual(request);
  expect(stageOf(record)).toBe('New');
  expect(restoreRequestName('r1', undefined)).toBe('restore-r1');
});

test('progress is written with the resourceVersion it was decided on, and read back', () => {
  const progress = { stage: 'ReplacingVolumes' as const, message: 'deleting PVCs data', since: '2026-12-07T10:01:00.000Z' };
  const patch = progressPatch('7', progress) as { metadata: unknown; data: Record<string, string> };
  expect(patch.metadata).toEqual({ resourceVersion: '7' });
  const record = readRestoreRequest(stored({ request: JSON.stringify(request), ...patch.data }))!;
  expect(record.progress).toEqual(progress);
  expect(stageOf(record)).toBe('ReplacingVolumes');
});

test.each([
  ['not JSON', 'nope', 'data.request is not a JSON object'],
  ['no component', JSON.stringify({ ...request, component: undefined }), 'it names no component (namespace, serviceId, serviceAlias)'],
  ['no backup', JSON.stringify({ ...request, backupName: '' }), 'it names no restore or backup'],
  ['a safety backup that is no Backup', JSON.stringify({ ...request, safetyBackup: { kind: 'Restore' } }), 'its safety backup is no Velero Backup'],
])('an unreadable request (%s) is kept with the reason, so the controller fails it saying why', (_what, text, reason) => {
  const record = readRestoreRequest(stored({ request: text }))!;
  expect(record.request).toBeUndefined();
  expect(record.unreadable).toBe(reason);
});

test('an unknown stage is ignored (the record stays where it was readable): New', () => {
  const record = readRestoreRequest(stored({ request: JSON.stringify(request), progress: JSON.stringify({ stage: 'Teleporting', message: '', since: '2026-12-07T10:00:00Z' }) }))!;
  expect(stageOf(record)).toBe('New');
  expect(readRestoreRequest({ data: {} })).toBeUndefined();
});
