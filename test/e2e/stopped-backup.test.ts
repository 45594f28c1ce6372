// Backups of stopped components, end to end: the shipped installation under
// its ServiceAccount, a Wutong StatefulSet stopped the way Wutong's worker
// stops it, the kubelet stand-in running the holder pod, and the Velero
// stand-in backing up through it and restoring it. What the console and a
// platform team would see.
import { HOLDER_COMMAND } from '../../src/holder/holder-pod.js';
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { eventually } from './support/wait.js';
import { stopWutongComponent, wutongLabels } from './support/wutong-component.js';

jest.setTimeout(300_000);

const SID = '5e6f708192a3b4c5d6e7f8091a2b3c4d';
const ALIAS = 'gr5e6f70';
const HOLDER = `wutong-backup-holder-${SID}`;
// A second component: PVCs only (stopped), in a namespace slot the kubelet stand-in does not run pods for.
const UNRUN_SID = '6f708192a3b4c5d6e7f8091a2b3c4d5e';
const UNRUN_ALIAS = 'gr6f7081';
const START_TIMEOUT_S = 10;

let testbed: BackupApiTestbed;

interface Bean<T> {
  bean: T;
}
interface BackupRecordJson {
  backup_id: string;
  status: string;
  desc: string;
  data_state: string;
  restorable: boolean;
}
interface RestoreRecordJson {
  restore_id: string;
  status: string;
}
interface PodVolumeJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { pod: { name: string; uid?: string }; volume: string };
}

const path = (alias = ALIAS): string => `/v2/tenants/${testbed.component.tenant}/envs/${testbed.component.env}/services/${alias}`;

async function holderPod(): Promise<V1Pod | undefined> {
  const pods = await testbed.core.listNamespacedPod({ namespace: testbed.component.namespace, labelSelector: 'backup.wutong.io/holder' });
  return pods.items.find((p) => p.metadata?.deletionTimestamp === undefined);
}

async function holderGone(what: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const pods = await testbed.core.listNamespacedPod({ namespace: testbed.component.namespace, labelSelector: 'backup.wutong.io/holder' });
    return pods.items.length === 0 ? true : undefined;
  }, what, timeoutMs, 250);
}

