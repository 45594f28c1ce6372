import fc from 'fast-check';
import { keepOf, retentionDeleteRequestName, retentionMessage, retentionPlan, type RetentionInput } from '../../../src/controller/retention-plan.js';
import { isDnsLabel } from '../../../src/velero/object-names.js';
import {
  viewBackup,
  viewDeleteBackupRequest,
  viewPodVolumeBackup,
  viewRestore,
  viewSchedule,
  type BackupView,
  type DeleteBackupRequestView,
  type PodVolumeBackupView,
  type RestoreView,
} from '../../../src/velero/velero-views.js';

const SERVICE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

interface BackupSpec {
  name: string;
  phase?: string;
  /** minutes after 03:00 */
  completedAt?: number;
  startedAt?: number;
  volumes?: number;
  deletionTimestamp?: string;
}

const at = (minutes: number | undefined): string | undefined =>
  minutes === undefined ? undefined : new Date(Date.UTC(2026, 11, 1, 3, minutes)).toISOString().replace(/\.\d+Z$/, 'Z');

const backup = (b: BackupSpec): BackupView =>
  viewBackup({
    metadata: { name: b.name, uid: `uid-${b.name}`, labels: { 'wutong.io/service_id': SERVICE }, ...(b.deletionTimestamp ? { deletionTimestamp: b.deletionTimestamp } : {}) },
    status: { phase: b.phase ?? 'Completed', startTimestamp: at(b.startedAt ?? b.completedAt), completionTimestamp: at(b.completedAt) },
  })!;

const restore = (name: string, backupName: string, phase: string): RestoreView =>
  viewRestore({ metadata: { name, labels: { 'wutong.io/service_id': SERVICE } }, spec: { backupName }, status: { phase } })!;

const deleteRequest = (backupName: string, phase = ''): DeleteBackupRequestView =>
  viewDeleteBackupRequest({ metadata: { name: `${backupName}-delete-0000`, labels: { 'velero.io/backup-name': backupName } }, spec: { backupName }, status: { phase } })!;

const volumesFor = (b: BackupSpec): PodVolumeBackupView[] =>
  Array.from({ length: b.volumes ?? 1 }, (_, i) => viewPodVolumeBackup({ metadata: { name: `${b.name}-pvb-${i}`, labels: { 'velero.io/backup-name': b.name } }, spec: { volume: 'data' }, status: { phase: 'Completed' } })!);

/** b1 (oldest) … b6 (newest), all Completed with volume data, unless `change` says otherwise. */
function six(change: (b: BackupSpec) => Partial<BackupSpec> = () => ({})): BackupSpec[] {
  return [1, 2, 3, 4, 5, 6].map((n) => {
    const base: BackupSpec = { name: `b${n}`, completedAt: n * 10 };
    return { ...base, ...change(base) };
  });
}

function input(specs: BackupSpec[], keep: number, extra: { restores?: RestoreView[]; deleteRequests?: DeleteBackupRequestView[] } = {}): RetentionInput {
  const volumes = new Map(specs.map((b) => [b.name, volumesFor(b)]));
  const requests = extra.deleteRequests ?? [];
  return {
    backups: specs.map(backup),
    podVolumeBackupsOf: (name) => volumes.get(name) ?? [],
    restores: extra.restores ?? [],
    deleteRequestsFor: (name) => requests.filter((r) => r.spec.backupName === name),
    keep,
  };
}

const names = (backups: readonly BackupView[]): string[] => backups.map((b) => b.metadata.name);

