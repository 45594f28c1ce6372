import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { apiRequest, type ApiResponse } from './cluster/cluster.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './support/kubelet-stand-in.js';
import { parseStandardCron } from './support/robfig-cron.js';
import { startVeleroStandIn, type VeleroStandIn } from './support/velero-stand-in.js';
import { eventually } from './support/wait.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';

jest.setTimeout(120_000);

/**
 * The Velero stand-in against the real API server with Velero v1.11.1's
 * CRDs: what each of its controllers writes, as Velero's would. Pods are run
 * by the kubelet stand-in; the garbage collector of the real
 * controller-manager removes what the stand-in's objects own.
 */

interface Obj {
  metadata: { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[]; generateName?: string };
  spec?: Record<string, unknown> & { pod?: { name: string; namespace: string; uid?: string }; volume?: string; template?: Record<string, unknown> };
  status?: {
    phase?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    expiration?: string;
    failureReason?: string;
    validationErrors?: string[];
    errors?: number | string[];
    message?: string;
    lastBackup?: string;
    downloadURL?: string;
    progress?: { totalItems?: number; itemsBackedUp?: number; itemsRestored?: number; totalBytes?: number; bytesDone?: number };
  };
}

const STEP_MS = 50;
const VOLUME_BYTES = 1_234_567;
const SERVICE = 'c0ffee00c0ffee00c0ffee00c0ffee00';

let core: CoreV1Api;
let app: string;
let velero: string;
let kubelet: KubeletStandIn;
let standIn: VeleroStandIn;
const NODE = `velero-si-${process.pid}`;

const send = (method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse> => apiRequest(clusterInfo(), method, path, body, contentType);
const veleroPath = (resource: string, name?: string): string => `/apis/velero.io/v1/namespaces/${velero}/${resource}${name ? `/${name}` : ''}`;
async function create(resource: string, kind: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<Obj> {
  const res = await send('POST', veleroPath(resource), { apiVersion: 'velero.io/v1', kind, metadata: { name, ...metadata }, spec });
  if (res.status !== 201) throw new Error(`creating ${kind} ${name}: HTTP ${res.status} ${res.body}`);
  return res.json as Obj;
}
async function read(resource: string, name: string): Promise<Obj | undefined> {
  const res = await send('GET', veleroPath(resource, name));
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`reading ${resource}/${name}: HTTP ${res.status}`);
  return res.json as Obj;
}
async function listOf(resource: string, labelSelector: string): Promise<Obj[]> {
  const res = await send('GET', `${veleroPath(resource)}?labelSelector=${encodeURIComponent(labelSelector)}`);
  return (res.json as { items: Obj[] }).items;
}
const inPhase = (resource: string, name: string, phases: string[], timeoutMs = 30_000): Promise<Obj> =>
  eventually(async () => {
    const obj = await read(resource, name);
    return obj?.status?.phase && phases.includes(obj.status.phase) ? obj : undefined;
  }, `${resource}/${name} to reach ${phases.join(' or ')}`, timeoutMs, 100);
const gone = (resource: string, name: string, timeoutMs = 30_000): Promise<true> =>
  eventually(async () => ((await read(resource, name)) ? undefined : true), `${resource}/${name} to be gone`, timeoutMs);

const backupSpec = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  includedNamespaces: [app],
  labelSelector: { matchLabels: { service_id: SERVICE } },
  storageLocation: 'default',
  defaultVolumesToFsBackup: true,
  ttl: '720h',
  ...extra,
});

/** A pod whose volumes cover every kind Velero's GetVolumesByPod decides on. */
function everyVolumeKindPod(name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): V1Pod {
  const mounted = ['data', 'cache', 'config', 'secret', 'host', 'projected', 'downward', 'excluded', 'default-token-cache'];
  return {
    metadata: { name, labels, annotations },
    spec: {
      containers: [{ name: 'db', image: 'mysql:8.0', volumeMounts: mounted.map((v) => ({ name: v, mountPath: `/mnt/${v}` })) }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'cache', emptyDir: {} },
        { name: 'config', configMap: { name: 'cfg' } },
        { name: 'secret', secret: { secretName: 's' } },
        { name: 'host', hostPath: { path: '/tmp' } },
        { name: 'projected', projected: { sources: [{ configMap: { name: 'cfg' } }] } },
        { name: 'downward', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        { name: 'excluded', emptyDir: {} },
        { name: 'default-token-cache', emptyDir: {} },
        { name: 'unmounted', emptyDir: {} },
      ],
    },
  };
}

