// Backup on stop (protection.backupOnStop), end to end: the shipped
// installation under its ServiceAccount, Wutong components whose PVCs the
// real PV binder binds, stopped and deleted the way Wutong's worker does it,
// the kubelet stand-in running (or not running) the holder pod, and the
// Velero stand-in backing up through it. What a platform team would see.
import { namespaceTag } from '../../src/velero/object-names.js';
import { jest } from '@jest/globals';
import { apiRequest } from './cluster/cluster.js';
import { replicaMetrics, startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { claimOf, RAN_UNTIL, runComponent, stopComponent, type ClaimJson } from './support/component-life.js';
import { claimNameOf, deleteWutongComponent, type WutongComponent } from './support/wutong-component.js';

jest.setTimeout(400_000);

const START_TIMEOUT_S = 10;
const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
    protection: { schedule: '@daily', backupOnStop: true, deletionHoldLimit: 60s }
`;

let bed: BackupApiTestbed;
/** The replica that took over after the restart in the second test (the testbed stops only the ones it started). */
let successor: WebhookProcess | undefined;
const made: WutongComponent[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventsOn(c: WutongComponent): Promise<Array<{ type: string; reason: string; message: string }>> {
  const events = await bed.core.listNamespacedEvent({ namespace: c.namespace, fieldSelector: `involvedObject.name=${claimNameOf(c)}` });
  return events.items.filter((e) => e.source?.component === 'wutong-backup').map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

async function holders(c: WutongComponent): Promise<string[]> {
  const pods = await bed.core.listNamespacedPod({ namespace: c.namespace, labelSelector: `backup.wutong.io/holder=${c.serviceId}` });
  return pods.items.map((p) => p.metadata?.name ?? '');
}

const stopBackups = (c: WutongComponent) => bed.veleroObjects('backups', `wutong.io/service_id=${c.serviceId},backup.wutong.io/trigger=stop`);
/** The stop's time as the controller names the Backup after it (object-names.ts stopBackupName). */
const stampOf = (iso: string): string => iso.replace(/[-:T]/g, '').slice(0, 14);

/** A protected component of this file, running (the kubelet stand-in runs pods matching `runSelector`), its PVC bound and marked running. */
async function run(alias: string, serviceId: string, runSelector?: string): Promise<WutongComponent> {
  const ready = (claim: ClaimJson): boolean => claim.metadata.annotations?.[RAN_UNTIL] === 'running';
  return (await runComponent(bed, { alias, serviceId, made, ready, ...(runSelector ? { runSelector } : {}) })).c;
}
const stop = (c: WutongComponent): Promise<string> => stopComponent(bed, c);

beforeAll(async () => {
  bed = await startBackupApiTestbed({
    suite: 'stop-backup',
    serviceId: 'b05b05b05b05b05b05b05b05b05b05b0',
    alias: 'grbosbed',
    replicaCount: 1,
    replicaEnv: { HOLDER_START_TIMEOUT: `${START_TIMEOUT_S}s` },
    beforeReplicas: () => setShippedPolicy(POLICY),
  });
});

afterAll(async () => {
  await successor?.stop();
  await bed?.stop();
  // PVs are cluster-scoped: the namespace's deletion does not take them.
  for (const c of made) await apiRequest(clusterInfo(), 'DELETE', `/api/v1/persistentvolumes?labelSelector=${encodeURIComponent(`service_id=${c.serviceId}`)}`);
});

test('a protected component stopped after a run is backed up once, at rest, through a holder that goes afterwards; Wutong\'s delete then finds the data covered and goes through at once', async () => {
  const c = await run('grbos001', 'b0500000000000000000000000000001');
  const stoppedAt = Date.now();
  const mark = await stop(c);
  const [backup] = await eventually(async () => {
    const found = await stopBackups(c);
    return found.length > 0 ? found : undefined;
  }, 'the backup on stop', 60_000, 250);
  console.log(`backup on stop: Backup created ${Date.now() - stoppedAt} ms after Wutong's stop`);
  expect(backup?.metadata.name).toBe(`${c.serviceId}-${namespaceTag(c.namespace)}-stop-${stampOf(mark)}`);
  expect(backup?.metadata.annotations?.['backup.wutong.io/data-state']).toBe('at-rest');
  expect(backup?.metadata.annotations?.['wutong.io/creator']).toBe('wutong-backup');
  expect(backup?.metadata.labels?.['backup.wutong.io/trigger']).toBe('stop');
  const name = backup!.metadata.name;

  await eventually(async () => ((await bed.veleroObjects('backups', `wutong.io/service_id=${c.serviceId}`)).some((b) => b.metadata.name === name && b.status?.phase === 'Completed') ? true : undefined), `Backup ${name} Completed`, 60_000, 250);
  // Velero read exactly the component's PVC, through the holder.
  const volumes = (await bed.veleroObjects('podvolumebackups', `velero.io/backup-name=${name}`)) as unknown as Array<{ metadata: { annotations?: Record<string, string> }; spec: { pod: { name: string } } }>;
  expect(volumes.map((v) => [v.spec.pod.name, v.metadata.annotations?.['velero.io/pvc-name']])).toEqual([[`wutong-backup-holder-${c.serviceId}`, claimNameOf(c)]]);
  await eventually(async () => ((await holders(c)).length === 0 ? true : undefined), 'the holder removed once its backup finished', 60_000, 250);

  const told = await eventsOn(c);
  expect(told.filter((e) => e.reason === 'BackupOnStop')).toEqual([
    { type: 'Normal', reason: 'BackupOnStop', message: expect.stringContaining(`stopped at ${mark} after a run no backup holds: Backup ${name} copies its data at rest`) as unknown },
  ]);
  expect(told.map((e) => e.reason)).toEqual(expect.arrayContaining(['HolderStarted', 'HolderRemoved']));
  expect(await replicaMetrics(bed)).toMatch(/^wutong_backup_stop_backups_total\{outcome="started"\} 1$/m);

  // The component is covered: more resyncs take no second backup.
  await sleep(5_000);
  expect((await stopBackups(c)).map((b) => b.metadata.name)).toEqual([name]);

  const deletedAt = Date.now();
  await deleteWutongComponent(c);
  await eventually(async () => ((await claimOf(c)) === undefined ? true : undefined), `${c.alias}: PVC gone`, 10_000, 100);
  console.log(`backup on stop: PVC gone ${Date.now() - deletedAt} ms after Wutong's delete`);
  expect((await eventsOn(c)).find((e) => e.reason === 'DeletionReleased')?.message).toContain(`backup ${name} covers the component's last run`);
});

