// Schedules from policy and API, end to end: the shipped installation under
// its ServiceAccount, a Wutong StatefulSet run by the controller-manager and
// the kubelet stand-in, the Velero stand-in, and a policy rule with
// protection. What a platform team would see with kubectl.
import { scheduleName } from '../../src/velero/object-names.js';
import { jest } from '@jest/globals';
import { apiRequest } from './cluster/cluster.js';
import { backupApiClient, type ApiAnswer, type CallOptions } from './support/backup-api-client.js';
import { startBackupApiTestbed, VELERO_NAMESPACE, type BackupApiTestbed, type VeleroObjectJson } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { startWutongComponent, stopWutongComponent } from './support/wutong-component.js';

jest.setTimeout(420_000);

const SID = '3c4d5e6f708192a3b4c5d6e7f8091a2b';
const ALIAS = 'gr5c4d5e';
/** The policy Schedule's name (object-names.ts scheduleName): the service_id and its namespace's tag. */
const policyScheduleName = (): string => scheduleName({ namespace: testbed.component.namespace, serviceId: SID });

const policy = (cron: string): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: orders-db
    profile: mysql
    match: { labels: { service_alias: ${ALIAS} } }
    protection: { schedule: "${cron}", ttl: 7d, keep: 3 }
`;

let testbed: BackupApiTestbed;
let call: (method: string, path: string, options?: CallOptions) => Promise<ApiAnswer>;
const closers: Array<() => void> = [];
/** Replicas this file started itself: stopped before the testbed tears down what they watch. */
const restarted: Array<{ stop(): Promise<void> }> = [];

interface ScheduleJson extends VeleroObjectJson {
  spec: { schedule?: string; paused?: boolean; template?: { ttl?: string } };
}

const schedulesOf = async (serviceId = SID): Promise<ScheduleJson[]> => await testbed.veleroObjects('schedules', `wutong.io/service_id=${serviceId}`);

/** The component's one Schedule once `check` holds for it (and it is the only one). */
function scheduleWhen(what: string, check: (s: ScheduleJson) => boolean, timeoutMs = 30_000): Promise<ScheduleJson> {
  return eventually(async () => {
    const all = await schedulesOf();
    return all.length === 1 && all[0] && check(all[0]) ? all[0] : undefined;
  }, what, timeoutMs, 250);
}

/** Reasons of the Events on one object of the component's namespace, oldest first. */
async function eventReasons(kind: string, name: string): Promise<string[]> {
  const { namespace } = testbed.component;
  const events = await testbed.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return events.items.filter((e) => e.source?.component === 'wutong-backup').map((e) => e.reason ?? '');
}

const source = (s: ScheduleJson) => s.metadata.labels?.['backup.wutong.io/schedule-source'];

beforeAll(async () => {
  testbed = await startBackupApiTestbed({
    suite: 'schedules',
    serviceId: SID,
    alias: ALIAS,
    // One replica: until leader election lands, every replica would run the loops.
    replicaCount: 1,
    beforeReplicas: () => setShippedPolicy(policy('0 3 * * *')),
  });
  call = (method, path, options = {}) => testbed.call(method, path, options);
});

afterAll(async () => {
  for (const close of closers) close();
  for (const replica of restarted) await replica.stop();
  await testbed?.stop();
});

test('a protected StatefulSet gets one Schedule, from its rule, and an Event says so', async () => {
  const schedule = await scheduleWhen('the policy Schedule', (s) => s.metadata.name === policyScheduleName());
  expect(source(schedule)).toBe('policy');
  expect(schedule.metadata.annotations).toMatchObject({ 'backup.wutong.io/rule': 'orders-db', 'backup.wutong.io/keep': '3' });
  expect(schedule.spec).toMatchObject({ schedule: '0 3 * * *', template: { ttl: '168h0m0s' } });
  expect(schedule.spec.paused).not.toBe(true);
  await eventually(async () => ((await eventReasons('StatefulSet', ALIAS)).includes('ScheduleCreated') ? true : undefined), 'ScheduleCreated on the StatefulSet');
  // The console sees it as the component's schedule.
  expect((await call('GET', `${testbed.component.path}/backup/schedule`)).json).toMatchObject({ bean: { schedule_id: policyScheduleName(), cron: '0 3 * * *', ttl: '7d' } });
});

test('a policy edit updates the policy Schedule; an update decided on an older version is refused', async () => {
  const before = await scheduleWhen('the policy Schedule', (s) => s.metadata.name === policyScheduleName());
  await setShippedPolicy(policy('0 5 * * *'));
  const after = await scheduleWhen('the Schedule following the edit', (s) => s.spec.schedule === '0 5 * * *');
  expect(after.metadata.annotations).toMatchObject({ 'backup.wutong.io/rule': 'orders-db', 'backup.wutong.io/keep': '3' });
  await eventually(async () => ((await eventReasons('StatefulSet', ALIAS)).includes('ScheduleUpdated') ? true : undefined), 'ScheduleUpdated on the StatefulSet');
  // What keeps the controller from overwriting an API takeover it has not seen yet: its merge patches carry the resourceVersion they were decided on.
  const stale = await apiRequest(
    clusterInfo(),
    'PATCH',
    `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/schedules/${policyScheduleName()}`,
    { metadata: { resourceVersion: (before.metadata as { resourceVersion?: string }).resourceVersion }, spec: { schedule: '0 6 * * *' } },
    'application/merge-patch+json',
  );
  expect(stale.status).toBe(409);
});

test('a Schedule left for a component that does not exist is swept', async () => {
  const stray = 'ffffffffffffffffffffffffffffff01';
  const made = await apiRequest(clusterInfo(), 'POST', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/schedules`, {
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: { name: `${stray}-schedule`, labels: { 'wutong.io/service_id': stray, 'backup.wutong.io/schedule-source': 'policy' } },
    spec: { schedule: '0 3 * * *', template: { includedNamespaces: ['nowhere'] } },
  });
  expect(made.status).toBe(201);
  await eventually(async () => ((await schedulesOf(stray)).length === 0 ? true : undefined), 'the stray Schedule deleted', 30_000, 250);
  expect(await schedulesOf()).toHaveLength(1);
});

