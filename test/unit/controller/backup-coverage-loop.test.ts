import { needsCoverage } from '../../../src/controller/backup-coverage-loop.js';
import { coveragePodOf } from '../../../src/kube/component-pods.js';
import { viewBackup } from '../../../src/velero/velero-views.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const backup = (phase: string, completed = '2026-06-01T11:59:00Z', annotations: Record<string, string> = {}, deleting = false) =>
  viewBackup({ metadata: { name: 'b', annotations, ...(deleting ? { deletionTimestamp: '2026-06-01T11:59:30Z' } : {}) }, status: { phase, completionTimestamp: completed } })!;

describe('which Backups the controller judges', () => {
  test('a Backup that has just finished copying (Completed or PartiallyFailed), once', () => {
    expect(needsCoverage(backup('Completed'), NOW)).toBe(true);
    expect(needsCoverage(backup('PartiallyFailed'), NOW)).toBe(true);
    expect(needsCoverage(backup('Completed', undefined, { 'backup.wutong.io/coverage': '{"expected":[],"skipped":{}}' }), NOW)).toBe(false);
  });

  test('not one still running, failed outright, being deleted, or finished more than an hour before (synced from storage)', () => {
    for (const phase of ['', 'New', 'InProgress', 'Finalizing', 'Failed', 'FailedValidation']) expect(needsCoverage(backup(phase), NOW)).toBe(false);
    expect(needsCoverage(backup('Completed', undefined, {}, true), NOW)).toBe(false);
    expect(needsCoverage(backup('Completed', '2026-06-01T10:59:00Z'), NOW)).toBe(false);
  });
});

test('a pod as the coverage reads it: its PVC volumes, the volumes its containers (not init containers) mount, phase and deletion', () => {
  const pod = coveragePodOf({
    metadata: { name: 'db-0', annotations: { 'backup.velero.io/backup-volumes': 'data', n: 1 }, deletionTimestamp: '2026-06-01T00:00:00Z' },
    spec: {
      initContainers: [{ name: 'init', volumeMounts: [{ name: 'logs', mountPath: '/l' }] }],
      containers: [{ name: 'db', volumeMounts: [{ name: 'data', mountPath: '/d' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c-data' } }, { name: 'logs', persistentVolumeClaim: { claimName: 'c-logs' } }, { name: 'tmp', emptyDir: {} }],
    },
    status: { phase: 'Running' },
  });
  expect(pod).toEqual({
    name: 'db-0',
    phase: 'Running',
    deleting: true,
    annotations: { 'backup.velero.io/backup-volumes': 'data' },
    claimVolumes: [{ volume: 'data', claim: 'c-data' }, { volume: 'logs', claim: 'c-logs' }],
    mounted: ['data'],
  });
  expect(coveragePodOf({ metadata: {} })).toBeUndefined();
});
