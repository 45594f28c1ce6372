import { componentCoverage, type ComponentBackups } from '../../../src/controller/coverage.js';
import { VELERO_LABEL } from '../../../src/velero/velero-labels.js';
import type { BackupView, PodVolumeBackupView, ScheduleView } from '../../../src/velero/velero-views.js';

const SERVICE_ID = '0123456789abcdef0123456789abcdef';
const meta = (name: string, creationTimestamp: string, extra: Partial<BackupView['metadata']> = {}): BackupView['metadata'] => ({
  name,
  namespace: 'velero',
  uid: `uid-${name}`,
  resourceVersion: '1',
  creationTimestamp,
  labels: { [VELERO_LABEL.serviceId]: SERVICE_ID },
  annotations: {},
  ...extra,
});

function backup(name: string, phase: string | undefined, startTimestamp: string, completionTimestamp?: string, extra: Partial<BackupView['metadata']> = {}): BackupView {
  return {
    metadata: meta(name, startTimestamp, extra),
    spec: {},
    status: { ...(phase !== undefined && { phase }), startTimestamp, ...(completionTimestamp && { completionTimestamp }) },
  };
}

function schedule(cron: string, creationTimestamp: string, paused = false, source = 'policy'): ScheduleView {
  return {
    metadata: { ...meta(`${SERVICE_ID}-schedule`, creationTimestamp), labels: { [VELERO_LABEL.serviceId]: SERVICE_ID, [VELERO_LABEL.scheduleSource]: source } },
    spec: { schedule: cron, paused, template: {} },
    status: { phase: 'Enabled' },
  };
}

const volume = (backupName: string, totalBytes: number): PodVolumeBackupView => ({
  metadata: meta(`${backupName}-${totalBytes}`, '2026-01-01T00:00:00Z'),
  spec: { volume: 'data', pod: { name: 'db-0', namespace: 'shop' } },
  status: { phase: 'Completed', progress: { totalBytes, bytesDone: totalBytes } },
});

function velero(schedules: ScheduleView[], backups: BackupView[], volumes: PodVolumeBackupView[] = []): ComponentBackups {
  return {
    schedules,
    backups,
    podVolumeBackupsOf: (name) => volumes.filter((v) => v.metadata.name.startsWith(`${name}-`)),
  };
}

const running = { state: 'running' as const };
const at = (iso: string): Date => new Date(iso);

describe('a daily 03:00 Schedule whose last success completed on Jan 1st at 03:20', () => {
  const daily = schedule('0 3 * * *', '2025-12-01T00:00:00Z');
  const backups = [backup('b1', 'Completed', '2026-01-01T03:00:00Z', '2026-01-01T03:20:00Z')];

  test('is due at the next run (Jan 2nd 03:00) plus half a day of grace', () => {
    const c = componentCoverage(running, velero([daily], backups), at('2026-01-02T10:00:00Z'));
    expect(c.protected).toBe(true);
    expect(c.lastSuccessAt).toEqual(at('2026-01-01T03:20:00Z'));
    expect(c.dueAt).toEqual(at('2026-01-02T15:00:00Z'));
    expect(c.schedule).toEqual({ name: `${SERVICE_ID}-schedule`, cron: '0 3 * * *', paused: false, source: 'policy' });
  });

  test('is not overdue a minute before the due time, and is a minute after', () => {
    expect(componentCoverage(running, velero([daily], backups), at('2026-01-02T14:59:00Z')).overdue).toBe(false);
    expect(componentCoverage(running, velero([daily], backups), at('2026-01-02T15:01:00Z')).overdue).toBe(true);
  });

  test('is never overdue while paused (a stopped component), nor once the component is deleted', () => {
    const late = at('2026-02-01T00:00:00Z');
    expect(componentCoverage({ state: 'stopped' }, velero([schedule('0 3 * * *', '2025-12-01T00:00:00Z', true)], backups), late).overdue).toBe(false);
    expect(componentCoverage(undefined, velero([daily], backups), late)).toMatchObject({ state: 'deleted', overdue: false, protected: true });
  });
});

test('an hourly Schedule gets the one-hour minimum grace, not half an hour', () => {
  const c = componentCoverage(running, velero([schedule('0 * * * *', '2025-12-01T00:00:00Z')], [backup('b1', 'Completed', '2026-01-01T05:00:00Z', '2026-01-01T05:02:00Z')]), at('2026-01-01T06:59:00Z'));
  expect(c.dueAt).toEqual(at('2026-01-01T07:00:00Z'));
  expect(c.overdue).toBe(false);
});

