import { claimCoverage, type CoverageFacts, type CoveragePod } from '../../../src/controller/claim-coverage.js';
import { viewPodVolumeBackup } from '../../../src/velero/velero-views.js';

const pod = (over: Partial<CoveragePod> = {}): CoveragePod => ({
  name: 'db-0',
  phase: 'Running',
  deleting: false,
  annotations: { 'backup.velero.io/backup-volumes': 'data,logs' },
  claimVolumes: [{ volume: 'data', claim: 'data-db-0' }, { volume: 'logs', claim: 'logs-db-0' }],
  mounted: ['data', 'logs'],
  ...over,
});

const pvb = (claimUid: string, phase: string, message?: string) =>
  viewPodVolumeBackup({ metadata: { name: `b-${claimUid}`, labels: { 'velero.io/pvc-uid': claimUid } }, spec: { volume: 'x', pod: { name: 'db-0', namespace: 'ns' } }, status: { phase, ...(message ? { message } : {}) } })!;

const facts = (over: Partial<CoverageFacts> = {}): CoverageFacts => ({
  claims: [
    { name: 'data-db-0', uid: 'u-data', volumeName: 'pv-data', creationTimestamp: '2026-01-01T00:00:00Z' },
    { name: 'logs-db-0', uid: 'u-logs', volumeName: 'pv-logs', creationTimestamp: '2026-01-01T00:00:00Z' },
  ],
  pods: [pod()],
  hostPathVolumes: new Set(),
  podVolumeBackups: [pvb('u-data', 'Completed'), pvb('u-logs', 'Completed')],
  startedAt: '2026-01-02T00:00:00Z',
  backupName: 'b',
  ...over,
});

// The reasons follow what Velero v1.11.1 skips with only a warning: pkg/podvolume/backupper.go L135-143 (pod not Running), L207-224 (hostPath PV, volume no container mounts).
describe('which claims a finished Backup was expected to copy, and why one was skipped', () => {
  test('every claim copied: both expected, none skipped', () => {
    expect(claimCoverage(facts())).toEqual({ expected: ['data-db-0', 'logs-db-0'], skipped: {} });
  });

  test('a claim on a hostPath PV (backupper.go L213-220)', () => {
    const coverage = claimCoverage(facts({ hostPathVolumes: new Set(['pv-logs']), podVolumeBackups: [pvb('u-data', 'Completed')] }));
    expect(coverage).toEqual({ expected: ['data-db-0', 'logs-db-0'], skipped: { 'logs-db-0': 'hostPath PV' } });
  });

  test('a pod that is not Running, or being deleted (backupper.go L135-143)', () => {
    expect(claimCoverage(facts({ pods: [pod({ phase: 'Pending' })], podVolumeBackups: [] })).skipped).toEqual({ 'data-db-0': 'pod db-0 not Running', 'logs-db-0': 'pod db-0 not Running' });
    expect(claimCoverage(facts({ pods: [pod({ deleting: true })], podVolumeBackups: [] })).skipped['data-db-0']).toBe('pod db-0 not Running');
  });

  test('a volume no container mounts (backupper.go L222-226), and a claim no pod has', () => {
    expect(claimCoverage(facts({ pods: [pod({ mounted: ['data'] })], podVolumeBackups: [pvb('u-data', 'Completed')] })).skipped).toEqual({ 'logs-db-0': 'no container of pod db-0 mounts it' });
    const unmounted = pod({ claimVolumes: [{ volume: 'data', claim: 'data-db-0' }] });
    expect(claimCoverage(facts({ pods: [unmounted], podVolumeBackups: [pvb('u-data', 'Completed')] })).skipped).toEqual({ 'logs-db-0': 'not mounted by any pod' });
  });

  test('a failed copy says what failed', () => {
    expect(claimCoverage(facts({ podVolumeBackups: [pvb('u-data', 'Completed'), pvb('u-logs', 'Failed', 'restic: read error')] })).skipped).toEqual({ 'logs-db-0': 'copy failed: restic: read error' });
  });

  test('no PodVolumeBackup where Velero had every reason to copy: a hook may have failed', () => {
    expect(claimCoverage(facts({ podVolumeBackups: [pvb('u-data', 'Completed')] })).skipped['logs-db-0']).toMatch(/^no PodVolumeBackup: a pre-backup hook may have failed \(velero backup describe b --details\)$/);
  });

  test('a claim left off every include list is not expected (the user excluded it); one created after the Backup started is not either', () => {
    const excluded = pod({ annotations: { 'backup.velero.io/backup-volumes': 'data' } });
    expect(claimCoverage(facts({ pods: [excluded], podVolumeBackups: [pvb('u-data', 'Completed')] }))).toEqual({ expected: ['data-db-0'], skipped: {} });
    const later = facts().claims.map((c) => (c.name === 'logs-db-0' ? { ...c, creationTimestamp: '2026-01-03T00:00:00Z' } : c));
    expect(claimCoverage(facts({ claims: later, podVolumeBackups: [pvb('u-data', 'Completed')] }))).toEqual({ expected: ['data-db-0'], skipped: {} });
  });
});
