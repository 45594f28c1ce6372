// When scheduled backups run, end to end: the shipped installation, a Wutong
// StatefulSet run by the controller-manager and the kubelet stand-in, and the
// Velero stand-in's schedule controller on the real clock (timeScale 1), so
// its due times and the controller's agree. The rules of Velero v1.11.1 this
// relies on (pkg/controller/schedule_controller.go L246-257: due when now is
// after cron.Next(status.lastBackup) under the spec as it is now; L81 and
// L135-139: a spec change, a resume included, is checked at once) are the
// stand-in's, proven in velero-stand-in-schedules.test.ts.
//
// Each test sets up a Schedule whose last backup was two hours ago (status
// written as Velero would; v1.11.1's CRD has no status subresource) and a
// change after which Velero v1.11.1 would back up at once.
import { jest } from '@jest/globals';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, VELERO_NAMESPACE, type BackupApiTestbed, type VeleroObjectJson } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { MYSQL_WORKLOAD, startWutongComponent, stopWutongComponent } from './support/wutong-component.js';
import { scheduleName } from '../../src/velero/object-names.js';

jest.setTimeout(420_000);

const SID = '5e6f708192a3b4c5d6e7f8091a2b3c4d';
const ALIAS = 'gr5e6f70';
const HOUR = 3_600_000;
/** The database's readiness, as a readiness gate whose condition the test writes (the kubelet stand-in honours gates as the kubelet does). */
const DB_READY = 'example.com/database-answers';

/** A daily cron at the time of day of `at` (UTC, Velero's clock). */
const dailyAt = (at: number): string => `${new Date(at).getUTCMinutes()} ${new Date(at).getUTCHours()} * * *`;
const kubeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const STARTED = Date.now();
/** Twelve hours off: never due during the file. */
const FIRST_CRON = dailyAt(STARTED + 12 * HOUR);

const policy = (cron: string): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: orders-db
    profile: mysql
    match: { labels: { service_alias: ${ALIAS} } }
    protection: { schedule: "${cron}", ttl: 7d }
`;

interface ScheduleJson extends VeleroObjectJson {
  spec: { schedule?: string; paused?: boolean };
  status?: { phase?: string; lastBackup?: string };
}
type BackupJson = VeleroObjectJson & { metadata: { creationTimestamp?: string } };

let testbed: BackupApiTestbed;
const name = (): string => scheduleName({ namespace: testbed.component.namespace, serviceId: SID });
const theSchedule = async (): Promise<ScheduleJson | undefined> => {
  const all = (await testbed.veleroObjects('schedules', `wutong.io/service_id=${SID}`)) as ScheduleJson[];
  return all.length === 1 ? all[0] : undefined;
};
const scheduleWhen = (what: string, check: (s: ScheduleJson) => boolean, timeoutMs = 60_000): Promise<ScheduleJson> =>
  eventually(async () => {
    const s = await theSchedule();
    return s && check(s) ? s : undefined;
  }, what, timeoutMs, 250);
const scheduledBackups = async (): Promise<BackupJson[]> => (await testbed.veleroObjects('backups', `velero.io/schedule-name=${name()}`));
/** Long enough for the Velero stand-in (250 ms polls) to have acted on a spec change many times over. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5_000));

/** As if Velero had last backed up at `at`. */
async function lastBackedUpAt(at: number): Promise<void> {
  const res = await apiRequest(clusterInfo(), 'PATCH', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/schedules/${name()}`, { status: { lastBackup: kubeTime(at) } }, 'application/merge-patch+json');
  expect(res.status).toBe(200);
}