const podVolumeBackups = async (backup: string): Promise<Obj[]> => listOf('podvolumebackups', `velero.io/backup-name=${backup}`);
const volumesOf = (pvbs: Obj[]): string[] => pvbs.map((p) => `${p.spec?.pod?.name}/${p.spec?.volume}`).sort();

let releaseCrds: (() => void) | undefined;

beforeAll(async () => {
  // Velero's CRDs are cluster-wide: the file that deletes them waits for this one.
  releaseCrds = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
  ({ core } = clients());
  app = await createNamespace(core, 'velero-si-app');
  velero = await createNamespace(core, 'velero-standin');
  kubelet = await startKubeletStandIn(NODE);
  kubelet.runPods(app, 'run=yes');
  await core.createNamespacedPersistentVolumeClaim({
    namespace: app,
    body: { metadata: { name: 'data', labels: { service_id: SERVICE } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  });
  // Running, selected: its volumes are what the backups below pick from.
  await core.createNamespacedPod({ namespace: app, body: everyVolumeKindPod('db-0', { run: 'yes', service_id: SERVICE }, { 'backup.velero.io/backup-volumes-excludes': 'excluded', 'backup.velero.io/backup-volumes': 'cache,unmounted,nosuch' }) });
  // Selected but never Running (the kubelet stand-in is not told to run it): Velero skips it.
  await core.createNamespacedPod({ namespace: app, body: everyVolumeKindPod('pending-0', { run: 'no', service_id: SERVICE }) });
  // Running but another component: the label selector leaves it out.
  await core.createNamespacedPod({ namespace: app, body: everyVolumeKindPod('other-0', { run: 'yes', service_id: 'ffffffffffffffffffffffffffffffff' }) });
  for (const name of ['db-0', 'other-0']) {
    await eventually(async () => ((await core.readNamespacedPod({ namespace: app, name })).status?.phase === 'Running' ? true : undefined), `${name} Running`, 30_000);
  }
  standIn = await startVeleroStandIn(clusterInfo(), { namespace: velero, timeScale: 60, stepMs: STEP_MS, volumeBytes: VOLUME_BYTES, downloadBaseUrl: 'https://s3.example.test/bucket/backups' });
  await standIn.setStorageLocation('default', 'Available');
});

afterAll(async () => {
  await standIn?.stop();
  await kubelet?.stop();
  await deleteNamespace(core, velero);
  await deleteNamespace(core, app);
  releaseCrds?.();
});

test('keeps a BackupStorageLocation at the phase the test sets, as Velero revalidates it', async () => {
  const location = await read('backupstoragelocations', 'default');
  expect(location?.status?.phase).toBe('Available');
  expect(location?.spec).toMatchObject({ provider: 'aws', default: true });
  await send('PATCH', veleroPath('backupstoragelocations', 'default'), { status: { phase: 'Unavailable' } }, 'application/merge-patch+json');
  await inPhase('backupstoragelocations', 'default', ['Available'], 10_000);
});

test('a file-system backup: New → InProgress → Completed, with a PodVolumeBackup for exactly the volumes Velero 1.11 picks', async () => {
  // Every change the API server records for this Backup, from before it exists until a while after.
  const listed = (await send('GET', veleroPath('backups'))).json as { metadata: { resourceVersion: string } };
  const watched = send('GET', `${veleroPath('backups')}?watch=1&fieldSelector=metadata.name%3Dfsb-all&resourceVersion=${listed.metadata.resourceVersion}&timeoutSeconds=6`);
  const created = await create('backups', 'Backup', 'fsb-all', backupSpec());
  const done = await inPhase('backups', 'fsb-all', ['Completed']);
  const phases = (await watched).body.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { object: Obj }).object.status?.phase ?? 'New');
  expect(phases.filter((phase, i) => phase !== phases[i - 1])).toEqual(['New', 'InProgress', 'Finalizing', 'Completed']);
  const start = Date.parse(done.status?.startTimestamp ?? '');
  expect(Date.parse(done.status?.completionTimestamp ?? '')).toBeGreaterThanOrEqual(start);
  expect(Date.parse(done.status?.expiration ?? '') - start).toBe(720 * 3_600_000);
  expect(done.metadata.labels?.['velero.io/storage-location']).toBe('default');
  expect(done.status?.progress?.totalItems).toBeGreaterThan(0);
  expect(done.status?.progress?.itemsBackedUp).toBe(done.status?.progress?.totalItems);

  const pvbs = await podVolumeBackups('fsb-all');
  // Not: configMap, secret, hostPath, projected, downwardAPI, the excluded one, default-token-*, the unmounted one; not the Pending pod nor the other component's.
  expect(volumesOf(pvbs)).toEqual(['db-0/cache', 'db-0/data']);
  const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: app, name: 'data' });
  for (const pvb of pvbs) {
    expect(pvb.metadata.generateName).toBe('fsb-all-');
    expect(pvb.metadata.labels?.['velero.io/backup-uid']).toBe(created.metadata.uid);
    expect(pvb.metadata.ownerReferences).toEqual([{ apiVersion: 'velero.io/v1', kind: 'Backup', name: 'fsb-all', uid: created.metadata.uid, controller: true }]);
    expect(pvb.status).toMatchObject({ phase: 'Completed', progress: { totalBytes: VOLUME_BYTES, bytesDone: VOLUME_BYTES } });
  }
  const data = pvbs.find((p) => p.spec?.volume === 'data');
  expect(data?.metadata.labels?.['velero.io/pvc-uid']).toBe(pvc.metadata?.uid);
  expect(data?.metadata.annotations?.['velero.io/pvc-name']).toBe('data');
  expect(pvbs.find((p) => p.spec?.volume === 'cache')?.metadata.labels?.['velero.io/pvc-uid']).toBeUndefined();
});