describe('retentionPlan', () => {
  test('keep 3 over 6 completed backups deletes the 3 oldest, oldest first', () => {
    const plan = retentionPlan(input(six(), 3));
    expect(names(plan.toDelete)).toEqual(['b1', 'b2', 'b3']);
    expect(plan.completed).toBe(6);
    expect(plan.protected).toEqual([]);
  });

  test('ranks by completion time, not by name or by the order the list came in', () => {
    const specs = six((b) => ({ completedAt: b.name === 'b1' ? 100 : b.completedAt }));
    const plan = retentionPlan({ ...input(specs, 3), backups: input(specs, 3).backups.slice().reverse() });
    expect(names(plan.toDelete)).toEqual(['b2', 'b3', 'b4']);
  });

  test('equal completion times: the later start is newer; equal starts: the greater name is newer', () => {
    const specs: BackupSpec[] = [
      { name: 'x-a', completedAt: 50, startedAt: 10 },
      { name: 'x-b', completedAt: 50, startedAt: 20 },
      { name: 'x-c', completedAt: 50, startedAt: 20 },
    ];
    expect(names(retentionPlan(input(specs, 2)).toDelete)).toEqual(['x-a']);
    expect(names(retentionPlan(input(specs, 1)).toDelete)).toEqual(['x-a', 'x-b']);
  });

  test('the newest restorable backup stays when every newer one holds no volume data', () => {
    // b4..b6 Completed but without PodVolumeBackups (nothing to restore); b2 is the newest with data.
    const plan = retentionPlan(input(six((b) => ({ volumes: ['b1', 'b2'].includes(b.name) ? 1 : 0 })), 3));
    expect(names(plan.toDelete)).toEqual(['b1', 'b3']);
    expect(plan.protected).toEqual([{ backup: 'b2', reason: 'newest restorable' }]);
  });

  test('when the newest restorable one is among those kept, nothing more is kept', () => {
    const plan = retentionPlan(input(six(), 3));
    expect(plan.protected).toEqual([]);
  });

  test('a restore in progress keeps the backup it reads from; a finished one does not', () => {
    const restores = [restore('r1', 'b1', 'InProgress'), restore('r2', 'b2', 'Completed'), restore('r3', 'b3', 'Failed')];
    const plan = retentionPlan(input(six(), 3, { restores }));
    expect(names(plan.toDelete)).toEqual(['b2', 'b3']);
    expect(plan.protected).toEqual([{ backup: 'b1', reason: 'unfinished restore' }]);
  });

  test('a restore not yet picked up by Velero (no phase) keeps its backup too', () => {
    const plan = retentionPlan(input(six(), 3, { restores: [restore('r1', 'b2', '')] }));
    expect(names(plan.toDelete)).toEqual(['b1', 'b3']);
  });

  test('backups already on their way out are not requested again and hold no slot: an interrupted pass finishes without deleting more', () => {
    // The first pass asked for b3 before it was killed.
    const plan = retentionPlan(input(six(), 3, { deleteRequests: [deleteRequest('b3')] }));
    expect(names(plan.toDelete)).toEqual(['b1', 'b2']);
    expect(plan.completed).toBe(5);
  });

  test('a newest backup someone deleted by hand is not counted as kept', () => {
    // b6 has a pending request from the API: b5, b4 and b3 are the three that stay.
    const plan = retentionPlan(input(six(), 3, { deleteRequests: [deleteRequest('b6', 'InProgress')] }));
    expect(names(plan.toDelete)).toEqual(['b1', 'b2']);
  });

  test('a deletionTimestamp or phase Deleting means on its way too', () => {
    const plan = retentionPlan(input(six((b) => (b.name === 'b1' ? { deletionTimestamp: '2026-12-01T04:00:00Z' } : b.name === 'b2' ? { phase: 'Deleting' } : {})), 3));
    expect(names(plan.toDelete)).toEqual(['b3']);
  });

  test('Failed and PartiallyFailed backups are left to their TTL and hold no slot', () => {
    const specs = [...six(), { name: 'f1', phase: 'Failed', completedAt: 1 }, { name: 'p1', phase: 'PartiallyFailed', completedAt: 100 }, { name: 'n1', phase: 'InProgress' }];
    const plan = retentionPlan(input(specs, 3));
    expect(names(plan.toDelete)).toEqual(['b1', 'b2', 'b3']);
  });

  test('fewer completed backups than keep: nothing to delete', () => {
    expect(retentionPlan(input(six().slice(0, 3), 3)).toDelete).toEqual([]);
    expect(retentionPlan(input([], 3)).toDelete).toEqual([]);
  });

  test('running the plan again once its requests exist asks for nothing more (idempotent)', () => {
    const first = input(six(), 3);
    const plan = retentionPlan(first);
    const requested = plan.toDelete.map((b) => deleteRequest(b.metadata.name));
    expect(retentionPlan({ ...first, deleteRequestsFor: (name) => requested.filter((r) => r.spec.backupName === name) }).toDelete).toEqual([]);
    // And once Velero has deleted them.
    const left = new Set(names(plan.toDelete));
    expect(retentionPlan({ ...first, backups: first.backups.filter((b) => !left.has(b.metadata.name)) }).toDelete).toEqual([]);
  });

  test('property: whatever the backups, at least keep of them survive (or all, if fewer), the protected ones among them, and a second pass asks for nothing', () => {
    const spec = fc.record({
      phase: fc.constantFrom('Completed', 'Completed', 'Completed', 'Failed', 'PartiallyFailed', 'InProgress', 'Deleting'),
      completedAt: fc.integer({ min: 0, max: 50 }),
      volumes: fc.integer({ min: 0, max: 2 }),
      requested: fc.boolean(),
      restoring: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 14 }), fc.integer({ min: 1, max: 8 }), (items, keep) => {
        const specs: BackupSpec[] = items.map((item, i) => ({ name: `b${i}`, phase: item.phase, completedAt: item.completedAt, volumes: item.volumes }));
        const deleteRequests = items.flatMap((item, i) => (item.requested ? [deleteRequest(`b${i}`)] : []));
        const restores = items.flatMap((item, i) => (item.restoring ? [restore(`r${i}`, `b${i}`, 'InProgress')] : []));
        const given = input(specs, keep, { deleteRequests, restores });
        const plan = retentionPlan(given);
        const deleted = new Set(names(plan.toDelete));
        const standing = specs.filter((b, i) => b.phase === 'Completed' && !items[i]!.requested);
        const surviving = standing.filter((b) => !deleted.has(b.name));
        expect(surviving.length).toBeGreaterThanOrEqual(Math.min(keep, standing.length));
        expect(plan.toDelete.every((b) => b.status.phase === 'Completed')).toBe(true);
        for (const r of restores) expect(deleted.has(r.spec.backupName)).toBe(false);
        // The newest restorable standing backup is never deleted.
        const restorable = standing.filter((b) => (b.volumes ?? 0) > 0).sort((a, b) => (b.completedAt ?? 0) - (a.completedAt ?? 0) || (a.name < b.name ? 1 : -1))[0];
        if (restorable) expect(deleted.has(restorable.name)).toBe(false);
        const after = [...deleteRequests, ...plan.toDelete.map((b) => deleteRequest(b.metadata.name))];
        expect(retentionPlan({ ...given, deleteRequestsFor: (name) => after.filter((r) => r.spec.backupName === name) }).toDelete).toEqual([]);
      }),
    );
  });
});