async function eventsOn(kind: string, name: string): Promise<Array<{ reason: string; message: string }>> {
  const events = await testbed.core.listNamespacedEvent({ namespace: testbed.component.namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return events.items.filter((e) => e.source?.component === 'wutong-backup').map((e) => ({ reason: e.reason ?? '', message: e.message ?? '' }));
}

async function componentClaims(serviceId = SID): Promise<string[]> {
  const claims = await testbed.core.listNamespacedPersistentVolumeClaim({ namespace: testbed.component.namespace, labelSelector: `service_id=${serviceId}` });
  return claims.items.map((c) => c.metadata?.name ?? '').sort();
}

beforeAll(async () => {
  testbed = await startBackupApiTestbed({ suite: 'stopped', serviceId: SID, alias: ALIAS, replicaCount: 1, replicaEnv: { HOLDER_START_TIMEOUT: `${START_TIMEOUT_S}s` } });
  await stopWutongComponent(testbed.apps, testbed.core, testbed.component);
});

afterAll(async () => {
  await testbed?.stop();
});

let atRestBackup: string;

test('POST backup on a stopped component: one holder pod, one Backup marked at rest, Velero copies exactly its PVCs through it, then the holder goes', async () => {
  const { component, velero, call } = testbed;
  // Held InProgress so the holder can be looked at while it serves.
  velero.holdBackups(true);
  const answers = await Promise.all([0, 1, 2].map(() => call('POST', `${path()}/backup`, { body: { desc: 'before the move', operator: 'alice' } })));
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
  const created = answers.find((a) => a.status === 200)!;
  const record = (created.json as Bean<BackupRecordJson>).bean;
  expect(record).toMatchObject({ data_state: 'at-rest', desc: 'before the move (crash-consistent data at rest: taken while the component was stopped)' });
  atRestBackup = record.backup_id;
  for (const refused of answers.filter((a) => a.status === 409)) expect((refused.json as { code: string }).code).toBe('backup_in_progress');

  const [backup] = await testbed.veleroObjects('backups', `wutong.io/service_id=${SID}`);
  expect(backup?.metadata.annotations?.['backup.wutong.io/data-state']).toBe('at-rest');
  const holder = await holderPod();
  expect(holder?.metadata?.name).toBe(HOLDER);
  expect(holder?.status?.phase).toBe('Running');
  expect(holder?.metadata?.labels).toMatchObject({ service_id: SID, service_alias: ALIAS, 'backup.wutong.io/holder': SID });
  expect(holder?.metadata?.labels?.creator).toBeUndefined();
  expect(holder?.metadata?.annotations).toMatchObject({ 'backup.wutong.io/holder-backup': atRestBackup, 'backup.velero.io/backup-volumes': (await componentClaims()).join(',') });
  expect(holder?.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).toEqual((await componentClaims()).map((c) => `PersistentVolumeClaim/${c}`));
  expect(holder?.spec?.containers[0]).toMatchObject({ image: 'wutong-backup:0.1.0', command: ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'hold'] });
  expect(holder?.spec?.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  expect(holder?.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
  expect(holder?.spec?.automountServiceAccountToken).toBe(false);
  // The webhook left it alone: no hooks of the MySQL profile in a container that has no MySQL.
  expect(Object.keys(holder?.metadata?.annotations ?? {}).filter((k) => k.includes('hook.backup.velero.io'))).toEqual([]);
  // Neither a running component nor a component pod: the registry keeps it stopped, restore is not refused for a pod of it.
  velero.holdBackups(false);

  const done = await eventually(async () => {
    const list = (await call('GET', `${path()}/backup/records`)).json as { list: BackupRecordJson[] };
    return list.list.find((r) => r.backup_id === atRestBackup && r.status === 'Completed');
  }, 'the at-rest backup Completed', 60_000);
  expect(done.restorable).toBe(true);
  const volumes = (await testbed.veleroObjects('podvolumebackups', `velero.io/backup-name=${atRestBackup}`)) as unknown as PodVolumeJson[];
  expect(volumes.map((v) => v.metadata.annotations?.['velero.io/pvc-name']).sort()).toEqual(await componentClaims());
  expect(new Set(volumes.map((v) => v.spec.pod.name))).toEqual(new Set([HOLDER]));

  await holderGone('the holder removed once its backup finished');
  const [claim] = await componentClaims();
  const events = await eventsOn('PersistentVolumeClaim', claim!);
  expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['HolderStarted', 'HolderRemoved']));
  expect(events.find((e) => e.reason === 'HolderRemoved')?.message).toMatch(new RegExp(`Backup ${atRestBackup} is Completed`));
  // Kept from a Wutong component lookup all along: the component never counted as running.
  expect(component.serviceId).toBe(SID);
});

test('restoring that backup replaces the claim, brings the holder back through Velero, writes the volumes through it, and the restored holder is removed when the restore finishes', async () => {
  const { call, core, component } = testbed;
  const claimUid = async (name: string): Promise<string> => (await core.readNamespacedPersistentVolumeClaim({ namespace: component.namespace, name })).metadata?.uid ?? '';
  const [before] = await componentClaims();
  const uidBefore = await claimUid(before!);
  const answer = await call('POST', `${path()}/restore`, { body: { backup_id: atRestBackup, operator: 'alice' } });
  expect(answer.status).toBe(200);
  const restoreId = (answer.json as Bean<RestoreRecordJson>).bean.restore_id;
  await eventually(async () => {
    const list = (await call('GET', `${path()}/restore/records`)).json as { list: RestoreRecordJson[] };
    return list.list.find((r) => r.restore_id === restoreId && r.status === 'Completed');
  }, 'the restore Completed', 60_000);
  const restores = (await testbed.veleroObjects('podvolumerestores', `velero.io/restore-name=${restoreId}`)) as unknown as PodVolumeJson[];
  expect(restores.map((r) => r.spec.pod.name)).toEqual([HOLDER]);
  expect(restores.map((r) => r.spec.volume)).toEqual(await componentClaims());
  await holderGone('the restored holder removed once the restore finished');
  // Velero recreated the claim (the controller deleted it after the safety backup): same name, a new object.
  const [claim] = await componentClaims();
  expect(claim).toBe(before);
  expect(await claimUid(claim!)).not.toBe(uidBefore);
});

test('a holder left by a crash before its Backup (it names one that never came) is swept after the start timeout and its margin', async () => {
  const { core, component } = testbed;
  await core.createNamespacedPod({
    namespace: component.namespace,
    body: {
      metadata: { name: HOLDER, labels: { service_id: SID, 'backup.wutong.io/holder': SID }, annotations: { 'backup.wutong.io/holder-backup': `${SID}-backup-20261202000000-dead` } },
      // Shaped as holder-pod.ts makes one (the sweep removes nothing else), without its volumes.
      spec: { terminationGracePeriodSeconds: 5, automountServiceAccountToken: false, containers: [{ name: 'hold', image: 'wutong-backup:0.1.0', command: [...HOLDER_COMMAND] }] },
    },
  });
  const started = Date.now();
  await eventually(async () => ((await holderPod())?.status?.phase === 'Running' ? true : undefined), 'the leftover holder running', 30_000);
  await holderGone('the leftover holder swept', (START_TIMEOUT_S + 30 + 30) * 1000);
  // Not before its grace: its Backup could still have been on its way.
  expect(Date.now() - started).toBeGreaterThanOrEqual((START_TIMEOUT_S + 30 - 5) * 1000);
});

test('a holder that cannot run in time is removed and the console gets 503 saying why; nothing is backed up', async () => {
  const { core, component, call } = testbed;
  const labels = { ...wutongLabels({ serviceId: UNRUN_SID, alias: UNRUN_ALIAS, tenant: component.tenant, env: component.env }), volume_name: 'data' };
  await core.createNamespacedPersistentVolumeClaim({
    namespace: component.namespace,
    body: { metadata: { name: `manual2001-${UNRUN_ALIAS}-0`, labels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  });
  const began = Date.now();
  const answer = await eventually(async () => {
    const a = await call('POST', `${path(UNRUN_ALIAS)}/backup`, { body: { desc: 'never', operator: 'alice' } });
    // 404 until the component watch has seen the new PVC.
    return a.status === 404 ? undefined : a;
  }, 'an answer for the unrun component', 60_000);
  expect(answer.status).toBe(503);
  expect(answer.json).toMatchObject({ code: 'holder_not_running', msg: expect.stringMatching(new RegExp(`holder pod ${component.namespace}/wutong-backup-holder-${UNRUN_SID}, but it was not Running within ${START_TIMEOUT_S}s \\(Pending`)) as unknown });
  expect(Date.now() - began).toBeGreaterThanOrEqual(START_TIMEOUT_S * 1000 - 500);
  expect(await testbed.veleroObjects('backups', `wutong.io/service_id=${UNRUN_SID}`)).toEqual([]);
  const pods = await core.listNamespacedPod({ namespace: component.namespace, labelSelector: `backup.wutong.io/holder=${UNRUN_SID}` });
  expect(pods.items.filter((p) => p.metadata?.deletionTimestamp === undefined)).toEqual([]);
});