test('deleted while its backup on stop runs: the holder stays for that backup, which completes and covers the data; then the PVC and the PV go as Wutong asked', async () => {
  bed.velero.holdBackups(true);
  try {
    const c = await run('grbos003', 'b0500000000000000000000000000003');
    await stop(c);
    const [backup] = await eventually(async () => {
      const found = await stopBackups(c);
      return found.length > 0 && (await holders(c)).length === 1 ? found : undefined;
    }, 'the backup on stop running through its holder', 60_000, 250);
    const name = backup!.metadata.name;
    await deleteWutongComponent(c);
    await sleep(3_000);
    // Held by the data guard for the running backup, mounted by the holder that backup reads through.
    expect((await claimOf(c))?.metadata.deletionTimestamp).toBeDefined();
    expect(await holders(c)).toEqual([`wutong-backup-holder-${c.serviceId}`]);
    const releasedAt = Date.now();
    bed.velero.holdBackups(false);
    await eventually(async () => ((await claimOf(c)) === undefined ? true : undefined), `${c.alias}: PVC gone`, 60_000, 100);
    console.log(`backup on stop, deleted meanwhile: PVC gone ${Date.now() - releasedAt} ms after the backup was let finish`);
    expect((await bed.veleroObjects('backups', `wutong.io/service_id=${c.serviceId}`)).find((b) => b.metadata.name === name)?.status?.phase).toBe('Completed');
    expect((await eventsOn(c)).find((e) => e.reason === 'DeletionReleased')?.message).toContain(`backup ${name} covers the component's last run`);
    expect(await holders(c)).toEqual([]);
    await eventually(async () => ((await apiRequest(clusterInfo(), 'GET', `/api/v1/persistentvolumes/pv-${c.alias}-${process.pid}`)).status === 404 ? true : undefined), 'the PV deleted as its Delete policy says', 60_000, 250);
  } finally {
    bed.velero.holdBackups(false);
  }
});

test('a holder that cannot run: removed, one Warning, the try recorded on the PVC; a restarted controller does not try that stop again', async () => {
  // The kubelet stand-in runs the component's pods but never its holder (a node that cannot attach the volume, an image it cannot pull).
  const c = await run('grbos002', 'b0500000000000000000000000000002', 'service_id=b0500000000000000000000000000002,!backup.wutong.io/holder');
  const mark = await stop(c);
  const name = `${c.serviceId}-${namespaceTag(c.namespace)}-stop-${stampOf(mark)}`;
  const warning = await eventually(async () => (await eventsOn(c)).find((e) => e.reason === 'BackupOnStopFailed'), 'the Warning', 60_000, 250);
  expect(warning).toEqual({ type: 'Warning', reason: 'BackupOnStopFailed', message: expect.stringContaining(`it was not Running within ${START_TIMEOUT_S}s (Pending)`) as unknown });
  expect(warning.message).toContain('this stop is not tried again');
  expect((await claimOf(c))?.metadata.annotations?.['backup.wutong.io/stop-backup']).toBe(name);
  expect(await stopBackups(c)).toEqual([]);
  await eventually(async () => ((await holders(c)).length === 0 ? true : undefined), 'the holder that never ran removed', 30_000, 250);
  expect(await replicaMetrics(bed)).toMatch(/^wutong_backup_stop_backups_total\{outcome="failed"\} 1$/m);

  // A restart (a new leader's first pass goes over every stopped component): the recorded try is not repeated.
  await bed.replicas[0]!.stop();
  [successor] = await bed.install.startReplicas(1, { HOLDER_START_TIMEOUT: `${START_TIMEOUT_S}s` });
  const next = successor!;
  await eventually(async () => {
    const text = await replicaMetrics({ replicas: [next], caPem: bed.caPem });
    return /^wutong_backup_leader 1$/m.test(text) && /^wutong_backup_reconcile_total\{queue="stop-backups",outcome="success"\} [1-9]/m.test(text) ? true : undefined;
  }, 'the new leader has gone over the stopped components', 60_000, 500);
  // Long enough for a second try's holder to have started and timed out, had there been one.
  await sleep(START_TIMEOUT_S * 1000 + 2_000);
  expect((await eventsOn(c)).filter((e) => e.reason === 'BackupOnStopFailed')).toHaveLength(1);
  expect(await holders(c)).toEqual([]);
  expect(await stopBackups(c)).toEqual([]);
});
