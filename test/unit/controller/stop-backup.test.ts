import type { ComponentSnapshot } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import { stopBackupStep, type StopBackupInput } from '../../../src/controller/stop-backup.js';
import type { BackupView, PodVolumeBackupView } from '../../../src/velero/velero-views.js';
import { claimSummary, workloadSummary } from '../components/summaries.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const STOP = '2026-12-02T08:00:00.123Z';
/** 6 hex of sha256("acme-prod"): the namespace's tag in every name the controller derives for the component. */
const TAG = 'd2836b';
const NAME = `${SID}-${TAG}-stop-20261202080000`;
const labels = { service_id: SID };
const claim = (name: string, annotations: Record<string, string>, deletionTimestamp?: string) =>
  claimSummary({ name, namespace: 'acme-prod', uid: `u-${name}`, labels, annotations, ...(deletionTimestamp ? { deletionTimestamp } : {}) });
const stoppedAt = (at: string) => ({ 'backup.wutong.io/ran-until': at });

const stopped: ComponentSnapshot = {
  key: componentKey('acme-prod', SID),
  serviceId: SID,
  namespace: 'acme-prod',
  ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0a1b2c' },
  labels,
  claims: [claim('data-0', stoppedAt(STOP))],
  pods: [],
  runningPods: [],
  state: 'stopped',
};

function backup(name: string, phase: string, startTimestamp: string): BackupView {
  return {
    metadata: { name, namespace: 'velero', uid: `u-${name}`, resourceVersion: '1', creationTimestamp: startTimestamp, labels: {}, annotations: {} },
    spec: {},
    status: { phase, startTimestamp },
  };
}
/** A Completed PodVolumeBackup of the claim with this uid (Velero labels it velero.io/pvc-uid). */
const copyOf = (claimUid: string): PodVolumeBackupView => ({
  metadata: { name: `v-${claimUid}`, namespace: 'velero', uid: `v-${claimUid}`, resourceVersion: '1', creationTimestamp: '', labels: { 'velero.io/pvc-uid': claimUid }, annotations: {} },
  spec: { volume: 'data', pod: { name: 'p', namespace: 'acme-prod' } },
  status: { phase: 'Completed' },
});
const volumes: PodVolumeBackupView[] = [copyOf('u-data-0')];
const base: StopBackupInput = { component: stopped, backupOnStop: true, backups: [], podVolumeBackupsOf: () => volumes };

test('stopped after a run no backup holds: one backup, named by the stop (to the second)', () => {
  expect(stopBackupStep(base)).toEqual({ kind: 'back-up', backup: NAME, stoppedAt: STOP });
});

test('the latest stop across the PVCs names it, and a PVC still marked running means it has not stopped', () => {
  const two = { ...stopped, claims: [claim('data-0', stoppedAt(STOP)), claim('logs-0', stoppedAt('2026-12-02T09:30:00Z'))] };
  expect(stopBackupStep({ ...base, component: two })).toMatchObject({ kind: 'back-up', backup: `${SID}-${TAG}-stop-20261202093000` });
  const half = { ...stopped, claims: [claim('data-0', stoppedAt(STOP)), claim('logs-0', { 'backup.wutong.io/ran-until': 'running' })] };
  expect(stopBackupStep({ ...base, component: half })).toMatchObject({ kind: 'none', why: 'no run is known to have ended' });
});

test('nothing without the option, while it runs or has a workload (a restart is not a stop), or when no run is known', () => {
  expect(stopBackupStep({ ...base, backupOnStop: false }).kind).toBe('none');
  expect(stopBackupStep({ ...base, backupOnStop: undefined }).kind).toBe('none');
  expect(stopBackupStep({ ...base, component: { ...stopped, state: 'running', runningPods: ['p'] } }).kind).toBe('none');
  expect(stopBackupStep({ ...base, component: { ...stopped, workload: workloadSummary({ namespace: 'acme-prod', name: 'gr0a1b2c', uid: 'w', labels }) } }).kind).toBe('none');
  expect(stopBackupStep({ ...base, component: { ...stopped, claims: [claim('data-0', {})] } })).toMatchObject({ kind: 'none', why: 'no run is known to have ended' });
});