test('without defaultVolumesToFsBackup only the volumes named in backup.velero.io/backup-volumes (that exist and are mounted)', async () => {
  const spec = backupSpec();
  delete spec.defaultVolumesToFsBackup;
  delete spec.ttl;
  await create('backups', 'Backup', 'fsb-opt-in', spec);
  const done = await inPhase('backups', 'fsb-opt-in', ['Completed']);
  expect(volumesOf(await podVolumeBackups('fsb-opt-in'))).toEqual(['db-0/cache']);
  // What Velero defaults it writes back, in Go's form; what the client set it leaves alone (see the test above: "720h").
  expect(done.spec).toMatchObject({ ttl: '720h0m0s', csiSnapshotTimeout: '10m0s', defaultVolumesToFsBackup: false });
  expect((await read('backups', 'fsb-all'))?.spec?.ttl).toBe('720h');
});

test('a Backup whose duration Go cannot parse ("30d") stalls every Backup, as it breaks Velero\'s informer', async () => {
  await create('backups', 'Backup', 'bad-ttl', backupSpec({ ttl: '30d' }));
  await create('backups', 'Backup', 'after-bad-ttl', backupSpec());
  await new Promise((r) => setTimeout(r, 2_000));
  expect((await read('backups', 'after-bad-ttl'))?.status?.phase).toBeUndefined();
  await send('DELETE', veleroPath('backups', 'bad-ttl'));
  await inPhase('backups', 'after-bad-ttl', ['Completed']);
});

test('holds a backup InProgress with its volumes half done; Velero runs one backup at a time, and refuses to delete a running one', async () => {
  standIn.holdBackups(true);
  try {
    await create('backups', 'Backup', 'held-1', backupSpec());
    const held = await inPhase('backups', 'held-1', ['InProgress']);
    expect(held.status?.startTimestamp).toBeDefined();
    expect(held.status?.completionTimestamp).toBeUndefined();
    const halfway = await eventually(async () => {
      const pvbs = await podVolumeBackups('held-1');
      return pvbs.length === 2 && pvbs.every((p) => p.status?.progress?.bytesDone === Math.floor(VOLUME_BYTES / 2)) ? pvbs : undefined;
    }, 'the held backup’s PodVolumeBackups half done');
    expect(halfway.map((p) => p.status?.phase)).toEqual(['InProgress', 'InProgress']);

    await create('backups', 'Backup', 'held-2', backupSpec());
    await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-held-1', { backupName: 'held-1' });
    const refused = await inPhase('deletebackuprequests', 'delete-held-1', ['Processed']);
    expect(refused.status?.errors).toEqual(['backup is still in progress']);
    expect((await read('backups', 'held-2'))?.status?.phase).toBeUndefined();
    expect((await read('backups', 'held-1'))?.status?.phase).toBe('InProgress');
  } finally {
    standIn.holdBackups(false);
  }
  await inPhase('backups', 'held-1', ['Completed']);
  await inPhase('backups', 'held-2', ['Completed']);
});

test('validation: a missing storage location is FailedValidation; an Unavailable one fails when the store is reached', async () => {
  await create('backups', 'Backup', 'no-location', backupSpec({ storageLocation: 'nowhere' }));
  const invalid = await inPhase('backups', 'no-location', ['FailedValidation']);
  expect(invalid.status?.validationErrors?.[0]).toContain("the default 'nowhere' wasn't found");
  expect(invalid.status?.startTimestamp).toBeUndefined();

  await standIn.setStorageLocation('offline', 'Unavailable');
  expect((await read('backupstoragelocations', 'offline'))?.status?.message).toContain('unavailable');
  await create('backups', 'Backup', 'offline-location', backupSpec({ storageLocation: 'offline' }));
  const failed = await inPhase('backups', 'offline-location', ['Failed']);
  expect(failed.status?.failureReason).toMatch(/^error checking if backup already exists in object storage/);
  expect(failed.status?.completionTimestamp).toBeDefined();
});

