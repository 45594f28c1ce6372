import { jest } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiRequest, type ApiResponse } from './cluster/cluster.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startVeleroStandIn, type VeleroStandIn } from './support/velero-stand-in.js';
import { eventually } from './support/wait.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';

jest.setTimeout(120_000);

/**
 * The Velero stand-in's schedule controller, rule by rule, against the real
 * API server with Velero v1.11.1's CRDs and on the real clock (timeScale 1):
 * each test names the lines of vmware-tanzu/velero v1.11.1
 * pkg/controller/schedule_controller.go it follows. These are the rules
 * behind the surprise backups the controller avoids (desired-schedule.ts,
 * schedule-cron-change.ts).
 */

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string };
  status?: { phase?: string; lastBackup?: string };
}

let core: CoreV1Api;
let velero: string;
let app: string;
let standIn: VeleroStandIn;
let releaseCrds: (() => void) | undefined;

const send = (method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse> => apiRequest(clusterInfo(), method, path, body, contentType);
const veleroPath = (resource: string, name?: string): string => `/apis/velero.io/v1/namespaces/${velero}/${resource}${name ? `/${name}` : ''}`;
const kubeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const HOUR = 3_600_000;
/** A daily cron firing at the time of day of `at` (UTC, Velero's clock). */
const dailyAt = (at: number): string => `${new Date(at).getUTCMinutes()} ${new Date(at).getUTCHours()} * * *`;
const template = (): Record<string, unknown> => ({ includedNamespaces: [app], storageLocation: 'default', ttl: '720h' });

/** A Schedule as it would be after Velero last ran it at `lastBackup` (status is writable: v1.11.1's CRDs have no status subresource). */
async function schedule(name: string, cron: string, lastBackup: number, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await send('POST', veleroPath('schedules'), {
    apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name }, spec: { schedule: cron, template: template(), ...extra }, status: { lastBackup: kubeTime(lastBackup) },
  });
  if (res.status !== 201) throw new Error(`creating Schedule ${name}: HTTP ${res.status} ${res.body}`);
}
const patchSchedule = async (name: string, patch: Record<string, unknown>): Promise<void> => {
  const res = await send('PATCH', veleroPath('schedules', name), patch, 'application/merge-patch+json');
  if (res.status !== 200) throw new Error(`patching Schedule ${name}: HTTP ${res.status} ${res.body}`);
};
const backupsOf = async (name: string): Promise<Obj[]> =>
  ((await send('GET', `${veleroPath('backups')}?labelSelector=${encodeURIComponent(`velero.io/schedule-name=${name}`)}`)).json as { items: Obj[] }).items;
