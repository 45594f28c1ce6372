// Deletion cannot destroy the only copy, end to end: the shipped installation
// under its ServiceAccount, Wutong components whose PVCs the real PV binder
// binds to PVs made as Wutong's provisioner makes them (labelled, reclaim
// policy Delete), the kubelet and Velero stand-ins, and Wutong's delete as
// its worker does it (DeleteCollection of PVs and PVCs by label). What an
// operator would see with kubectl, `wutong-backup status` and /metrics.
import { scrapeReplica } from './support/metrics-reader.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { Watch } from '@kubernetes/client-node';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, VELERO_NAMESPACE, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { adminKubeConfig, clusterInfo } from './support/kube.js';
import { SHIPPED, setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { claimOf, runComponent, stopComponent } from './support/component-life.js';
import { DATA_GUARD_FINALIZER, claimNameOf, deleteWutongComponent, type WutongComponent } from './support/wutong-component.js';

jest.setTimeout(600_000);

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const HOLD_LIMIT_S = 20;
const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
    protection: { schedule: '@daily', deletionHoldLimit: ${HOLD_LIMIT_S}s }
`;
const UNPROTECTED = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
`;

let bed: BackupApiTestbed;
let replica: WebhookProcess;
const made: WutongComponent[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface VolumeJson {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { persistentVolumeReclaimPolicy?: string };
  status?: { phase?: string };
}

async function records(): Promise<Array<{ metadata: { name: string; labels?: Record<string, string> }; data: Record<string, string> }>> {
  const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${SHIPPED.namespace}/configmaps?labelSelector=${encodeURIComponent('backup.wutong.io/retained-volume')}`);
  return (res.json as { items: Array<{ metadata: { name: string; labels?: Record<string, string> }; data: Record<string, string> }> }).items;
}

async function eventsOn(c: WutongComponent, reason: string): Promise<string[]> {
  const events = await bed.core.listNamespacedEvent({ namespace: c.namespace, fieldSelector: `involvedObject.name=${claimNameOf(c)},reason=${reason}` });
  return events.items.filter((e) => e.source?.component === 'wutong-backup').map((e) => `${e.type ?? ''} ${e.message ?? ''}`);
}

function metrics(of: WebhookProcess): Promise<string> {
  return scrapeReplica(of, bed.caPem);
}

/** Every version of a PV the API server shows from now until it is deleted: what happened to it, even after it is gone. */
async function recordVolume(name: string): Promise<{ versions: VolumeJson[]; deleted: () => boolean; stop: () => void }> {
  const versions: VolumeJson[] = [];
  let deleted = false;
  const controller = await new Watch(adminKubeConfig()).watch(
    '/api/v1/persistentvolumes',
    { fieldSelector: `metadata.name=${name}` },
    (type, object: VolumeJson) => {
      versions.push(object);
      if (type === 'DELETED') deleted = true;
    },
    () => undefined,
  );
  return { versions, deleted: () => deleted, stop: () => controller.abort() };
}

/** A protected, running component of this file, its PVC bound to its own Wutong-style PV and guarded. */
const runGuarded = (alias: string, serviceId: string) => runComponent(bed, { alias, serviceId, made, ready: (claim) => claim.metadata.finalizers?.includes(DATA_GUARD_FINALIZER) === true });
const stop = (c: WutongComponent): Promise<string> => stopComponent(bed, c);

/** A Backup of the component as the controller's backup on stop makes one, which the Velero stand-in runs to Completed. */
async function completedBackup(c: WutongComponent, name: string): Promise<void> {
  // Velero stamps whole seconds: a backup started in the stop mark's own second proves nothing (run-mark.ts startedAfterStop).
  await sleep(1_000);
  const res = await apiRequest(clusterInfo(), 'POST', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/backups`, {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name, labels: { 'wutong.io/service_id': c.serviceId, 'backup.wutong.io/trigger': 'stop' } },
    spec: { includedNamespaces: [c.namespace], labelSelector: { matchLabels: { service_id: c.serviceId } }, defaultVolumesToFsBackup: true, storageLocation: 'default', ttl: '720h0m0s' },
  });
  if (res.status !== 201) throw new Error(`creating Backup ${name}: ${res.status} ${res.body.slice(0, 200)}`);
  await eventually(async () => ((await bed.veleroObjects('backups', `wutong.io/service_id=${c.serviceId}`)).some((b) => b.metadata.name === name && b.status?.phase === 'Completed') ? true : undefined), `Backup ${name} Completed`, 60_000, 250);
  // The volume's copy, as Velero's node agent records it for the holder pod that mounted the PVC (a holder is
  // not run here: its running pod would count as the component running). A Completed Backup without one holds no data.
  // Labelled with the claim's uid as Velero labels it (v1.11.1 pkg/podvolume/backupper.go newPodVolumeBackup): coverage is per claim.
  const claim = await claimOf(c);
  if (!claim) throw new Error(`${c.alias}: no PVC to record a volume copy of`);
  const pvb = await apiRequest(clusterInfo(), 'POST', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/podvolumebackups`, {
    apiVersion: 'velero.io/v1',
    kind: 'PodVolumeBackup',
    metadata: { name: `${name}-manual1001`, labels: { 'velero.io/backup-name': name, 'velero.io/pvc-uid': claim.metadata.uid } },
    spec: { node: 'holder', pod: { kind: 'Pod', namespace: c.namespace, name: `${c.alias}-holder` }, volume: 'manual1001', backupStorageLocation: 'default', repoIdentifier: 'velero/default' },
    status: { phase: 'Completed', progress: { totalBytes: 1_000_000, bytesDone: 1_000_000 } },
  });
  if (pvb.status !== 201) throw new Error(`creating the PodVolumeBackup: ${pvb.status} ${pvb.body.slice(0, 200)}`);
  await sleep(1_000);
}

function runStatus(): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', '--velero-namespace', VELERO_NAMESPACE, '-n', SHIPPED.namespace], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: clusterInfo().kubeconfigPath }, timeout: 60_000 }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout }),
    );
  });
}

const claimGone = (c: WutongComponent, timeoutMs: number): Promise<true> => eventually(async () => ((await claimOf(c)) === undefined ? true : undefined), `${c.alias}: PVC gone`, timeoutMs, 100);

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'deletion-guard', serviceId: 'd0d1d2d3d4d5d6d7d8d9dadbdcdddedf', alias: 'grdgbed', replicaCount: 1, beforeReplicas: () => setShippedPolicy(POLICY) });
  replica = bed.replicas[0]!;
});

afterAll(async () => {
  await bed?.stop();
  // PVs are cluster-scoped: the namespace's deletion does not take them.
  for (const c of made) await apiRequest(clusterInfo(), 'DELETE', `/api/v1/persistentvolumes?labelSelector=${encodeURIComponent(`service_id=${c.serviceId}`)}`);
});

test('covered: the PVC of a protected component carries the guard (Event); after a stop and a Completed backup, Wutong\'s delete goes through at once and the PV is deleted as its policy says', async () => {
  const { c, volume } = await runGuarded('grdgcov', 'd1000000000000000000000000000001');
  expect((await eventsOn(c, 'DataGuarded'))[0]).toMatch(/^Normal protected by rule databases/);
  const mark = await stop(c);
  // Velero's startTimestamp has whole seconds: a backup started in the same second as the stop would read as before it.
  await sleep(Math.max(0, Date.parse(mark) + 1_100 - Date.now()));
  await completedBackup(c, `${c.serviceId}-stop-covering`);
  const pv = await recordVolume(volume);
  const deletedAt = Date.now();
  await deleteWutongComponent(c);
  await claimGone(c, 10_000);
  const releasedMs = Date.now() - deletedAt;
  await eventually(() => Promise.resolve(pv.deleted() ? true : undefined), `PV ${volume} deleted`, 60_000, 100);
  pv.stop();
  expect(pv.versions.length).toBeGreaterThan(0);
  for (const v of pv.versions) {
    expect(v.spec.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(v.metadata.labels?.['backup.wutong.io/retained-volume']).toBeUndefined();
  }
  expect((await eventsOn(c, 'DeletionReleased'))[0]).toContain(`backup ${c.serviceId}-stop-covering covers the component's last run`);
  expect((await records()).filter((r) => r.metadata.labels?.['backup.wutong.io/retained-volume'] === c.serviceId)).toEqual([]);
  expect(await metrics(replica)).toMatch(/^wutong_backup_deletion_releases_total\{outcome="covered"\} 1$/m);
  console.log(`covered: PVC gone ${releasedMs} ms after the delete`);
});