describe('keepOf', () => {
  const schedule = (keep?: string) =>
    viewSchedule({ metadata: { name: 's', annotations: keep === undefined ? {} : { 'backup.wutong.io/keep': keep } }, spec: { schedule: '0 3 * * *', template: {} } })!;

  test.each([
    ['3', 3],
    ['12', 12],
    [' 7 ', 7],
  ])('keep %j is %d', (text, expected) => {
    expect(keepOf([schedule(text)])).toBe(expected);
  });

  test.each([undefined, '', '0', '-1', '2.5', 'three', '1e3', '07'])('keep %j means no pruning', (text) => {
    expect(keepOf([schedule(text)])).toBeUndefined();
  });

  test('no Schedule: no pruning; two Schedules: the larger keep wins, one without keep changes nothing', () => {
    expect(keepOf([])).toBeUndefined();
    expect(keepOf([schedule('3'), schedule('5'), schedule()])).toBe(5);
    expect(keepOf([schedule(), schedule('4')])).toBe(4);
  });
});

describe('retentionDeleteRequestName', () => {
  test('the same Backup always gets the same request name, a Backup of another uid another', () => {
    const b = backup({ name: `${SERVICE}-schedule-20261201030000`, completedAt: 1 });
    const again = backup({ name: `${SERVICE}-schedule-20261201030000`, completedAt: 2 });
    expect(retentionDeleteRequestName(b)).toBe(retentionDeleteRequestName(again));
    const recreated = viewBackup({ metadata: { name: b.metadata.name, uid: 'another-uid' }, status: { phase: 'Completed' } })!;
    expect(retentionDeleteRequestName(recreated)).not.toBe(retentionDeleteRequestName(b));
  });

  test('is a valid object name that says what it is, even for a long Backup name', () => {
    const short = retentionDeleteRequestName(backup({ name: 'b1', completedAt: 1 }));
    // 4 hex of sha256("uid-b1"), computed independently: printf uid-b1 | sha256sum | cut -c1-4
    expect(short).toBe('b1-delete-2579');
    const long = retentionDeleteRequestName(backup({ name: `${SERVICE}-schedule-20261201030000`, completedAt: 1 }));
    expect(isDnsLabel(long)).toBe(true);
    expect(long).toContain('-delete-');
  });
});

describe('retentionMessage', () => {
  test('names what was deleted, oldest first, and what was kept beyond keep and why', () => {
    expect(retentionMessage(retentionPlan(input(six(), 3)), 3)).toBe('deleted 3 of 6 completed backups (keep 3): b1, b2, b3');
    const restoring = retentionPlan(input(six(), 3, { restores: [restore('r1', 'b1', 'InProgress')] }));
    expect(retentionMessage(restoring, 3)).toBe('deleted 2 of 6 completed backups (keep 3): b2, b3; kept beyond keep: b1 (unfinished restore)');
  });

  test('a large pass names 10 backups and counts the rest, so the Event stays under the API server\'s 1 kB', () => {
    const many: BackupSpec[] = Array.from({ length: 41 }, (_, i) => ({ name: `${SERVICE}-schedule-2026120103${String(i).padStart(2, '0')}00`, completedAt: i }));
    const message = retentionMessage(retentionPlan(input(many, 3)), 3);
    expect(message).toMatch(/^deleted 38 of 41 completed backups \(keep 3\): [^,]+(, [^,]+){9} and 28 more$/);
    expect(Buffer.byteLength(message)).toBeLessThan(1024);
  });
});