/** The run mark (backup.wutong.io/ran-until) on the component's PVC once `check` holds for it. */
function runMarkWhen(what: string, check: (mark: string | undefined) => boolean): Promise<string | undefined> {
  const { core, component } = testbed;
  return eventually(async () => {
    const [claim] = (await core.listNamespacedPersistentVolumeClaim({ namespace: component.namespace, labelSelector: `service_id=${SID}` })).items;
    const mark = claim?.metadata?.annotations?.['backup.wutong.io/ran-until'];
    return claim && check(mark) ? { mark } : undefined;
  }, what).then((found) => found.mark);
}

test('a Wutong stop pauses it (Event on the PVC, the workload is gone); starting again resumes it', async () => {
  const { apps, core, component } = testbed;
  await runMarkWhen('the PVC marked running', (mark) => mark === 'running');
  const beforeStop = Date.now();
  await stopWutongComponent(apps, core, component);
  // The stop is recorded where a stopped component still exists: on its PVC, no earlier than the pods went.
  const stoppedAt = await runMarkWhen('the PVC marked with the time of the stop', (mark) => mark !== undefined && mark !== 'running');
  expect(Date.parse(stoppedAt ?? '')).toBeGreaterThanOrEqual(beforeStop - 1_000);
  await scheduleWhen('the Schedule paused', (s) => s.spec.paused === true);
  const [claim] = (await core.listNamespacedPersistentVolumeClaim({ namespace: component.namespace, labelSelector: `service_id=${SID}` })).items;
  await eventually(async () => ((await eventReasons('PersistentVolumeClaim', claim?.metadata?.name ?? '')).includes('SchedulePaused') ? true : undefined), 'SchedulePaused on the PVC');
  await startWutongComponent(apps, core, component);
  await scheduleWhen('the Schedule resumed', (s) => s.spec.paused === false);
  await eventually(async () => ((await eventReasons('StatefulSet', ALIAS)).includes('ScheduleResumed') ? true : undefined), 'ScheduleResumed on the StatefulSet');
  await runMarkWhen('the PVC marked running again', (mark) => mark === 'running');
});

