import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
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

// The phase enums of the CRDs the e2e cluster installs (<repo>/../shared/velero-crds, as test/e2e/cluster/cluster.ts
// reads them): every phase a supported Velero can write is classified, and the two Backup phases added since v1.11.1
// (Queued and ReadyToStart, new in v1.18.0: vmware-tanzu/velero v1.18.0 pkg/apis/velero/v1/backup_types.go L299-303,
// absent at v1.17.2) block a second backup.
describe('the phases of the Velero CRDs', () => {
  const crdDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'velero-crds');
  const phasesOf = (version: string, kind: 'backups' | 'restores'): string[] => {
    const crd = parse(readFileSync(join(crdDir, version, `velero.io_${kind}.yaml`), 'utf8')) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { status: { properties: { phase: { enum: string[] } } } } } } }> };
    };
    return crd.spec.versions[0]?.schema.openAPIV3Schema.properties.status.properties.phase.enum ?? [];
  };

  test('v1.18.1 added exactly Queued and ReadyToStart to the Backup phases of v1.11.1, and both block a new backup', () => {
    const added = phasesOf('v1.18.1', 'backups').filter((p) => !phasesOf('v1.11.1', 'backups').includes(p));
    expect(added).toEqual(['Queued', 'ReadyToStart']);
    for (const phase of added) expect(isUnfinishedBackup(backup(phase))).toBe(true);
  });

  test.each(['v1.11.1', 'v1.18.1'])('every Backup and Restore phase of %s is either running or finished as Velero means it', (version) => {
    const finished = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
    for (const phase of phasesOf(version, 'backups')) expect(isUnfinishedBackup(backup(phase))).toBe(![...finished, 'Deleting'].includes(phase));
    for (const phase of phasesOf(version, 'restores')) expect(isUnfinishedRestore(restore(phase))).toBe(!finished.includes(phase));
  });
});