test('failNextBackup: Failed with the reason, PartiallyFailed with a failed volume, FailedValidation with the reason', async () => {
  standIn.failNextBackup('Failed', 'disk on fire', /^fail-/);
  await create('backups', 'Backup', 'fail-hard', backupSpec());
  const failed = await inPhase('backups', 'fail-hard', ['Failed']);
  expect(failed.status?.failureReason).toBe('disk on fire');

  standIn.failNextBackup('PartiallyFailed', 'one volume unreadable');
  await create('backups', 'Backup', 'fail-partly', backupSpec());
  const partial = await inPhase('backups', 'fail-partly', ['PartiallyFailed']);
  expect(partial.status?.errors).toBe(1);
  expect(partial.status?.failureReason).toBeUndefined();
  expect((await podVolumeBackups('fail-partly')).map((p) => [p.status?.phase, p.status?.message]).sort()).toEqual([['Completed', undefined], ['Failed', 'one volume unreadable']]);

  standIn.failNextBackup('FailedValidation', 'no such thing');
  await create('backups', 'Backup', 'fail-validation', backupSpec());
  expect((await inPhase('backups', 'fail-validation', ['FailedValidation'])).status?.validationErrors).toEqual(['no such thing']);
});

test('a restore: absent pods come back from the backup (restore labels, no node, restore-wait), InProgress → a PodVolumeRestore per volume of a restored pod → Completed with progress; a missing backup is FailedValidation', async () => {
  await inPhase('backups', 'fsb-all', ['Completed']);
  // What a stop does: the pod is gone, so Velero restores it (pending-0 still exists: left as it is, no volume data).
  await core.deleteNamespacedPod({ namespace: app, name: 'db-0', gracePeriodSeconds: 0 });
  await eventually(async () => ((await core.listNamespacedPod({ namespace: app, fieldSelector: 'metadata.name=db-0' })).items.length === 0 ? true : undefined), 'db-0 gone', 30_000);
  const created = await create('restores', 'Restore', 'restore-1', { backupName: 'fsb-all' });
  const done = await inPhase('restores', 'restore-1', ['Completed']);
  expect(done.status?.startTimestamp).toBeDefined();
  expect(done.status?.completionTimestamp).toBeDefined();
  expect(done.status?.progress?.itemsRestored).toBe(done.status?.progress?.totalItems);
  const restored = await core.readNamespacedPod({ namespace: app, name: 'db-0' });
  expect(restored.metadata?.labels).toMatchObject({ 'velero.io/restore-name': 'restore-1', 'velero.io/backup-name': 'fsb-all', service_id: SERVICE });
  expect(restored.metadata?.ownerReferences).toBeUndefined();
  expect(restored.spec?.initContainers?.[0]).toMatchObject({ name: 'restore-wait', args: [created.metadata.uid] });
  // (The API server's ServiceAccount admission adds its token mount to every container, this one too.)
  expect(restored.spec?.initContainers?.[0]?.volumeMounts?.map((m) => m.mountPath).filter((p) => p.startsWith('/restores/')).sort()).toEqual(['/restores/cache', '/restores/data']);
  const pending = await core.readNamespacedPod({ namespace: app, name: 'pending-0' });
  expect(pending.metadata?.labels?.['velero.io/restore-name']).toBeUndefined();
  const pvrs = await listOf('podvolumerestores', 'velero.io/restore-name=restore-1');
  expect(volumesOf(pvrs)).toEqual(['db-0/cache', 'db-0/data']);
  expect(pvrs.map((p) => p.spec?.pod?.uid)).toEqual([restored.metadata?.uid, restored.metadata?.uid]);
  // The kubelet runs it again (run=yes): the backups below read through it.
  await eventually(async () => ((await core.readNamespacedPod({ namespace: app, name: 'db-0' })).status?.phase === 'Running' ? true : undefined), 'restored db-0 Running', 30_000);
  for (const pvr of pvrs) {
    expect(pvr.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Restore', name: 'restore-1', uid: created.metadata.uid });
    expect(pvr.status).toMatchObject({ phase: 'Completed', progress: { totalBytes: VOLUME_BYTES, bytesDone: VOLUME_BYTES } });
  }

  await create('restores', 'Restore', 'restore-missing', { backupName: 'no-such-backup' });
  const invalid = await inPhase('restores', 'restore-missing', ['FailedValidation']);
  expect(invalid.status?.validationErrors).toEqual([`Error retrieving backup: can't find backup ${velero}/no-such-backup: backups.velero.io "no-such-backup" not found`]);
});

test('a restore with namespaceMapping and an init restore hook: the pod lands in the mapped namespace with restore-wait first, then the hook\'s container, then its own (init_restorehook_pod_action.go L48-57, item_hook_handler.go L124-131, L147-154, L169)', async () => {
  await inPhase('backups', 'fsb-all', ['Completed']);
  const mapped = await createNamespace(core, 'velero-si-mapped');
  try {
    const hold = { name: 'hold-here', image: 'example/hold:1', command: ['/hold'] };
    await create('restores', 'Restore', 'restore-hooked', {
      backupName: 'fsb-all',
      includedNamespaces: [app],
      namespaceMapping: { [app]: mapped },
      // Matched against the mapped namespace, as Velero does.
      hooks: { resources: [{ name: 'hold', includedNamespaces: [mapped], includedResources: ['pods'], postHooks: [{ init: { initContainers: [hold] } }] }] },
    });
    await inPhase('restores', 'restore-hooked', ['Completed']);
    const restored = await core.readNamespacedPod({ namespace: mapped, name: 'db-0' });
    expect((restored.spec?.initContainers ?? []).map((c) => c.name).slice(0, 2)).toEqual(['restore-wait', 'hold-here']);
    expect(restored.spec?.initContainers?.[1]).toMatchObject({ image: 'example/hold:1', command: ['/hold'] });
  } finally {
    await deleteNamespace(core, mapped);
  }
});

test('a DeleteBackupRequest removes the Backup, its Restores and (through owner references) its PodVolumeBackups, then itself; a second one for the same backup goes with it', async () => {
  await create('backups', 'Backup', 'doomed', backupSpec());
  const backup = await inPhase('backups', 'doomed', ['Completed']);
  await create('restores', 'Restore', 'doomed-restore', { backupName: 'doomed' });
  await inPhase('restores', 'doomed-restore', ['Completed']);
  expect(await podVolumeBackups('doomed')).toHaveLength(2);

  const labels = { 'velero.io/backup-name': 'doomed', 'velero.io/backup-uid': backup.metadata.uid };
  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-doomed-1', { backupName: 'doomed' }, { labels });
  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-doomed-2', { backupName: 'doomed' }, { labels });
  await gone('backups', 'doomed');
  await gone('restores', 'doomed-restore');
  await gone('deletebackuprequests', 'delete-doomed-1');
  await gone('deletebackuprequests', 'delete-doomed-2');
  // The garbage collector may take its discovery resync (30 s) to watch a CRD installed after it started.
  await eventually(async () => ((await podVolumeBackups('doomed')).length === 0 ? true : undefined), 'the PodVolumeBackups collected', 90_000, 500);
  expect(await listOf('podvolumerestores', 'velero.io/restore-name=doomed-restore')).toEqual([]);

  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-nothing', { backupName: 'never-existed' });
  expect((await inPhase('deletebackuprequests', 'delete-nothing', ['Processed'])).status?.errors).toEqual(['backup not found']);
});

test('deleting a backup whose object store is unreachable leaves it Deleting and the request Processed with the error', async () => {
  await inPhase('backups', 'offline-location', ['Failed']);
  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-offline', { backupName: 'offline-location' });
  const processed = await inPhase('deletebackuprequests', 'delete-offline', ['Processed']);
  expect(processed.status?.errors).toEqual(['error deleting backup offline-location from backup storage: stand-in: BackupStorageLocation "offline" is Unavailable']);
  expect(processed.metadata.labels?.['velero.io/backup-name']).toBe('offline-location');
  expect((await read('backups', 'offline-location'))?.status?.phase).toBe('Deleting');
});

// vmware-tanzu/velero v1.11.1 pkg/controller/backup_controller.go L394-397 (validation) and
// backup_deletion_controller.go L184-206 (deletion): a ReadOnly location takes no backup and gives none up.
test('a ReadOnly location: a new backup there is FailedValidation, a deletion is refused and the backup left as it was', async () => {
  await standIn.setStorageLocation('archive', 'Available');
  await create('backups', 'Backup', 'archived', backupSpec({ storageLocation: 'archive' }));
  await inPhase('backups', 'archived', ['Completed']);
  await send('PATCH', veleroPath('backupstoragelocations', 'archive'), { spec: { accessMode: 'ReadOnly' } }, 'application/merge-patch+json');
  try {
    await create('backups', 'Backup', 'into-read-only', backupSpec({ storageLocation: 'archive' }));
    const invalid = await inPhase('backups', 'into-read-only', ['FailedValidation']);
    expect(invalid.status?.validationErrors).toEqual(["backup can't be created because backup storage location archive is currently in read-only mode"]);
    expect(invalid.status?.startTimestamp).toBeUndefined();

    await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-archived', { backupName: 'archived' });
    const refused = await inPhase('deletebackuprequests', 'delete-archived', ['Processed']);
    expect(refused.status?.errors).toEqual(['cannot delete backup because backup storage location archive is currently in read-only mode']);
    const kept = await read('backups', 'archived');
    expect(kept?.status?.phase).toBe('Completed');
    expect(await podVolumeBackups('archived')).toHaveLength(2);
  } finally {
    await send('PATCH', veleroPath('backupstoragelocations', 'archive'), { spec: { accessMode: 'ReadWrite' } }, 'application/merge-patch+json');
  }
});

// backup_deletion_controller.go L324-351: the Restores are listed and each whose spec.backupName is the
// backup is deleted, with no look at its phase.
test('deleting a backup deletes a Restore that is still reading it', async () => {
  await create('backups', 'Backup', 'being-read', backupSpec());
  await inPhase('backups', 'being-read', ['Completed']);
  // A Restore Velero is in the middle of (v1.11.1's CRDs have no status subresource: the status is created with it).
  const res = await send('POST', veleroPath('restores'), { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'reading' }, spec: { backupName: 'being-read' }, status: { phase: 'InProgress' } });
  expect(res.status).toBe(201);
  expect((await read('restores', 'reading'))?.status?.phase).toBe('InProgress');
  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-being-read', { backupName: 'being-read' });
  await gone('backups', 'being-read');
  await gone('restores', 'reading');
});