const readSchedule = async (name: string): Promise<Obj> => (await send('GET', veleroPath('schedules', name))).json as Obj;
/** Long enough for the stand-in (250 ms polls) to have reconciled a change several times. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3_000));
const oneBackup = (name: string): Promise<Obj[]> =>
  eventually(async () => {
    const backups = await backupsOf(name);
    return backups.length > 0 ? backups : undefined;
  }, `a backup of Schedule ${name}`, 15_000, 100);

beforeAll(async () => {
  releaseCrds = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
  ({ core } = clients());
  app = await createNamespace(core, 'velero-sched-app');
  velero = await createNamespace(core, 'velero-sched');
  standIn = await startVeleroStandIn(clusterInfo(), { namespace: velero, timeScale: 1, stepMs: 50 });
  await standIn.setStorageLocation('default', 'Available');
});

afterAll(async () => {
  await standIn?.stop();
  if (velero) await deleteNamespace(core, velero);
  if (app) await deleteNamespace(core, app);
  releaseCrds?.();
});

test('due from status.lastBackup under the spec as it is now (L246-257); a spec change is reconciled at once (L81, L135-139): a cron edit past a run of the new spec backs up at once, once', async () => {
  const now = Date.now();
  // Ran 2 hours ago; daily 12 hours from now: not due.
  await schedule('edited', dailyAt(now + 12 * HOUR), now - 2 * HOUR);
  await settle();
  expect(await backupsOf('edited')).toEqual([]);
  // The new spec has a run 1 hour ago, after the last backup: Velero backs up at once, not at the next run.
  const editedAt = Date.now();
  await patchSchedule('edited', { spec: { schedule: dailyAt(now - HOUR) } });
  const [made] = await oneBackup('edited');
  expect(Date.parse(made?.metadata.creationTimestamp ?? '')).toBeLessThan(editedAt + 5_000);
  // One backup, not one per missed run (L228-231), and lastBackup is now.
  await settle();
  expect(await backupsOf('edited')).toHaveLength(1);
  expect(Date.parse((await readSchedule('edited')).status?.lastBackup ?? '')).toBeGreaterThanOrEqual(editedAt - 1_000);
});

test('the same edit with status.lastBackup set to the time of the edit, in the one merge patch, is not due: what schedule-cron-change.ts writes', async () => {
  const now = Date.now();
  await schedule('quiet-edit', dailyAt(now + 12 * HOUR), now - 2 * HOUR);
  await patchSchedule('quiet-edit', { spec: { schedule: dailyAt(now - HOUR) }, status: { lastBackup: kubeTime(Date.now()) } });
  await settle();
  expect(await backupsOf('quiet-edit')).toEqual([]);
  expect((await readSchedule('quiet-edit')).status?.phase).toBe('Enabled');
});

test('after a run of its own, a status.lastBackup someone else writes is read as Velero reads it (L246-257: status, not memory)', async () => {
  const now = Date.now();
  await schedule('rewritten', dailyAt(now - HOUR), now - 2 * HOUR);
  await oneBackup('rewritten');
  // Finished first: while it is New or InProgress the Schedule is skipped (L201-205) and only the next
  // minute's periodic check would see the patch (a loaded machine runs the backup slower than the patch comes).
  // And the run recorded: Velero creates the Backup, then patches status.lastBackup (schedule_controller.go submitBackup
  // L224-243); a patch of ours before that one lands would be overwritten by it.
  await eventually(async () => {
    const [first] = await backupsOf('rewritten');
    const recorded = Date.parse((await readSchedule('rewritten')).status?.lastBackup ?? '') > now - HOUR;
    return first?.status?.phase === 'Completed' && recorded ? true : undefined;
  }, 'the first backup Completed and recorded in status.lastBackup', 30_000, 100);
  // Its last backup said to be two hours back, and a spec with a run an hour back: due again at once.
  await patchSchedule('rewritten', { spec: { schedule: dailyAt(now - HOUR + 60_000) }, status: { lastBackup: kubeTime(now - 2 * HOUR) } });
  await eventually(async () => ((await backupsOf('rewritten')).length === 2 ? true : undefined), 'a second backup from the rewritten lastBackup', 15_000, 100);
});

test('paused: ignored (L73-79); resumed after a missed run: one backup at once (skipImmediately is v1.13)', async () => {
  const now = Date.now();
  await schedule('resumed', dailyAt(now - HOUR), now - 2 * HOUR, { paused: true });
  await settle();
  expect(await backupsOf('resumed')).toEqual([]);
  expect((await readSchedule('resumed')).status?.phase).toBeUndefined();
  const resumedAt = Date.now();
  await patchSchedule('resumed', { spec: { paused: false } });
  const [made] = await oneBackup('resumed');
  expect(Date.parse(made?.metadata.creationTimestamp ?? '')).toBeLessThan(resumedAt + 5_000);
  await settle();
  expect(await backupsOf('resumed')).toHaveLength(1);
});

test('overlap (L184-209 checkIfBackupInNewOrProgress): a backup of the Schedule with no phase yet does not hold the next one back; New does', async () => {
  const now = Date.now();
  // The backup controller busy with another backup: the Schedule's own waits with no phase.
  standIn.holdBackups(true);
  try {
    const busy = await send('POST', veleroPath('backups'), { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'busy' }, spec: template() });
    expect(busy.status).toBe(201);
    await eventually(async () => ((await send('GET', veleroPath('backups', 'busy'))).json as Obj).status?.phase === 'InProgress' || undefined, 'busy InProgress', 15_000, 100);
    const waiting = await send('POST', veleroPath('backups'), { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'overlap-waiting', labels: { 'velero.io/schedule-name': 'overlap' } }, spec: template() });
    expect(waiting.status).toBe(201);
    const queued = await send('POST', veleroPath('backups'), {
      apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'held-new', labels: { 'velero.io/schedule-name': 'held' } }, spec: template(), status: { phase: 'New' },
    });
    expect(queued.status).toBe(201);
    // Both due at once (a run of their spec 1 hour ago, after their last backup 2 hours ago).
    await schedule('overlap', dailyAt(now - HOUR), now - 2 * HOUR);
    await schedule('held', dailyAt(now - HOUR), now - 2 * HOUR);
    const made = await eventually(async () => {
      const backups = await backupsOf('overlap');
      return backups.length === 2 ? backups : undefined;
    }, 'a second backup of Schedule overlap beside the one with no phase', 15_000, 100);
    expect(made.map((b) => b.metadata.name)).toContain('overlap-waiting');
    expect(made.find((b) => b.metadata.name === 'overlap-waiting')?.status?.phase).toBeUndefined();
    await settle();
    expect((await backupsOf('held')).map((b) => b.metadata.name)).toEqual(['held-new']);
  } finally {
    standIn.holdBackups(false);
  }
});

test('a spec with no run within five years (robfig v1.1.0 Next returns the zero time) is always due: now is after it (L256)', async () => {
  await schedule('never', '0 0 30 2 *', Date.now());
  await oneBackup('never');
  expect((await readSchedule('never')).status?.phase).toBe('Enabled');
});