test('nothing once a PVC is being deleted (no pod may mount it) or when there is none', () => {
  expect(stopBackupStep({ ...base, component: { ...stopped, claims: [claim('data-0', stoppedAt(STOP), '2026-12-02T08:01:00Z')] } })).toMatchObject({ kind: 'none', why: 'no PVC left to mount' });
  expect(stopBackupStep({ ...base, component: { ...stopped, claims: [] } }).kind).toBe('none');
});

test('covered by any restorable backup Velero started at or after the stop (the console\'s, a schedule\'s); one from before the stop does not count', () => {
  const after = backup(`${SID}-backup-x`, 'Completed', '2026-12-02T08:00:01Z');
  expect(stopBackupStep({ ...base, backups: [after] })).toEqual({ kind: 'none', why: `Backup ${SID}-backup-x holds the last run's data of every claim` });
  const before = backup(`${SID}-schedule-y`, 'Completed', '2026-12-02T07:59:59Z');
  expect(stopBackupStep({ ...base, backups: [before] }).kind).toBe('back-up');
  // Completed without volume data holds nothing.
  expect(stopBackupStep({ ...base, backups: [after], podVolumeBackupsOf: () => [] }).kind).toBe('back-up');
});

test('a backup that copied only some claims (Velero skipped one, and still says Completed) does not hold the last run: the stop is backed up', () => {
  const two = { ...stopped, claims: [claim('data-0', stoppedAt(STOP)), claim('logs-0', stoppedAt(STOP))] };
  const after = backup(`${SID}-backup-x`, 'Completed', '2026-12-02T08:00:01Z');
  expect(stopBackupStep({ ...base, component: two, backups: [after], podVolumeBackupsOf: () => [copyOf('u-data-0')] })).toMatchObject({ kind: 'back-up' });
  expect(stopBackupStep({ ...base, component: two, backups: [after], podVolumeBackupsOf: () => [copyOf('u-data-0'), copyOf('u-logs-0')] }).kind).toBe('none');
});

test('one try per stop: its Backup in any phase, or a recorded holder that never ran, ends it', () => {
  for (const phase of ['New', 'InProgress', 'Failed', 'PartiallyFailed']) {
    expect(stopBackupStep({ ...base, backups: [backup(NAME, phase, '2026-12-02T08:00:05Z')] })).toEqual({ kind: 'none', why: `Backup ${NAME} was taken for this stop` });
  }
  const tried = { ...stopped, claims: [claim('data-0', { ...stoppedAt(STOP), 'backup.wutong.io/stop-backup': NAME })] };
  expect(stopBackupStep({ ...base, component: tried })).toMatchObject({ kind: 'none', why: `Backup ${NAME} was tried for this stop and could not start` });
  // A try recorded for an earlier stop does not count for this one.
  const older = { ...stopped, claims: [claim('data-0', { ...stoppedAt(STOP), 'backup.wutong.io/stop-backup': `${SID}-${TAG}-stop-20261101000000` })] };
  expect(stopBackupStep({ ...base, component: older }).kind).toBe('back-up');
});

test('the name carries the namespace\'s tag: the same service_id stopped at the same second in another namespace is another Backup', () => {
  const theirs = { ...stopped, key: componentKey('mallory-dev', SID), namespace: 'mallory-dev' };
  const step = stopBackupStep({ ...base, component: theirs });
  expect(step).toEqual({ kind: 'back-up', backup: `${SID}-e578a7-stop-20261202080000`, stoppedAt: STOP });
  // A's Backup for the same stop does not count as B's (nor B's as A's).
  expect(stopBackupStep({ ...base, component: theirs, backups: [backup(NAME, 'Failed', '2026-12-02T08:00:05Z')] }).kind).toBe('back-up');
});