test('a schedule set through the API wins over the policy and survives a restart of the replicas', async () => {
  const { component } = testbed;
  const posted = await call('POST', `${component.path}/backup/schedule`, { body: { cron: '0 1 * * *', ttl: '30d', keep: 5, desc: 'mine', operator: 'carol' } });
  expect(posted.status).toBe(200);
  expect(posted.json).toMatchObject({ bean: { schedule_id: policyScheduleName(), cron: '0 1 * * *', ttl: '30d', desc: 'mine', creator: 'carol' } });
  let schedule = await scheduleWhen('the API Schedule', (s) => source(s) === 'api');
  expect(schedule.metadata.annotations?.['backup.wutong.io/keep']).toBe('5');
  expect(schedule.metadata.annotations).not.toHaveProperty(['backup.wutong.io/rule']);
  expect((await call('POST', `${component.path}/backup/schedule`, { body: { cron: '0 2 * * *' } })).status).toBe(409);
  expect((await call('PUT', `${component.path}/backup/schedule`, { body: { cron: '0 1 * * *', keep: 0 } })).json).toMatchObject({ validation_error: { keep: [expect.stringContaining('1 to 1000')] } });

  // A policy edit reaches every key: the API's Schedule is not the policy's to change.
  await setShippedPolicy(policy('0 4 * * *'));
  // Restart everything that runs: the replica goes, a new one starts and leads.
  const [old] = testbed.replicas;
  await old?.stop();
  const [fresh] = await testbed.install.startReplicas(1);
  if (!fresh) throw new Error('no replica started');
  restarted.push(fresh);
  const client = backupApiClient(fresh.apiUrl, testbed.caPem);
  closers.push(() => client.close());
  call = (method, path, options = {}) => client.call(method, path, { token: testbed.consoleToken, ...options });
  await eventually(async () => ((await call('GET', `${component.path}/backup/records`)).status === 200 ? true : undefined), 'the new replica ready', 60_000);

  // The new leader acts on the component (it pauses it on a stop) and leaves the API's settings alone.
  await stopWutongComponent(testbed.apps, testbed.core, component);
  schedule = await scheduleWhen('the API Schedule paused by the new replica', (s) => s.spec.paused === true, 60_000);
  expect(source(schedule)).toBe('api');
  expect(schedule.spec.schedule).toBe('0 1 * * *');
  expect(schedule.metadata.annotations?.['backup.wutong.io/keep']).toBe('5');
  await startWutongComponent(testbed.apps, testbed.core, component);
  schedule = await scheduleWhen('the API Schedule resumed', (s) => s.spec.paused === false, 60_000);
  expect(schedule.spec.schedule).toBe('0 1 * * *');
  expect((await call('GET', `${component.path}/backup/schedule`)).json).toMatchObject({ bean: { cron: '0 1 * * *', creator: 'carol' } });
});

test('deleting the API schedule hands the component back to the policy', async () => {
  expect((await call('DELETE', `${testbed.component.path}/backup/schedule`)).status).toBe(200);
  const schedule = await scheduleWhen('the policy Schedule again', (s) => source(s) === 'policy');
  expect(schedule.spec.schedule).toBe('0 4 * * *');
});

test('a Wutong delete (stop, then the PVCs go) deletes its Schedule', async () => {
  const { apps, core, component } = testbed;
  await stopWutongComponent(apps, core, component);
  await core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: component.namespace, labelSelector: `creator=Wutong,service_id=${SID}` });
  await eventually(async () => ((await schedulesOf()).length === 0 ? true : undefined), 'no Schedule left', 60_000, 250);
});