async function eventReasons(kind: string, objectName: string): Promise<string[]> {
  const events = await testbed.core.listNamespacedEvent({ namespace: testbed.component.namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${objectName}` });
  return events.items.filter((e) => e.source?.component === 'wutong-backup').map((e) => e.reason ?? '');
}

beforeAll(async () => {
  testbed = await startBackupApiTestbed({
    suite: 'schedule-timing',
    serviceId: SID,
    alias: ALIAS,
    replicaCount: 1,
    veleroTimeScale: 1,
    beforeReplicas: () => setShippedPolicy(policy(FIRST_CRON)),
  });
});

afterAll(async () => {
  await testbed?.stop();
});

test('a policy cron edit does not back up at once when the new cron has a run since the last backup; its next run is the new cron\'s first after the edit', async () => {
  await scheduleWhen('the policy Schedule, running', (s) => s.spec.schedule === FIRST_CRON && s.spec.paused !== true);
  const now = Date.now();
  await lastBackedUpAt(now - 2 * HOUR);
  // Under the edited cron a run fell an hour ago, after the last backup: Velero v1.11.1 would back up at once.
  const edited = dailyAt(now - HOUR);
  const editedAt = Date.now();
  await setShippedPolicy(policy(edited));
  const after = await scheduleWhen('the Schedule following the edit', (s) => s.spec.schedule === edited);
  // The same merge patch moved lastBackup to the time of the edit, so Next() is tomorrow's run.
  expect(Date.parse(after.status?.lastBackup ?? '')).toBeGreaterThanOrEqual(Math.floor(editedAt / 1000) * 1000);
  await settle();
  expect(await scheduledBackups()).toEqual([]);
});

test('a cron change through PUT …/backup/schedule does not back up at once either', async () => {
  const put = (cron: string) => testbed.call('PUT', `${testbed.component.path}/backup/schedule`, { body: { cron, ttl: '7d', desc: 'nightly dump', operator: 'carol' } });
  // Taken over first with a cron far off, then the last backup two hours back.
  expect((await put(FIRST_CRON)).status).toBe(200);
  await scheduleWhen('the API Schedule', (s) => s.metadata.labels?.['backup.wutong.io/schedule-source'] === 'api' && s.spec.schedule === FIRST_CRON);
  const now = Date.now();
  await lastBackedUpAt(now - 2 * HOUR);
  const edited = dailyAt(now - HOUR);
  expect((await put(edited)).status).toBe(200);
  expect((await theSchedule())?.spec.schedule).toBe(edited);
  await settle();
  expect(await scheduledBackups()).toEqual([]);
});

test('a started component\'s Schedule stays paused until every replica is Ready; then the missed run is backed up once, never before Ready', async () => {
  const { apps, core, component } = testbed;
  await stopWutongComponent(apps, core, component);
  await scheduleWhen('the Schedule paused', (s) => s.spec.paused === true);
  // Last backed up two hours ago: the run of its cron an hour ago (the PUT above) fell while it was stopped.
  await lastBackedUpAt(Date.now() - 2 * HOUR);

  // Started again: its pod runs, but the database is not answering yet.
  await startWutongComponent(apps, core, component, { ...MYSQL_WORKLOAD, readinessGates: [DB_READY] });
  const [pod] = (await core.listNamespacedPod({ namespace: component.namespace, labelSelector: `service_id=${SID}` })).items;
  const podName = pod?.metadata?.name ?? '';
  const ready = await eventually(async () => {
    const p = await core.readNamespacedPod({ namespace: component.namespace, name: podName });
    return p.status?.conditions?.find((c) => c.type === 'Ready');
  }, 'the pod\'s Ready condition', 30_000, 250);
  expect(ready).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
  await settle();
  expect((await theSchedule())?.spec.paused).toBe(true);
  expect(await scheduledBackups()).toEqual([]);

  // The database answers: whoever owns the gate says so, the kubelet reports the pod Ready.
  const readyAt = Date.now();
  const gate = await apiRequest(clusterInfo(), 'PATCH', `/api/v1/namespaces/${component.namespace}/pods/${podName}/status`,
    { status: { conditions: [{ type: DB_READY, status: 'True', lastTransitionTime: kubeTime(readyAt) }] } }, 'application/strategic-merge-patch+json');
  expect(gate.status).toBe(200);
  await scheduleWhen('the Schedule resumed', (s) => s.spec.paused === false);
  await eventually(async () => ((await eventReasons('StatefulSet', ALIAS)).includes('ScheduleResumed') ? true : undefined), 'ScheduleResumed on the StatefulSet');
  // Velero v1.11.1 backs up the missed run at once on the resume: one backup, after the pod was Ready.
  const [catchUp] = await eventually(async () => {
    const backups = await scheduledBackups();
    return backups.length > 0 ? backups : undefined;
  }, 'the catch-up backup', 30_000, 250);
  expect(Date.parse(catchUp?.metadata.creationTimestamp ?? '')).toBeGreaterThanOrEqual(Math.floor(readyAt / 1000) * 1000);
  await settle();
  expect(await scheduledBackups()).toHaveLength(1);

  // Velero copies the Schedule's annotations onto it (pkg/builder/backup_builder.go L112-114): only what records read.
  const ours = (annotations: Record<string, string> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k.startsWith('wutong.io/') || k.startsWith('backup.wutong.io/')));
  expect(ours(catchUp?.metadata.annotations)).toEqual({ 'wutong.io/desc': 'nightly dump', 'wutong.io/creator': 'carol', 'wutong.io/last_modifier': 'carol' });
  const records = await testbed.call('GET', `${component.path}/backup/records`);
  expect(records.json).toMatchObject({ list: expect.arrayContaining([expect.objectContaining({ backup_id: catchUp?.metadata.name, mode: 'Scheduled', desc: 'nightly dump', operator: 'carol' })]) as unknown });
});
