import { backupBudget, CONTROLLER_BACKUPS_PER_HOUR } from '../../../src/controller/backup-budget.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';

// The controller starts Backups on its own when a tenant's objects say so (an
// upgrade, a stop): at most six per component per hour, counted from the
// Backups themselves, so a restarted controller counts what the last one did.

const NOW = new Date('2026-12-02T12:00:00Z');
const minutesAgo = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();
/** `trigger` null: no backup.wutong.io/trigger label (a Schedule's or the console's Backup). */
const backup = (name: string, created: string, trigger: string | null = 'upgrade'): BackupView =>
  viewBackup({
    metadata: { name, uid: name, creationTimestamp: created, labels: { 'wutong.io/service_id': 'a'.repeat(32), ...(trigger !== null ? { 'backup.wutong.io/trigger': trigger } : {}) } },
    spec: { includedNamespaces: ['acme-prod'] },
    status: { phase: 'Completed' },
  })!;

test('six per hour', () => {
  expect(CONTROLLER_BACKUPS_PER_HOUR).toBe(6);
});

test('up to five in the last hour: one more may start', () => {
  expect(backupBudget([], NOW)).toEqual({ allowed: true });
  const five = [50, 40, 30, 20, 10].map((m, i) => backup(`b${i}`, minutesAgo(m), i % 2 ? 'stop' : 'upgrade'));
  expect(backupBudget(five, NOW)).toEqual({ allowed: true });
});

test('six in the last hour: the seventh is deferred until the oldest of them is an hour old', () => {
  const six = [55, 50, 40, 30, 20, 10].map((m, i) => backup(`b${i}`, minutesAgo(m), i % 2 ? 'stop' : 'upgrade'));
  expect(backupBudget(six, NOW)).toEqual({ allowed: false, used: 6, freeAtMs: NOW.getTime() + 5 * 60_000 });
  // Five minutes later the oldest ages out.
  expect(backupBudget(six, new Date(NOW.getTime() + 5 * 60_000 - 1))).toMatchObject({ allowed: false });
  expect(backupBudget(six, new Date(NOW.getTime() + 5 * 60_000))).toEqual({ allowed: true });
});

test('more than six (made before the bound, or by two leaders): free once all but five have aged out', () => {
  const eight = [58, 57, 50, 40, 30, 20, 10, 5].map((m, i) => backup(`b${i}`, minutesAgo(m)));
  // The newest six are counted from the 3rd oldest (50 minutes ago): it ages out in 10 minutes.
  expect(backupBudget(eight, NOW)).toEqual({ allowed: false, used: 8, freeAtMs: NOW.getTime() + 10 * 60_000 });
});

test('Backups without the trigger label (a Schedule\'s, the console\'s), older than an hour, or without a time do not count', () => {
  const untriggered = [55, 50, 40, 30, 20, 10].map((m, i) => backup(`s${i}`, minutesAgo(m), null));
  const old = [61, 90, 120, 600, 60].map((m, i) => backup(`o${i}`, minutesAgo(m)));
  const undated = backup('x', 'not a time');
  expect(backupBudget([...untriggered, ...old, undated], NOW)).toEqual({ allowed: true });
  expect(backupBudget([...untriggered, ...old, undated, ...[5, 4, 3, 2, 1].map((m, i) => backup(`t${i}`, minutesAgo(m)))], NOW)).toEqual({ allowed: true });
  expect(backupBudget([...untriggered, ...[6, 5, 4, 3, 2, 1].map((m, i) => backup(`t${i}`, minutesAgo(m)))], NOW)).toMatchObject({ allowed: false, used: 6 });
});

test('a smaller budget is honoured', () => {
  expect(backupBudget([backup('a', minutesAgo(1))], NOW, 1)).toEqual({ allowed: false, used: 1, freeAtMs: NOW.getTime() + 59 * 60_000 });
});
