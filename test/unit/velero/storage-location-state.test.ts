import { readOnlyRefusal, storageLocationState } from '../../../src/velero/storage-location-state.js';
import { viewBackupStorageLocation, type BackupStorageLocationView } from '../../../src/velero/velero-views.js';

// How a BackupStorageLocation is judged, rule by rule from vmware-tanzu/velero v1.11.1:
// - pkg/controller/backup_storage_location_controller.go L125-144: every validation writes phase and
//   lastValidationTime; internal/storage/storagelocation.go IsReadyToValidate L48-75: every
//   spec.validationFrequency (else the server's, 1 minute by default: pkg/cmd/server/server.go L89),
//   never when it is 0;
// - backup_controller.go L394-397, backup_deletion_controller.go L199-206, gc_controller.go L150-157: ReadOnly.

const NOW = Date.parse('2026-12-10T12:00:00Z');
const FIVE_MIN = 5 * 60_000;
const location = (spec: Record<string, unknown>, status: Record<string, unknown>): BackupStorageLocationView =>
  viewBackupStorageLocation({ metadata: { name: 'default', namespace: 'velero', uid: 'u', resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { provider: 'aws', ...spec }, status })!;
const judge = (view: BackupStorageLocationView | undefined) => storageLocationState(view, { ref: 'velero/default', now: NOW, maxValidationAgeMs: FIVE_MIN });

test('the view keeps accessMode, validationFrequency and lastValidationTime', () => {
  expect(location({ accessMode: 'ReadOnly', validationFrequency: '30s' }, { phase: 'Available', lastValidationTime: '2026-12-10T11:59:00Z' })).toMatchObject({
    spec: { accessMode: 'ReadOnly', validationFrequency: '30s' },
    status: { phase: 'Available', lastValidationTime: '2026-12-10T11:59:00Z' },
  });
});

test('a location validated a minute ago is Available; ReadOnly is still available (restores work) but says so', () => {
  expect(judge(location({}, { phase: 'Available', lastValidationTime: '2026-12-10T11:59:00Z' }))).toEqual({ kind: 'available', readOnly: false });
  expect(judge(location({ accessMode: 'ReadOnly' }, { phase: 'Available', lastValidationTime: '2026-12-10T11:59:00Z' }))).toEqual({ kind: 'available', readOnly: true });
});

test('missing and Unavailable locations say what they are', () => {
  expect(judge(undefined)).toEqual({ kind: 'missing', message: 'BackupStorageLocation velero/default does not exist' });
  expect(judge(location({}, { phase: 'Unavailable', message: 'bucket gone', lastValidationTime: '2026-12-10T11:59:00Z' }))).toEqual({
    kind: 'unavailable',
    message: 'BackupStorageLocation velero/default is Unavailable, not Available: bucket gone',
  });
});

test('an Available phase validated longer ago than the bound is stale: no Velero server is validating it', () => {
  const stale = judge(location({}, { phase: 'Available', lastValidationTime: '2026-12-10T11:50:00Z' }));
  expect(stale).toMatchObject({ kind: 'stale', validatedAgoMs: 10 * 60_000 });
  expect(stale.kind === 'stale' && stale.message).toBe(
    'BackupStorageLocation velero/default was last validated 10m ago (more than 5m): no Velero server is validating it, so it is unavailable, not Available',
  );
  expect(judge(location({}, { phase: 'Available' }))).toMatchObject({ kind: 'stale', message: expect.stringContaining('has no lastValidationTime') as unknown });
});

test('a location\'s own validationFrequency widens the bound to twice it; 0 (validation off) makes its age say nothing', () => {
  expect(judge(location({ validationFrequency: '10m' }, { phase: 'Available', lastValidationTime: '2026-12-10T11:45:00Z' }))).toEqual({ kind: 'available', readOnly: false });
  expect(judge(location({ validationFrequency: '10m' }, { phase: 'Available', lastValidationTime: '2026-12-10T11:39:00Z' })).kind).toBe('stale');
  expect(judge(location({ validationFrequency: '0s' }, { phase: 'Available', lastValidationTime: '2026-01-01T00:00:00Z' }))).toEqual({ kind: 'available', readOnly: false });
});

test('ReadOnly refusals name the location and its mode, with the Velero rule behind them', () => {
  const readOnly = location({ accessMode: 'ReadOnly' }, { phase: 'Available' });
  expect(readOnlyRefusal(readOnly, 'velero/default', 'a new backup')).toBe(
    'BackupStorageLocation velero/default has accessMode ReadOnly: Velero fails every new backup there in validation (v1.11.1 backup_controller.go L394-397); set spec.accessMode to ReadWrite to allow a new backup',
  );
  expect(readOnlyRefusal(readOnly, 'velero/default', 'deleting a backup')).toContain('Velero refuses to delete its backups');
  expect(readOnlyRefusal(location({ accessMode: 'ReadWrite' }, {}), 'velero/default', 'deleting a backup')).toBeUndefined();
  expect(readOnlyRefusal(undefined, 'velero/default', 'a new backup')).toBeUndefined();
});
