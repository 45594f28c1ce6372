import fc from 'fast-check';
import {
  deleteBackupRequestName,
  downloadRequestName,
  isDnsLabel,
  manualBackupName,
  namespaceTag,
  restoreName,
  scheduleName,
  stopBackupName,
  upgradeBackupName,
} from '../../../src/velero/object-names.js';

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
// Any namespace name (a DNS-1123 label).
const namespace = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const random4 = fc.stringMatching(/^[0-9a-f]{4}$/);
// Any moment a 14-digit timestamp can show.
const when = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
// Velero names a Schedule's Backups <schedule>-<yyyyMMddHHmmss> (Schedule.TimestampedName).
const veleroScheduled = (schedule: string, at: Date): string => `${schedule}-${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;

test('manual Backup and Restore names: readable, and the timestamp is UTC', () => {
  const at = new Date('2024-06-01T08:30:05.123+08:00');
  const sid = '0123456789abcdef0123456789abcdef';
  expect(manualBackupName(sid, at, 'a1b2')).toBe(`${sid}-backup-20240601003005-a1b2`);
  expect(restoreName(sid, at, 'a1b2')).toBe(`${sid}-restore-20240601003005-a1b2`);
  // sha256("shop") begins 8d9001: the namespace's tag.
  expect(scheduleName({ namespace: 'shop', serviceId: sid })).toBe(`${sid}-8d9001-schedule`);
  expect(upgradeBackupName({ namespace: 'shop', serviceId: sid }, at)).toBe(`${sid}-8d9001-upgrade-20240601003005`);
  expect(stopBackupName({ namespace: 'shop', serviceId: sid }, at)).toBe(`${sid}-8d9001-stop-20240601003005`);
});

test('the namespace tag: 6 hex of the namespace\'s sha256, so the same service_id in two namespaces has two Schedules, upgrade and stop Backups', () => {
  expect(namespaceTag('shop')).toBe('8d9001');
  expect(namespaceTag('acme-prod')).toBe('d2836b');
  const sid = '0123456789abcdef0123456789abcdef';
  const at = new Date('2026-12-02T08:00:00Z');
  const a = { namespace: 'acme-prod', serviceId: sid };
  const b = { namespace: 'mallory-dev', serviceId: sid };
  expect(scheduleName(a)).not.toBe(scheduleName(b));
  expect(upgradeBackupName(a, at)).not.toBe(upgradeBackupName(b, at));
  expect(stopBackupName(a, at)).not.toBe(stopBackupName(b, at));
});

test('every name for every 32-hex service_id in any namespace is a DNS-1123 label of at most 63 characters', () => {
  fc.assert(
    fc.property(hex32, namespace, when, random4, (sid, ns, at, random) => {
      const component = { namespace: ns, serviceId: sid };
      const backup = manualBackupName(sid, at, random);
      const scheduled = veleroScheduled(scheduleName(component), at);
      for (const name of [backup, restoreName(sid, at, random), scheduleName(component), scheduled, upgradeBackupName(component, at), stopBackupName(component, at),
        deleteBackupRequestName(backup, random), downloadRequestName(backup, random),
        deleteBackupRequestName(scheduled, random), downloadRequestName(scheduled, random)]) {
        expect(name.length).toBeLessThanOrEqual(63);
        expect(isDnsLabel(name)).toBe(true);
      }
    }),
    { numRuns: 2_000 },
  );
});

test("a manual, upgrade or stop Backup name is never one of Velero's scheduled-backup names, for any schedule", () => {
  fc.assert(
    fc.property(hex32, hex32, namespace, namespace, when, when, random4, (sid, otherSid, ns, otherNs, at, scheduledAt, random) => {
      const manual = manualBackupName(sid, at, random);
      const scheduled = veleroScheduled(scheduleName({ namespace: otherNs, serviceId: otherSid }), scheduledAt);
      expect(manual).not.toBe(scheduled);
      expect(upgradeBackupName({ namespace: ns, serviceId: sid }, at)).not.toBe(scheduled);
      expect(stopBackupName({ namespace: ns, serviceId: sid }, at)).not.toBe(scheduled);
      // Whatever the Schedule is called: a scheduled name ends in "-" and 14 digits, a manual one does not.
      expect(manual).not.toMatch(/-[0-9]{14}$/);
    }),
    { numRuns: 2_000 },
  );
});

test('two requests in the same second get different names (the random part), and so do two components', () => {
  const at = new Date('2024-01-01T00:00:00Z');
  const sid = 'f'.repeat(32);
  expect(manualBackupName(sid, at, '0001')).not.toBe(manualBackupName(sid, at, '0002'));
  expect(manualBackupName(sid, at, '0001')).not.toBe(manualBackupName('e'.repeat(32), at, '0001'));
});

test('delete and download request names: the Backup name when it fits, else a cut with a digest so long names still differ', () => {
  expect(deleteBackupRequestName('b-1', 'abcd')).toBe('b-1-delete-abcd');
  expect(downloadRequestName('b-1', 'abcd')).toBe('b-1-download-abcd');
  const a = `${'x'.repeat(60)}a`;
  const b = `${'x'.repeat(60)}b`;
  for (const make of [deleteBackupRequestName, downloadRequestName]) {
    const [na, nb] = [make(a, 'abcd'), make(b, 'abcd')];
    expect(na).not.toBe(nb);
    expect(isDnsLabel(na) && isDnsLabel(nb)).toBe(true);
  }
  // A Backup named by someone else, as a DNS subdomain with dots, still yields a label.
  expect(isDnsLabel(deleteBackupRequestName('nightly.db.backup-20240101000000', 'abcd'))).toBe(true);
});

test('refuses to make a name that would not be valid, rather than sending it', () => {
  expect(() => manualBackupName('x'.repeat(60), new Date(), 'abcd')).toThrow(RangeError);
  expect(() => manualBackupName('Upper', new Date(), 'abcd')).toThrow(RangeError);
  expect(() => manualBackupName('a'.repeat(32), new Date(), 'xyz!')).toThrow(RangeError);
});