test('not covered: the PV ends up Retain, marked and recorded, a Warning Event says so, status lists it and exits 1, the metrics count it; the PVC is gone well within the bound', async () => {
  const { c, volume } = await runGuarded('grdgret', 'd2000000000000000000000000000002');
  await stop(c);
  const pv = await recordVolume(volume);
  const deletedAt = Date.now();
  await deleteWutongComponent(c);
  await claimGone(c, HOLD_LIMIT_S * 1_000);
  const releasedMs = Date.now() - deletedAt;
  await eventually(() => Promise.resolve(pv.deleted() ? true : undefined), `PV ${volume} object deleted (Wutong deleted it by label; the storage stays)`, 60_000, 100);
  pv.stop();
  // The PV was Retain before it left Bound: the binder never ran its Delete.
  const released = pv.versions.filter((v) => v.status?.phase !== 'Bound');
  expect(released.length).toBeGreaterThan(0);
  for (const v of released) expect(v.spec.persistentVolumeReclaimPolicy).toBe('Retain');
  const last = pv.versions[pv.versions.length - 1]!;
  expect(last.metadata.labels?.['backup.wutong.io/retained-volume']).toBe(c.serviceId);
  expect(JSON.parse(last.metadata.annotations?.['backup.wutong.io/retained'] ?? '{}')).toMatchObject({ claim: `${c.namespace}/${claimNameOf(c)}`, previousReclaimPolicy: 'Delete' });

  const mine = (await records()).filter((r) => r.metadata.labels?.['backup.wutong.io/retained-volume'] === c.serviceId);
  expect(mine.map((r) => r.metadata.name)).toEqual([`retained-${volume}`]);
  const record = JSON.parse(mine[0]!.data['record.json'] ?? '{}') as Record<string, unknown>;
  expect(record).toMatchObject({ volume, serviceId: c.serviceId, component: `${c.tenant}/${c.env}/${c.alias}`, claim: { namespace: c.namespace, name: claimNameOf(c) }, previousReclaimPolicy: 'Delete' });
  expect(record.reason).toMatch(/^no Completed backup started after the component stopped at /);

  // The record is enough to bring the volume back: applying its PV makes it again, Available, pointing at the same storage.
  const again = JSON.parse(mine[0]!.data['persistentvolume.json'] ?? '{}') as { spec: { local?: { path?: string } } };
  expect((await apiRequest(clusterInfo(), 'POST', '/api/v1/persistentvolumes', again)).status).toBe(201);
  const restored = await eventually(async () => {
    const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/persistentvolumes/${volume}`);
    const v = res.json as VolumeJson & { spec: { local?: { path?: string } } };
    return res.status === 200 && v.status?.phase === 'Available' ? v : undefined;
  }, `PV ${volume} applied again from the record, Available`, 30_000, 250);
  expect(restored.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', local: { path: again.spec.local?.path } });

  expect((await eventsOn(c, 'VolumeRetained'))[0]).toMatch(new RegExp(`^Warning kept PersistentVolume ${volume} \\(reclaim policy Retain, was Delete\\)`));
  const status = await runStatus();
  expect(status.code).toBe(1);
  expect(status.stdout).toMatch(new RegExp(`^${volume}\\s+${c.tenant}/${c.env}/${c.alias}\\s+${c.namespace}/${claimNameOf(c)}\\s+\\d+s ago\\s+retained-${volume}\\s+no Completed backup`, 'm'));
  const text = await metrics(replica);
  expect(text).toMatch(/^wutong_backup_deletion_releases_total\{outcome="retained"\} 1$/m);
  expect(text).toMatch(/^wutong_backup_retained_volumes 1$/m);
  console.log(`retained: PVC gone ${releasedMs} ms after the delete`);
});

test('controller down: deletions wait for it, past the bound; the first leader releases every overdue PVC at once (Retain first); killed between Retain and its record, the next one finishes; no finalizer left, one record per PV', async () => {
  const covered = await runGuarded('grdgkc', 'd3000000000000000000000000000003');
  const kept = await runGuarded('grdgkk', 'd4000000000000000000000000000004');
  const killed = await runGuarded('grdgkx', 'd5000000000000000000000000000005');
  const covMark = await stop(covered.c);
  await stop(kept.c);
  await stop(killed.c);
  await sleep(Math.max(0, Date.parse(covMark) + 1_100 - Date.now()));
  await completedBackup(covered.c, `${covered.c.serviceId}-stop-covering`);

  // SIGKILL just after the first step of keeping a volume: its PV is Retain, its record not yet written.
  const retainLogged = replica.waitForLog((l) => l.msg === 'volume set to Retain' && l.volume === killed.volume, 60_000);
  await deleteWutongComponent(killed.c);
  await retainLogged;
  await replica.kill('SIGKILL');
  const afterKill = (await claimOf(killed.c));
  const recordedAtKill = (await records()).some((r) => r.metadata.name === `retained-${killed.volume}`);

  // No controller: Wutong deletes the other two; their PVCs wait, past the bound.
  await deleteWutongComponent(covered.c);
  await deleteWutongComponent(kept.c);
  await sleep((HOLD_LIMIT_S + 2) * 1_000);
  for (const c of [covered.c, kept.c]) expect((await claimOf(c))?.metadata.finalizers).toContain(DATA_GUARD_FINALIZER);

  const keptPv = await recordVolume(kept.volume);
  const coveredPv = await recordVolume(covered.volume);
  const [fresh] = await bed.install.startReplicas(1);
  replica = fresh!;
  const startedAt = Date.now();
  await Promise.all([covered.c, kept.c, killed.c].map((c) => claimGone(c, 120_000)));
  const releasedMs = Date.now() - startedAt;
  await eventually(() => Promise.resolve(keptPv.deleted() && coveredPv.deleted() ? true : undefined), 'both PV objects deleted', 60_000, 100);
  keptPv.stop();
  coveredPv.stop();
  for (const v of keptPv.versions.filter((x) => x.status?.phase !== 'Bound')) expect(v.spec.persistentVolumeReclaimPolicy).toBe('Retain');
  for (const v of coveredPv.versions) expect(v.spec.persistentVolumeReclaimPolicy).toBe('Delete');
  const names = (await records()).map((r) => r.metadata.name).filter((n) => [covered.volume, kept.volume, killed.volume].some((v) => n === `retained-${v}`)).sort();
  expect(names).toEqual([`retained-${kept.volume}`, `retained-${killed.volume}`].sort());
  expect(afterKill?.metadata.finalizers).toContain(DATA_GUARD_FINALIZER);
  console.log(`restart: record existed at the kill: ${recordedAtKill}; all three PVCs gone ${releasedMs} ms after the new replica started`);
});

test('uninstall with no controller running: release-finalizers lets a waiting deletion go at once, keeping its PV (Retain, record), and takes the finalizer off live PVCs', async () => {
  const deleted = await runGuarded('grdgrel', 'd7000000000000000000000000000007');
  const live = await runGuarded('grdglive', 'd8000000000000000000000000000008');
  await stop(deleted.c);
  await replica.stop();
  const pv = await recordVolume(deleted.volume);
  await deleteWutongComponent(deleted.c);
  await sleep(2_000);
  expect((await claimOf(deleted.c))?.metadata.deletionTimestamp).toBeDefined();
  const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'release-finalizers', '-n', deleted.c.namespace], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: clusterInfo().kubeconfigPath }, timeout: 60_000 }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout }),
    );
  });
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`released ${deleted.c.namespace}/${claimNameOf(deleted.c)} (being deleted: kept PersistentVolume ${deleted.volume}, Retain)\n`);
  expect(run.stdout).toContain(`released ${live.c.namespace}/${claimNameOf(live.c)}\n`);
  await claimGone(deleted.c, 10_000);
  expect((await claimOf(live.c))?.metadata.finalizers).not.toContain(DATA_GUARD_FINALIZER);
  await eventually(() => Promise.resolve(pv.deleted() ? true : undefined), `PV ${deleted.volume} object deleted`, 60_000, 100);
  pv.stop();
  for (const v of pv.versions.filter((x) => x.status?.phase !== 'Bound')) expect(v.spec.persistentVolumeReclaimPolicy).toBe('Retain');
  expect((await records()).map((r) => r.metadata.name)).toContain(`retained-${deleted.volume}`);
  const [fresh] = await bed.install.startReplicas(1);
  replica = fresh!;
  // The controller is back and the policy still protects the live component: it is guarded again.
  await eventually(async () => ((await claimOf(live.c))?.metadata.finalizers?.includes(DATA_GUARD_FINALIZER) ? true : undefined), 'live PVC guarded again', 60_000, 250);
});

test('removing protection from the policy removes the finalizer from every PVC', async () => {
  const { c } = await runGuarded('grdgoff', 'd6000000000000000000000000000006');
  await setShippedPolicy(UNPROTECTED);
  await eventually(async () => ((await claimOf(c))?.metadata.finalizers?.includes(DATA_GUARD_FINALIZER) === false ? true : undefined), 'finalizer removed', 30_000, 250);
  await eventually(async () => ((await claimOf(bed.component))?.metadata.finalizers?.includes(DATA_GUARD_FINALIZER) === false ? true : undefined), 'the testbed component\'s finalizer removed', 30_000, 250);
  expect((await eventsOn(c, 'DataGuardRemoved'))[0]).toMatch(/^Normal no policy rule protects the component any more/);
  expect(await metrics(replica)).toMatch(/^wutong_backup_guarded_claims 0$/m);
});
