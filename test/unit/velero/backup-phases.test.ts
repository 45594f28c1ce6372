import { isRestorable, isUnfinishedBackup, isUnfinishedRestore } from '../../../src/velero/backup-phases.js';
import { viewBackup, viewPodVolumeBackup, viewRestore } from '../../../src/velero/velero-views.js';

const backup = (phase?: string, deletionTimestamp?: string) =>
  viewBackup({ metadata: { name: 'b', deletionTimestamp }, status: phase === undefined ? {} : { phase } })!;
const restore = (phase?: string, deletionTimestamp?: string) =>
  viewRestore({ metadata: { name: 'r', deletionTimestamp }, spec: { backupName: 'b' }, status: phase === undefined ? {} : { phase } })!;

// Velero 1.18's Backup phase enum, plus none at all (not yet picked up).
test.each([undefined, '', 'New', 'Queued', 'ReadyToStart', 'InProgress', 'WaitingForPluginOperations', 'WaitingForPluginOperationsPartiallyFailed', 'Finalizing', 'FinalizingPartiallyFailed', 'SomePhaseFromAFutureVelero'])(
  'a Backup in phase %s blocks a new one',
  (phase) => {
    expect(isUnfinishedBackup(backup(phase))).toBe(true);
  },
);

test.each(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Deleting'])('a Backup in phase %s does not', (phase) => {
  expect(isUnfinishedBackup(backup(phase))).toBe(false);
});

test('a Backup being deleted does not block, whatever its phase says', () => {
  expect(isUnfinishedBackup(backup('InProgress', '2024-01-01T00:00:00Z'))).toBe(false);
});

test.each([undefined, 'New', 'InProgress', 'WaitingForPluginOperations', 'WaitingForPluginOperationsPartiallyFailed', 'Finalizing', 'FinalizingPartiallyFailed'])(
  'a Restore in phase %s blocks a new one',
  (phase) => {
    expect(isUnfinishedRestore(restore(phase))).toBe(true);
  },
);

test.each(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'])('a Restore in phase %s does not', (phase) => {
  expect(isUnfinishedRestore(restore(phase))).toBe(false);
  expect(isUnfinishedRestore(restore('InProgress', '2024-01-01T00:00:00Z'))).toBe(false);
});

describe('isRestorable', () => {
  const volume = viewPodVolumeBackup({ metadata: { name: 'b-pvb', labels: { 'velero.io/backup-name': 'b' } }, spec: { volume: 'data' } })!;

  test('a Completed backup with volume data is restorable', () => {
    expect(isRestorable(backup('Completed'), [volume])).toBe(true);
  });

  test('a Completed backup without PodVolumeBackups holds no data to restore', () => {
    expect(isRestorable(backup('Completed'), [])).toBe(false);
  });

  test.each(['PartiallyFailed', 'Failed', 'InProgress', 'Deleting', undefined])('a backup in phase %s is not restorable, even with volume data', (phase) => {
    expect(isRestorable(backup(phase), [volume])).toBe(false);
  });
});