// backup_storage_location_controller.go L125-144 writes lastValidationTime on every validation;
// internal/storage/storagelocation.go IsReadyToValidate L48-75 says when: every spec.validationFrequency
// (default 1 minute), never again for 0.
test('a location is validated again every spec.validationFrequency (lastValidationTime moves on); with 0, never again', async () => {
  await standIn.setStorageLocation('frequent', 'Available');
  await standIn.setStorageLocation('once', 'Available');
  await send('PATCH', veleroPath('backupstoragelocations', 'frequent'), { spec: { validationFrequency: '1s' } }, 'application/merge-patch+json');
  await send('PATCH', veleroPath('backupstoragelocations', 'once'), { spec: { validationFrequency: '0s' } }, 'application/merge-patch+json');
  const validatedAt = async (name: string): Promise<string> => ((await read('backupstoragelocations', name))?.status as { lastValidationTime?: string } | undefined)?.lastValidationTime ?? '';
  const first = { frequent: await validatedAt('frequent'), once: await validatedAt('once') };
  await eventually(async () => ((await validatedAt('frequent')) > first.frequent ? true : undefined), 'frequent validated again', 10_000, 200);
  expect(await validatedAt('once')).toBe(first.once);
});

test('a Backup object deleted directly comes back from the object store with its PodVolumeBackups (backup sync), as with Velero', async () => {
  await create('backups', 'Backup', 'bare-deleted', backupSpec(), { labels: { 'wutong.io/service_id': SERVICE } });
  const first = await inPhase('backups', 'bare-deleted', ['Completed']);
  expect(await podVolumeBackups('bare-deleted')).toHaveLength(2);
  // Foreground: the Backup goes only after the garbage collector has removed its PodVolumeBackups.
  const res = await send('DELETE', veleroPath('backups', 'bare-deleted'), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' });
  expect(res.status).toBe(200);
  const back = await eventually(async () => {
    const backup = await read('backups', 'bare-deleted');
    return backup && backup.metadata.uid !== first.metadata.uid ? backup : undefined;
  }, 'the backup synced back from the store', 90_000, 250);
  expect(back.status?.phase).toBe('Completed');
  expect(back.status?.completionTimestamp).toBe(first.status?.completionTimestamp);
  expect(back.metadata.labels).toMatchObject({ 'wutong.io/service_id': SERVICE, 'velero.io/storage-location': 'default' });
  const volumes = await eventually(async () => {
    const pvbs = await podVolumeBackups('bare-deleted');
    return pvbs.length === 2 ? pvbs : undefined;
  }, 'its PodVolumeBackups synced back');
  for (const pvb of volumes) {
    expect(pvb.metadata.labels?.['velero.io/backup-uid']).toBe(back.metadata.uid);
    expect(pvb.metadata.ownerReferences?.[0]?.uid).toBe(back.metadata.uid);
    expect(pvb.status?.phase).toBe('Completed');
  }
  // A DeleteBackupRequest deletes it for good.
  await create('deletebackuprequests', 'DeleteBackupRequest', 'delete-bare-deleted', { backupName: 'bare-deleted' });
  await gone('backups', 'bare-deleted');
  await new Promise((r) => setTimeout(r, 2_500));
  expect(await read('backups', 'bare-deleted')).toBeUndefined();
});

test('a DownloadRequest gets a pre-signed URL and a 10-minute expiration; one for a missing backup stays unprocessed', async () => {
  const asked = Date.now();
  await create('downloadrequests', 'DownloadRequest', 'dl-1', { target: { kind: 'BackupContents', name: 'fsb-all' } });
  const done = await inPhase('downloadrequests', 'dl-1', ['Processed']);
  expect(done.status?.downloadURL).toMatch(/^https:\/\/s3\.example\.test\/bucket\/backups\/fsb-all\/fsb-all\.tar\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Signature=[0-9a-f]{64}$/);
  const expiresIn = Date.parse(done.status?.expiration ?? '') - asked;
  expect(expiresIn).toBeGreaterThan(9 * 60_000);
  expect(expiresIn).toBeLessThan(11 * 60_000);

  await create('downloadrequests', 'DownloadRequest', 'dl-missing', { target: { kind: 'BackupContents', name: 'no-such-backup' } });
  const pending = await eventually(async () => {
    const dr = await read('downloadrequests', 'dl-missing');
    return dr?.status?.expiration ? dr : undefined;
  }, 'the stand-in to look at dl-missing');
  expect(pending.status?.phase).toBeUndefined();
  expect(pending.status?.downloadURL).toBeUndefined();

  // Velero deletes a request once its expiration has passed (there is no status subresource: a client can write one).
  const res = await send('POST', veleroPath('downloadrequests'), {
    apiVersion: 'velero.io/v1', kind: 'DownloadRequest', metadata: { name: 'dl-expired' },
    spec: { target: { kind: 'BackupContents', name: 'fsb-all' } },
    status: { phase: 'Processed', downloadURL: 'https://s3.example.test/old', expiration: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z') },
  });
  expect(res.status).toBe(201);
  await gone('downloadrequests', 'dl-expired', 10_000);
});

test('a Schedule is validated with robfig/cron and, every scaled minute, makes a labelled Backup <schedule>-<yyyyMMddHHmmss> from its template', async () => {
  const template = backupSpec({ metadata: {} });
  delete template.metadata;
  await create('schedules', 'Schedule', 'every-minute', { schedule: '* * * * *', template }, { labels: { 'wutong.io/service_id': SERVICE }, annotations: { 'wutong.io/desc': 'nightly' } });
  await inPhase('schedules', 'every-minute', ['Enabled']);
  const made = await eventually(async () => {
    const backups = await listOf('backups', 'velero.io/schedule-name=every-minute');
    return backups.length >= 2 ? backups : undefined;
  }, 'two scheduled backups (a minute is a second here)', 30_000, 250);
  for (const backup of made) {
    expect(backup.metadata.name).toMatch(/^every-minute-\d{14}$/);
    expect(backup.metadata.labels).toMatchObject({ 'velero.io/schedule-name': 'every-minute', 'wutong.io/service_id': SERVICE });
    expect(backup.metadata.annotations?.['wutong.io/desc']).toBe('nightly');
    expect(backup.spec).toMatchObject(template);
  }
  expect((await read('schedules', 'every-minute'))?.status?.lastBackup).toBeDefined();
  // Paused: Velero ignores it (no backups); then the tests' namespace is left quiet.
  await send('PATCH', veleroPath('schedules', 'every-minute'), { spec: { paused: true } }, 'application/merge-patch+json');

  await create('schedules', 'Schedule', 'six-fields', { schedule: '0 * * * * *', template });
  expect((await inPhase('schedules', 'six-fields', ['FailedValidation'])).status?.validationErrors).toEqual(['invalid schedule: Expected exactly 5 fields, found 6: 0 * * * * *']);

  await create('schedules', 'Schedule', 'paused', { schedule: '* * * * *', paused: true, template });
  await new Promise((r) => setTimeout(r, 3_000));
  expect((await read('schedules', 'paused'))?.status?.phase).toBeUndefined();
  expect(await listOf('backups', 'velero.io/schedule-name=paused')).toEqual([]);
});

test('a restarted Velero marks the backups and restores it left InProgress as Failed', async () => {
  const leftover = await createNamespace(core, 'velero-standin-restart');
  try {
    const base = `/apis/velero.io/v1/namespaces/${leftover}`;
    for (const [resource, kind] of [['backups', 'Backup'], ['restores', 'Restore']]) {
      const res = await send('POST', `${base}/${resource}`, { apiVersion: 'velero.io/v1', kind, metadata: { name: 'interrupted' }, spec: kind === 'Restore' ? { backupName: 'interrupted' } : {}, status: { phase: 'InProgress' } });
      expect(res.status).toBe(201);
    }
    // This one connects through a kubeconfig file, the other way to start it.
    const second = await startVeleroStandIn(clusterInfo().kubeconfigPath, { namespace: leftover, stepMs: STEP_MS });
    await second.stop();
    for (const [resource, kind] of [['backups', 'backup'], ['restores', 'restore']]) {
      const after = (await send('GET', `${base}/${resource}/interrupted`)).json as Obj;
      expect(after.status?.phase).toBe('Failed');
      expect(after.status?.failureReason).toBe(`found a ${kind} with status "InProgress" during the server starting, mark it as "Failed"`);
      expect(after.status?.completionTimestamp).toBeDefined();
    }
  } finally {
    await deleteNamespace(core, leftover);
  }
});

describe('robfig/cron v1.1.0 ParseStandard, as Velero 1.11 reads Schedule.spec.schedule', () => {
  // Real Go's answers (test/fixtures/go-robfig-next/main.go): the error text, or three activations from each start.
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/go-robfig-next/expected.json', import.meta.url), 'utf8')) as { specs: { spec: string; error?: string; next?: string[][] }[] };
  test.each(fixture.specs.map((s) => [s.spec, s] as const))('%j as real robfig/cron v1.1.0 answers', (spec, go) => {
    if (go.error !== undefined) {
      expect(() => parseStandardCron(spec)).toThrow(new Error(go.error));
      return;
    }
    const cron = parseStandardCron(spec);
    for (const [from = '', ...expected] of go.next ?? []) {
      const times: string[] = [];
      let t: Date | undefined = new Date(from);
      for (let i = 0; i < expected.length && t; i++) {
        t = cron.next(t);
        times.push(t ? t.toISOString().replace('.000Z', 'Z') : '');
      }
      expect([from, ...times]).toEqual([from, ...expected]);
    }
  });

  const next = (spec: string, from: string): string | undefined => parseStandardCron(spec).next(new Date(from))?.toISOString();
  test.each([
    ['* * * * *', '2024-01-01T00:00:30Z', '2024-01-01T00:01:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:16:00Z', '2024-01-01T00:30:00.000Z'],
    ['0 3 * * *', '2024-01-01T03:00:00Z', '2024-01-02T03:00:00.000Z'],
    // Neither day field is "*": either matches (1 Feb 2024 is a Thursday, 5 Feb a Monday).
    ['0 0 1 * mon', '2024-01-31T12:00:00Z', '2024-02-01T00:00:00.000Z'],
    ['0 0 1 * mon', '2024-02-01T12:00:00Z', '2024-02-05T00:00:00.000Z'],
    // "*" in one day field: both must match.
    ['0 0 */10 * 1', '2024-01-01T12:00:00Z', '2024-03-11T00:00:00.000Z'],
    ['0 0 29 2 *', '2024-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['@daily', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00.000Z'],
    ['@weekly', '2024-01-01T00:00:00Z', '2024-01-07T00:00:00.000Z'],
    ['@every 1h30m', '2024-01-01T00:00:00.700Z', '2024-01-01T01:30:00.000Z'],
  ])('%s after %s is %s', (spec, from, expected) => {
    expect(next(spec, from)).toBe(expected);
  });
  test.each([
    ['', 'Empty spec string'],
    ['* * * *', 'Expected exactly 5 fields, found 4: * * * *'],
    ['0 0 * * 7', 'End of range (7) above maximum (6): 7'],
    ['60 * * * *', 'End of range (60) above maximum (59): 60'],
    ['*/0 * * * *', 'Step of range should be a positive number: */0'],
    ['5-1 * * * *', 'Beginning of range (5) beyond end of range (1): 5-1'],
    ['@fortnightly', 'Unrecognized descriptor: @fortnightly'],
    ['CRON_TZ=UTC 0 * * * *', 'Expected exactly 5 fields, found 6: CRON_TZ=UTC 0 * * * *'],
  ])('%j is invalid: %s', (spec, message) => {
    expect(() => parseStandardCron(spec)).toThrow(message);
  });
});