test('a new Schedule over an old success is overdue at once: the newest restorable copy is that old', () => {
  const c = componentCoverage(running, velero([schedule('0 3 * * *', '2026-01-10T12:00:00Z')], [backup('old', 'Completed', '2025-06-01T00:00:00Z', '2025-06-01T00:10:00Z')]), at('2026-01-11T10:00:00Z'));
  expect(c.dueAt).toEqual(at('2025-06-01T15:00:00Z'));
  expect(c.overdue).toBe(true);
});

test('a Schedule with no backup at all is overdue once its first run plus grace has passed', () => {
  const c = componentCoverage(running, velero([schedule('@every 1h', '2026-01-01T00:00:00Z')], []), at('2026-01-01T02:00:01Z'));
  expect(c.dueAt).toEqual(at('2026-01-01T02:00:00Z'));
  expect(c.overdue).toBe(true);
  expect(c.lastBackup).toBeUndefined();
  expect(c.lastSuccessAt).toBeUndefined();
});

test('a cron Velero cannot run is due at once: it will never make a backup', () => {
  const c = componentCoverage(running, velero([schedule('0 0 * * 7', '2026-01-01T00:00:00Z')], []), at('2026-01-01T00:00:01Z'));
  expect(c.dueAt).toEqual(at('2026-01-01T00:00:00Z'));
  expect(c.overdue).toBe(true);
});

test('the last backup is the newest of any phase, with its PodVolumeBackups summed; only Completed counts as a success', () => {
  const backups = [
    backup('ok', 'Completed', '2026-01-01T03:00:00Z', '2026-01-01T03:10:00Z'),
    backup('partial', 'PartiallyFailed', '2026-01-02T03:00:00Z', '2026-01-02T03:10:00Z'),
    backup('running', 'InProgress', '2026-01-03T03:00:00Z'),
  ];
  const c = componentCoverage(running, velero([], backups, [volume('running', 1000), volume('running', 234), volume('ok', 5)]), at('2026-01-03T03:05:00Z'));
  expect(c.protected).toBe(false);
  expect(c.overdue).toBe(false);
  expect(c.lastBackup).toEqual({ name: 'running', phase: 'InProgress', startedAt: at('2026-01-03T03:00:00Z'), completedAt: undefined, bytes: 1234 });
  expect(c.lastSuccessAt).toEqual(at('2026-01-01T03:10:00Z'));
  expect(c.failed).toBe(false);
});

test('failed means the newest backup ended Failed, PartiallyFailed or FailedValidation; a newer one in progress clears it', () => {
  for (const phase of ['Failed', 'PartiallyFailed', 'FailedValidation']) {
    expect(componentCoverage(running, velero([], [backup('f', phase, '2026-01-02T00:00:00Z', '2026-01-02T00:01:00Z')]), at('2026-01-03T00:00:00Z')).failed).toBe(true);
  }
  const retried = [backup('f', 'Failed', '2026-01-02T00:00:00Z', '2026-01-02T00:01:00Z'), backup('r', 'InProgress', '2026-01-02T01:00:00Z')];
  expect(componentCoverage(running, velero([], retried), at('2026-01-03T00:00:00Z')).failed).toBe(false);
});

test('a Backup Velero has not picked up yet is "New", and Backups being deleted are not the last backup', () => {
  const backups = [
    backup('kept', 'Completed', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z'),
    backup('going', 'Completed', '2026-01-04T00:00:00Z', '2026-01-04T00:01:00Z', { deletionTimestamp: '2026-01-05T00:00:00Z' }),
    backup('deleting', 'Deleting', '2026-01-03T00:00:00Z', '2026-01-03T00:01:00Z'),
  ];
  expect(componentCoverage(running, velero([], backups), at('2026-01-05T00:00:00Z')).lastBackup?.name).toBe('kept');
  const fresh: BackupView = { metadata: meta('fresh', '2026-01-06T00:00:00Z'), spec: {}, status: {} };
  expect(componentCoverage(running, velero([], [...backups, fresh]), at('2026-01-06T00:00:01Z')).lastBackup).toMatchObject({ name: 'fresh', phase: 'New' });
});

test('of two Schedules (a region API one left over), the active one is the component\'s', () => {
  const paused = { ...schedule('0 1 * * *', '2025-01-01T00:00:00Z', true), metadata: { ...schedule('x', '2025-01-01T00:00:00Z').metadata, name: 'a-legacy' } };
  const active = schedule('0 3 * * *', '2025-01-01T00:00:00Z', false, 'api');
  expect(componentCoverage(running, velero([paused, active], []), at('2026-01-01T00:00:00Z')).schedule).toMatchObject({ cron: '0 3 * * *', source: 'api', paused: false });
});
