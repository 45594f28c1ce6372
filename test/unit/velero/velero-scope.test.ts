import { componentKey } from '../../../src/components/component-key.js';
import { backupComponent, restoreComponent, scheduleComponent } from '../../../src/velero/velero-scope.js';
import { viewBackup, viewRestore, viewSchedule, type BackupView, type RestoreView, type ScheduleView } from '../../../src/velero/velero-views.js';

// A Velero object is a component's when its wutong.io/service_id label AND
// its scope (the one namespace it includes) say so: the label alone is any
// tenant's to write on objects in her own namespace.

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const A = componentKey('acme-prod', SID);

/** `serviceId` null: no wutong.io/service_id label at all. */
const meta = (name: string, serviceId: string | null) => ({ name, namespace: 'velero', uid: `u-${name}`, labels: serviceId === null ? {} : { 'wutong.io/service_id': serviceId } });
const backup = (name: string, included: string[] | undefined, serviceId: string | null = SID): BackupView =>
  viewBackup({ metadata: meta(name, serviceId), spec: included === undefined ? {} : { includedNamespaces: included }, status: { phase: 'Completed' } })!;
const schedule = (included: string[] | undefined, serviceId: string | null = SID): ScheduleView =>
  viewSchedule({ metadata: meta('s', serviceId), spec: { schedule: '0 3 * * *', template: included === undefined ? {} : { includedNamespaces: included } } })!;
const restore = (backupName: string, included: string[] | undefined, serviceId: string | null = SID): RestoreView =>
  viewRestore({ metadata: meta('r', serviceId), spec: { backupName, ...(included === undefined ? {} : { includedNamespaces: included }) }, status: {} })!;

describe('Backups and Schedules', () => {
  test('label and a scope of exactly the component\'s namespace: the component\'s (the region API\'s have this shape too)', () => {
    expect(backupComponent(backup('b', ['acme-prod']))).toBe(A);
    expect(scheduleComponent(schedule(['acme-prod']))).toBe(A);
  });

  test('the same label with another namespace\'s scope is that namespace\'s component, never this one', () => {
    expect(backupComponent(backup('b', ['mallory-dev']))).toBe(componentKey('mallory-dev', SID));
    expect(backupComponent(backup('b', ['mallory-dev']))).not.toBe(A);
    expect(scheduleComponent(schedule(['mallory-dev']))).toBe(componentKey('mallory-dev', SID));
  });

  test.each([
    ['no includedNamespaces (everything)', undefined],
    ['an empty list (everything)', []],
    ['a wildcard', ['*']],
    ['two namespaces', ['acme-prod', 'mallory-dev']],
    ['the same namespace twice', ['acme-prod', 'acme-prod']],
    ['an empty name', ['']],
    ['a name with a slash', ['acme-prod/x']],
  ])('%s: nobody\'s component', (_what, included) => {
    expect(backupComponent(backup('b', included))).toBeUndefined();
    expect(scheduleComponent(schedule(included))).toBeUndefined();
  });

  test('a scope without the service_id label (or with an empty one) is no component', () => {
    expect(backupComponent(backup('b', ['acme-prod'], null))).toBeUndefined();
    expect(backupComponent(backup('b', ['acme-prod'], ''))).toBeUndefined();
    expect(scheduleComponent(schedule(['acme-prod'], null))).toBeUndefined();
  });
});

describe('Restores', () => {
  const backups = new Map([
    ['a-backup', backup('a-backup', ['acme-prod'])],
    ['b-backup', backup('b-backup', ['mallory-dev'])],
    ['wide-backup', backup('wide-backup', undefined)],
  ]);
  const backupOf = (name: string): BackupView | undefined => backups.get(name);

  test('ours name the namespace: theirs by their own scope, whatever Backup they restore', () => {
    expect(restoreComponent(restore('a-backup', ['acme-prod']), backupOf)).toBe(A);
    expect(restoreComponent(restore('b-backup', ['acme-prod']), backupOf)).toBe(A);
    expect(restoreComponent(restore('a-backup', ['mallory-dev']), backupOf)).toBe(componentKey('mallory-dev', SID));
  });

  test('the region API\'s include no namespace: the component of the Backup they restore, when its label agrees', () => {
    expect(restoreComponent(restore('a-backup', undefined), backupOf)).toBe(A);
    expect(restoreComponent(restore('a-backup', []), backupOf)).toBe(A);
    expect(restoreComponent(restore('b-backup', undefined), backupOf)).toBe(componentKey('mallory-dev', SID));
    // The Restore's label must be the Backup's service_id.
    expect(restoreComponent(restore('a-backup', undefined, 'f'.repeat(32)), backupOf)).toBeUndefined();
    expect(restoreComponent(restore('a-backup', undefined, null), backupOf)).toBeUndefined();
  });

  test('no Backup known, a Backup of nobody\'s component, or a scope of several namespaces: nobody\'s', () => {
    expect(restoreComponent(restore('gone', undefined), backupOf)).toBeUndefined();
    expect(restoreComponent(restore('wide-backup', undefined), backupOf)).toBeUndefined();
    expect(restoreComponent(restore('a-backup', ['acme-prod', 'mallory-dev']), backupOf)).toBeUndefined();
    // A scope that names namespaces but not exactly one does not fall back to the Backup's.
    expect(restoreComponent(restore('a-backup', ['*']), backupOf)).toBeUndefined();
  });
});

test('component keys: namespace/service_id, and no namespace may be empty or hold a slash', async () => {
  const { identityOf, keyOf } = await import('../../../src/components/component-key.js');
  expect(A).toBe(`acme-prod/${SID}`);
  expect(keyOf({ namespace: 'acme-prod', serviceId: SID })).toBe(A);
  expect(identityOf(A)).toEqual({ namespace: 'acme-prod', serviceId: SID });
  expect(() => componentKey('', SID)).toThrow(RangeError);
  expect(() => componentKey('a/b', SID)).toThrow(RangeError);
});
