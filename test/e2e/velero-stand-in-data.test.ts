import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { jest } from '@jest/globals';
import { AppsV1Api, type CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { HOLDER_COMMAND } from '../../src/holder/holder-pod.js';
import { apiRequest, type ApiResponse } from './cluster/cluster.js';
import { startDataNode, type DataNode } from './support/data-node.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startVeleroStandIn, type VeleroStandIn } from './support/velero-stand-in.js';
import { eventually } from './support/wait.js';

jest.setTimeout(180_000);

/**
 * The Velero stand-in's data mode on the data-bearing node (data-node.ts):
 * real files copied with Debian's restic and restored as
 * vmware-tanzu/velero v1.11.1 does — including what it does wrong for this
 * project (a restore overlays an existing claim; an existing pod gets no data).
 * Each test names the Velero source it follows.
 */

interface Obj {
  metadata: { name: string; uid: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; uid: string; controller?: boolean }[] };
  spec?: Record<string, unknown> & { pod?: { name: string; namespace: string; uid?: string }; volume?: string; snapshotID?: string; sourceNamespace?: string };
  status?: { phase?: string; errors?: number; warnings?: number; snapshotID?: string; path?: string; message?: string; progress?: { totalItems?: number; itemsRestored?: number; totalBytes?: number; bytesDone?: number } };
}

const NODE = `velero-data-${process.pid}`;
const PROJECT_IMAGE = 'wutong-backup:0.1.0';
let core: CoreV1Api;
let apps: AppsV1Api;
let app: string;
let velero: string;
let node: DataNode;
let standIn: VeleroStandIn;
let storageClass: string;
let releaseCrds: (() => void) | undefined;
let mapped: string | undefined;
let repositoryRoot: string;

const send = (method: string, path: string, body?: unknown): Promise<ApiResponse> => apiRequest(clusterInfo(), method, path, body);
const veleroPath = (resource: string, name?: string): string => `/apis/velero.io/v1/namespaces/${velero}/${resource}${name ? `/${name}` : ''}`;
async function createVelero(resource: string, kind: string, name: string, spec: Record<string, unknown>): Promise<Obj> {
  const res = await send('POST', veleroPath(resource), { apiVersion: 'velero.io/v1', kind, metadata: { name }, spec });
  if (res.status !== 201) throw new Error(`creating ${kind} ${name}: HTTP ${res.status} ${res.body}`);
  return res.json as Obj;
}
const readVelero = async (resource: string, name: string): Promise<Obj | undefined> => {
  const res = await send('GET', veleroPath(resource, name));
  return res.status === 200 ? (res.json as Obj) : undefined;
};
const listVelero = async (resource: string, labelSelector: string): Promise<Obj[]> =>
  ((await send('GET', `${veleroPath(resource)}?labelSelector=${encodeURIComponent(labelSelector)}`)).json as { items: Obj[] }).items;
const finished = (resource: string, name: string, timeoutMs = 120_000): Promise<Obj> =>
  eventually(async () => {
    const obj = await readVelero(resource, name);
    return ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'].includes(obj?.status?.phase ?? '') ? obj : undefined;
  }, `${resource}/${name} to finish`, timeoutMs, 250);

const backup = async (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Obj> => {
  await createVelero('backups', 'Backup', name, { includedNamespaces: [app], labelSelector: { matchLabels: labels }, storageLocation: 'default', defaultVolumesToFsBackup: true, ...extra });
  return finished('backups', name);
};
const restore = async (name: string, backupName: string, extra: Record<string, unknown> = {}): Promise<Obj> => {
  await createVelero('restores', 'Restore', name, { backupName, ...extra });
  return finished('restores', name);
};

const holder = (name: string, mounts: { name: string; mountPath: string }[]): V1Container => ({ name, image: PROJECT_IMAGE, command: [...HOLDER_COMMAND], volumeMounts: mounts });
const claim = async (name: string, labels: Record<string, string>): Promise<void> => {
  await core.createNamespacedPersistentVolumeClaim({ namespace: app, body: { metadata: { name, labels }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: storageClass, resources: { requests: { storage: '1Gi' } } } } });
};
/** A pod on the data node (the kubelet runs it as bound) with `claims` mounted under /<claim> in container "app". */
const podOnNode = async (name: string, labels: Record<string, string>, claims: string[], annotations: Record<string, string> = {}, extra: Partial<V1Pod['spec']> = {}): Promise<V1Pod> => {
  await core.createNamespacedPod({
    namespace: app,
    body: {
      metadata: { name, labels, annotations },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 2,
        // The first container mounts nothing: a hook that runs there instead of "app" cannot write to the volume.
        containers: [holder('sidecar', []), holder('app', claims.map((c) => ({ name: c, mountPath: `/${c}` })))],
        volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
        ...extra,
      },
    },
  });
  return whenRunning(name);
};
const whenRunning = (name: string, timeoutMs = 90_000): Promise<V1Pod> => {
  let last: V1Pod | undefined;
  return eventually(async () => {
    const pod = await core.readNamespacedPod({ namespace: app, name });
    last = pod;
    return pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod : undefined;
  }, `pod ${name} Running and Ready`, timeoutMs, 250).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  });
};
const gone = (path: string): Promise<true> =>
  eventually(async () => ((await send('GET', path)).status === 404 ? true : undefined), `${path} to be gone`, 60_000, 250);
const deletePod = async (name: string): Promise<void> => {
  await send('DELETE', `/api/v1/namespaces/${app}/pods/${name}`);
  await gone(`/api/v1/namespaces/${app}/pods/${name}`);
};
const volumeDirOf = (pod: V1Pod, volume: string): string => {
  const dir = node.runtime.volumeDir(pod.metadata?.uid ?? '', volume);
  if (!dir) throw new Error(`no directory for ${pod.metadata?.name ?? ''}/${volume}`);
  return dir;
};

/** Every file under `dir` with its bytes (base64), by relative path; .velero (the restore's done files) aside. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.name === '.velero' && d === dir) continue;
      if (entry.isDirectory()) walk(full);
      else out[relative(dir, full)] = readFileSync(full).toString('base64');
    }
  };
  walk(dir);
  return out;
}
function writeFiles(dir: string): void {
  mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'the first file\n');
  writeFileSync(join(dir, 'nested', 'data.bin'), randomBytes(256 * 1024));
  writeFileSync(join(dir, 'nested', 'deeper', 'c.txt'), 'deep\n');
}
const bytesOf = (t: Record<string, string>): number => Object.values(t).reduce((n, b64) => n + Buffer.from(b64, 'base64').length, 0);

beforeAll(async () => {
  // Fails, not skips, without Debian's restic (provision.sh installs it).
  expect(execFileSync('restic', ['version']).toString()).toMatch(/^restic 0\.14\./);
  releaseCrds = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
  ({ core } = clients());
  apps = adminKubeConfig().makeApiClient(AppsV1Api);
  app = await createNamespace(core, 'vdata', { tenant: false });
  velero = await createNamespace(core, 'vdata-velero', { tenant: false });
  node = await startDataNode(NODE);
  storageClass = await node.storageClass('Delete');
  // Restored pods come back unscheduled: the data node's kubelet takes them (as a scheduler would).
  node.kubelet.runPods(app, 'run=yes');
  repositoryRoot = join(node.root, 'velero-repositories');
  standIn = await startVeleroStandIn(clusterInfo(), { namespace: velero, stepMs: 20, nodes: [node.runtime], repositoryRoot });
  await standIn.setStorageLocation('default', 'Available');
});

afterAll(async () => {
  await standIn?.stop();
  await deleteNamespace(core, app);
  if (mapped) await deleteNamespace(core, mapped);
  await node?.stop({ keepRoot: process.env.KEEP_DATA_NODE === '1' });
  await deleteNamespace(core, velero);
  releaseCrds?.();
});

test('a file tree (binary file, nested directories) comes back byte for byte into a fresh claim; the pre hook runs in the named container before the copy', async () => {
  const labels = { run: 'yes', app: 'tree' };
  await claim('tree', labels);
  const pod = await podOnNode('tree-0', labels, ['tree'], {
    // internal/hook/item_hook_handler.go L214-219 (phased key), pkg/podexec: the named container, not the first.
    'pre.hook.backup.velero.io/container': 'app',
    'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo written-by-the-hook > /tree/hook-output && echo hook-ran"]',
  });
  const dir = volumeDirOf(pod, 'tree');
  // The project's image runs as uid 65532: the volume is writable for it as with an fsGroup.
  chmodSync(dir, 0o777);
  writeFiles(dir);
  const originalClaim = await core.readNamespacedPersistentVolumeClaim({ namespace: app, name: 'tree' });

  const done = await backup('tree-b', { app: 'tree' });
  expect(done.status).toMatchObject({ phase: 'Completed', errors: 0, warnings: 0 });
  // The hook's file is on the volume before the copy (item_backupper.go L181: pre hooks before BackupPodVolumes).
  expect(readFileSync(join(dir, 'hook-output'), 'utf8')).toBe('written-by-the-hook\n');
  expect(standIn.log('tree-b').some((l) => l.includes('stdout: hook-ran'))).toBe(true);
  const atBackup = tree(dir);
  const [pvb] = await listVelero('podvolumebackups', 'velero.io/backup-name=tree-b');
  // pod_volume_backup_controller.go: snapshotID (restic's short id), path, progress from restic's summary.
  expect(pvb?.status).toMatchObject({ phase: 'Completed', path: dir, progress: { totalBytes: bytesOf(atBackup), bytesDone: bytesOf(atBackup) } });
  expect(pvb?.status?.snapshotID).toMatch(/^[0-9a-f]{8}$/);
  expect(pvb?.spec).toMatchObject({ repoIdentifier: `s3:s3-stand-in.amazonaws.com/velero-stand-in/restic/${app}`, uploaderType: 'restic', volume: 'tree' });

  // The component is deleted, claim and all (its PV has reclaim policy Delete).
  await deletePod('tree-0');
  await send('DELETE', `/api/v1/namespaces/${app}/persistentvolumeclaims/tree`);
  await gone(`/api/v1/namespaces/${app}/persistentvolumeclaims/tree`);

  const created = await createVelero('restores', 'Restore', 'tree-r', {
    backupName: 'tree-b',
    // internal/hook/item_hook_handler.go L102-180: a Restore's init hook goes after restore-wait.
    hooks: { resources: [{ name: 'prepare', includedNamespaces: [app], labelSelector: { matchLabels: { app: 'tree' } }, postHooks: [{ init: { initContainers: [{ name: 'prepare', image: PROJECT_IMAGE, command: ['/bin/sh', '-c', 'test "$(cat /tree/a.txt)" = "the first file"'], volumeMounts: [{ name: 'tree', mountPath: '/tree' }] }] } }] }] },
  });
  const restored = await finished('restores', 'tree-r');
  expect(restored.status).toMatchObject({ phase: 'Completed', errors: 0 });
  // status.progress counts the items the restore took: PVC, PV (provisioned anew, not restored), pod.
  expect(restored.status?.progress?.itemsRestored).toBe(restored.status?.progress?.totalItems);

  // restore.go L1303-1307: the claim is reset for dynamic provisioning; a new PV holds the data.
  const newClaim = await eventually(async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ namespace: app, name: 'tree' });
    return c.status?.phase === 'Bound' ? c : undefined;
  }, 'the restored claim to be bound');
  expect(newClaim.spec?.volumeName).not.toBe(originalClaim.spec?.volumeName);
  expect(newClaim.metadata?.labels).toMatchObject({ 'velero.io/backup-name': 'tree-b', 'velero.io/restore-name': 'tree-r' });
  expect(newClaim.metadata?.annotations?.['pv.kubernetes.io/bind-completed']).not.toBe('velero');

  const newPod = await whenRunning('tree-0');
  expect(newPod.metadata?.uid).not.toBe(pod.metadata?.uid);
  expect(newPod.spec?.initContainers?.map((c) => c.name)).toEqual(['restore-wait', 'prepare']);
  const restoreWait = newPod.spec?.initContainers?.[0];
  expect(restoreWait).toMatchObject({ image: 'velero/velero-restore-helper:v1.11.1', args: [created.metadata.uid] });
  // Besides the service account token the API server's admission adds.
  expect(restoreWait?.volumeMounts?.filter((m) => m.mountPath.startsWith('/restores/')).map((m) => ({ name: m.name, mountPath: m.mountPath }))).toEqual([{ name: 'tree', mountPath: '/restores/tree' }]);

  // One PodVolumeRestore, for the pod this restore created (restorer.go newPodVolumeRestore).
  const pvrs = await listVelero('podvolumerestores', 'velero.io/restore-name=tree-r');
  expect(pvrs).toHaveLength(1);
  expect(pvrs[0]?.metadata.labels).toMatchObject({ 'velero.io/restore-uid': created.metadata.uid, 'velero.io/pod-uid': newPod.metadata?.uid, 'velero.io/pvc-uid': newClaim.metadata?.uid });
  expect(pvrs[0]?.spec).toMatchObject({ pod: { namespace: app, name: 'tree-0', uid: newPod.metadata?.uid }, volume: 'tree', snapshotID: pvb?.status?.snapshotID, sourceNamespace: app, backupStorageLocation: 'default' });
  expect(pvrs[0]?.status).toMatchObject({ phase: 'Completed', progress: { totalBytes: bytesOf(atBackup), bytesDone: bytesOf(atBackup) } });

  // The init hook found the restored data at its first run: it ran after restore-wait.
  expect(newPod.status?.initContainerStatuses?.find((c) => c.name === 'prepare')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0 } } });
  // The data: exactly the backup's tree.
  const newDir = volumeDirOf(newPod, 'tree');
  expect(newDir).not.toBe(dir);
  expect(tree(newDir)).toEqual(atBackup);
});

test('a restore over an existing claim overlays it: changed files get the backup\'s bytes, files added since stay; a pod that exists gets no PodVolumeRestore (restore.go L1447-1458, L1525-1538; restic never deletes)', async () => {
  const labels = { run: 'yes', app: 'keep' };
  await claim('keep', labels);
  const pod = await podOnNode('keep-0', labels, ['keep']);
  const dir = volumeDirOf(pod, 'keep');
  writeFiles(dir);
  const atBackup = tree(dir);
  expect((await backup('keep-b', { app: 'keep' })).status?.phase).toBe('Completed');

  writeFileSync(join(dir, 'a.txt'), 'changed after the backup\n');
  writeFileSync(join(dir, 'nested', 'added-later.txt'), 'not in the backup\n');
  // A Wutong stop: the pod goes, the claim stays.
  await deletePod('keep-0');

  const overlay = await restore('keep-r', 'keep-b');
  expect(overlay.status?.phase).toBe('Completed');
  // The claim exists: left alone, with Velero's warning; the PV is not touched.
  expect(overlay.status?.warnings).toBeGreaterThanOrEqual(1);
  const restoredPod = await whenRunning('keep-0');
  const sameDir = volumeDirOf(restoredPod, 'keep');
  expect(sameDir).toBe(dir);
  expect(tree(sameDir)).toEqual({ ...atBackup, 'nested/added-later.txt': Buffer.from('not in the backup\n').toString('base64') });
  expect(await listVelero('podvolumerestores', 'velero.io/restore-name=keep-r')).toHaveLength(1);

  // The pod exists now (as when Wutong starts the component meanwhile): no data is written, and the restore is Completed.
  writeFileSync(join(dir, 'a.txt'), 'changed again\n');
  const again = await restore('keep-r2', 'keep-b');
  expect(again.status?.phase).toBe('Completed');
  expect(await listVelero('podvolumerestores', 'velero.io/restore-name=keep-r2')).toHaveLength(0);
  expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('changed again\n');
  expect(standIn.log('keep-r2').some((l) => l.includes('could not restore, Pod "keep-0" already exists'))).toBe(true);
});

test('a claim on a hostPath PV is skipped with a warning and the backup is still Completed (backupper.go L207-216)', async () => {
  const labels = { run: 'yes', app: 'hp' };
  const hostPv = await node.createHostPathPv(`hp-${process.pid}`, { claim: { namespace: app, name: 'hp-logs' } });
  await core.createNamespacedPersistentVolumeClaim({ namespace: app, body: { metadata: { name: 'hp-logs', labels }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: hostPv.name, resources: { requests: { storage: '1Gi' } } } } });
  await claim('hp-data', labels);
  // An emptyDir no container mounts (backupper.go L218-224): skipped with a warning.
  await podOnNode('hp-0', labels, ['hp-data', 'hp-logs'], {}, { volumes: [{ name: 'hp-data', persistentVolumeClaim: { claimName: 'hp-data' } }, { name: 'hp-logs', persistentVolumeClaim: { claimName: 'hp-logs' } }, { name: 'scratch', emptyDir: {} }] });
  // A pod that is not Running (its claim does not exist): each of its volumes is skipped with a warning (L135-143).
  await core.createNamespacedPod({ namespace: app, body: { metadata: { name: 'hp-1', labels }, spec: { nodeName: NODE, containers: [holder('app', [{ name: 'gone', mountPath: '/gone' }])], volumes: [{ name: 'gone', persistentVolumeClaim: { claimName: 'no-such-claim' } }] } } });
  const done = await backup('hp-b', { app: 'hp' });
  expect(done.status).toMatchObject({ phase: 'Completed', errors: 0, warnings: 3 });
  const pvbs = await listVelero('podvolumebackups', 'velero.io/backup-name=hp-b');
  expect(pvbs.map((p) => p.spec?.volume)).toEqual(['hp-data']);
  const log = standIn.log('hp-b');
  expect(log.some((l) => l.includes('Volume hp-logs in pod') && l.includes('is a hostPath volume which is not supported for pod volume backup, skipping'))).toBe(true);
  expect(log.some((l) => l.includes('Volume scratch is declared in pod') && l.includes('but not mounted by any container, skipping'))).toBe(true);
  expect(log.some((l) => l.includes('backup for volume gone is skipped: pod is not in the expected status'))).toBe(true);
});

test('the post hook runs after the copy in v1.11.1 (BackupPodVolumes waits; item_backupper.go L249-263), and a hook past its timeout fails with "timed out after"', async () => {
  const labels = { run: 'yes', app: 'post' };
  await claim('post', labels);
  const pod = await podOnNode('post-0', labels, ['post'], {
    'post.hook.backup.velero.io/container': 'app',
    'post.hook.backup.velero.io/command': '["/bin/sh","-c","echo after > /post/post-hook-output"]',
    'pre.hook.backup.velero.io/container': 'app',
    'pre.hook.backup.velero.io/command': '["/bin/sh","-c","sleep 5"]',
    'pre.hook.backup.velero.io/timeout': '1s',
  });
  const dir = volumeDirOf(pod, 'post');
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'a.txt'), 'data\n');
  const done = await backup('post-b', { app: 'post' });
  // The pre hook timed out (an error; no on-error: the backup goes on), the volume was copied, then the post hook ran.
  expect(done.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
  expect(standIn.log('post-b').some((l) => l.includes('timed out after 1s'))).toBe(true);
  expect(readFileSync(join(dir, 'post-hook-output'), 'utf8')).toBe('after\n');
  await deletePod('post-0');
  await send('DELETE', `/api/v1/namespaces/${app}/persistentvolumeclaims/post`);
  await gone(`/api/v1/namespaces/${app}/persistentvolumeclaims/post`);
  expect((await restore('post-r', 'post-b')).status?.phase).toBe('Completed');
  // The snapshot was taken before the post hook wrote its file.
  expect(tree(volumeDirOf(await whenRunning('post-0'), 'post'))).toEqual({ 'a.txt': Buffer.from('data\n').toString('base64') });
});

test('namespaceMapping and resource filters: the claim and pod come back in the mapped namespace with data from the source namespace\'s repository; excluded resources stay out', async () => {
  const labels = { run: 'yes', app: 'map' };
  await claim('map', labels);
  await core.createNamespacedConfigMap({ namespace: app, body: { metadata: { name: 'map-config', labels }, data: { k: 'v' } } });
  const pod = await podOnNode('map-0', labels, ['map']);
  writeFiles(volumeDirOf(pod, 'map'));
  const atBackup = tree(volumeDirOf(pod, 'map'));
  expect((await backup('map-b', { app: 'map' })).status?.phase).toBe('Completed');
  const target = `${app}-mapped`;
  mapped = target;
  node.kubelet.runPods(target, 'run=yes');
  const done = await restore('map-r', 'map-b', { namespaceMapping: { [app]: target }, excludedResources: ['configmaps'] });
  expect(done.status).toMatchObject({ phase: 'Completed', errors: 0 });
  // Namespace (restored under its mapped name), PV (provisioned anew, not created), PVC, pod: the ConfigMap is excluded.
  expect(done.status?.progress).toEqual({ totalItems: 4, itemsRestored: 4 });
  expect((await send('GET', `/api/v1/namespaces/${target}/configmaps/map-config`)).status).toBe(404);
  const restoredPod = await eventually(async () => {
    const p = await core.readNamespacedPod({ namespace: target, name: 'map-0' });
    return p.status?.phase === 'Running' ? p : undefined;
  }, 'the mapped pod to run', 90_000, 250);
  const [pvr] = await listVelero('podvolumerestores', 'velero.io/restore-name=map-r');
  expect(pvr?.spec).toMatchObject({ pod: { namespace: target, name: 'map-0' }, sourceNamespace: app, repoIdentifier: `s3:s3-stand-in.amazonaws.com/velero-stand-in/restic/${app}` });
  expect(tree(volumeDirOf(restoredPod, 'map'))).toEqual(atBackup);
});

test('a PodVolumeRestore that fails makes the Restore PartiallyFailed with "pod volume restore failed" (restorer.go, restore_controller.go)', async () => {
  const labels = { run: 'yes', app: 'lost' };
  await claim('lost', labels);
  const pod = await podOnNode('lost-0', labels, ['lost']);
  writeFiles(volumeDirOf(pod, 'lost'));
  expect((await backup('lost-b', { app: 'lost' })).status?.phase).toBe('Completed');
  const [pvb] = await listVelero('podvolumebackups', 'velero.io/backup-name=lost-b');
  await deletePod('lost-0');
  await send('DELETE', `/api/v1/namespaces/${app}/persistentvolumeclaims/lost`);
  await gone(`/api/v1/namespaces/${app}/persistentvolumeclaims/lost`);
  // The snapshot is gone from the repository (as if pruned): restic cannot find it.
  execFileSync('restic', ['forget', `--repo=${join(repositoryRoot, 'repositories', 'default', 'restic', app)}`, pvb?.status?.snapshotID ?? '', '--no-cache'], { env: { ...process.env, RESTIC_PASSWORD: 'static-passw0rd' } });
  const done = await restore('lost-r', 'lost-b');
  expect(done.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
  const [pvr] = await listVelero('podvolumerestores', 'velero.io/restore-name=lost-r');
  expect(pvr?.status?.phase).toBe('Failed');
  expect(pvr?.status?.message).toMatch(/^error running restore err=/);
  expect(standIn.log('lost-r').some((l) => l.includes('pod volume restore failed: error running restore err='))).toBe(true);
});

test('a pre hook that fails with on-error Fail skips the pod and its volumes: PartiallyFailed; with no on-error the volumes are copied (item_hook_handler.go L230, L312-315; item_backupper.go L181-184)', async () => {
  const failLabels = { run: 'yes', app: 'hookfail' };
  await claim('hookfail', failLabels);
  await podOnNode('hookfail-0', failLabels, ['hookfail'], {
    'pre.hook.backup.velero.io/container': 'app',
    'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo refusing >&2; exit 3"]',
    'pre.hook.backup.velero.io/on-error': 'Fail',
  });
  const failed = await backup('hookfail-b', { app: 'hookfail' });
  // The hook's error and the item's error: two errors in Velero's backup log.
  expect(failed.status).toMatchObject({ phase: 'PartiallyFailed', errors: 2 });
  expect(await listVelero('podvolumebackups', 'velero.io/backup-name=hookfail-b')).toHaveLength(0);
  expect(standIn.log('hookfail-b').some((l) => l.includes('command terminated with exit code 3'))).toBe(true);

  // The legacy keys (no phase) with no on-error: the error is logged, the volumes are still copied.
  const goLabels = { run: 'yes', app: 'hookgo' };
  await claim('hookgo', goLabels);
  await podOnNode('hookgo-0', goLabels, ['hookgo'], { 'hook.backup.velero.io/command': '["/bin/false"]' });
  const partial = await backup('hookgo-b', { app: 'hookgo' });
  expect(partial.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
  const pvbs = await listVelero('podvolumebackups', 'velero.io/backup-name=hookgo-b');
  expect(pvbs.map((p) => p.status?.phase)).toEqual(['Completed']);
});

test('StatefulSets, Deployments and Services come back, reset as resetMetadataAndStatus and service_action.go do (server.go L528-551 priorities)', async () => {
  const labels = { app: 'wl' };
  const template = { metadata: { labels }, spec: { containers: [holder('app', [])] } };
  await apps.createNamespacedStatefulSet({ namespace: app, body: { metadata: { name: 'wl-db', labels }, spec: { replicas: 0, serviceName: 'wl-db', selector: { matchLabels: labels }, template } } });
  await apps.createNamespacedDeployment({ namespace: app, body: { metadata: { name: 'wl-web', labels }, spec: { replicas: 0, selector: { matchLabels: labels }, template } } });
  const service = await core.createNamespacedService({ namespace: app, body: { metadata: { name: 'wl-db', labels }, spec: { selector: labels, ports: [{ port: 3306 }] } } });
  expect((await backup('wl-b', labels)).status?.phase).toBe('Completed');
  await apps.deleteNamespacedStatefulSet({ namespace: app, name: 'wl-db' });
  await apps.deleteNamespacedDeployment({ namespace: app, name: 'wl-web' });
  await core.deleteNamespacedService({ namespace: app, name: 'wl-db' });
  for (const path of [`/apis/apps/v1/namespaces/${app}/statefulsets/wl-db`, `/apis/apps/v1/namespaces/${app}/deployments/wl-web`, `/api/v1/namespaces/${app}/services/wl-db`]) await gone(path);

  const done = await restore('wl-r', 'wl-b');
  expect(done.status?.phase).toBe('Completed');
  const sts = await apps.readNamespacedStatefulSet({ namespace: app, name: 'wl-db' });
  const deploy = await apps.readNamespacedDeployment({ namespace: app, name: 'wl-web' });
  const svc = await core.readNamespacedService({ namespace: app, name: 'wl-db' });
  for (const restoredObject of [sts, deploy, svc]) expect(restoredObject.metadata?.labels).toMatchObject({ ...labels, 'velero.io/backup-name': 'wl-b', 'velero.io/restore-name': 'wl-r' });
  // The clusterIP was cleared and the API server gave a new one (the old one was released with the Service).
  expect(svc.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(svc.metadata?.uid).not.toBe(service.metadata?.uid);
});

// ---- post-restore exec hooks (internal/hook/wait_exec_hook_handler.go, pkg/restore/restore.go waitExec) ----

const withoutPodAndClaim = async (podName: string, claimName?: string): Promise<void> => {
  await deletePod(podName);
  if (claimName === undefined) return;
  await send('DELETE', `/api/v1/namespaces/${app}/persistentvolumeclaims/${claimName}`);
  await gone(`/api/v1/namespaces/${app}/persistentvolumeclaims/${claimName}`);
};

test('a post-restore exec hook from annotations runs in the named container once it runs, on the restored data, and the Restore is not Completed before it ends (item_hook_handler.go L448-555, wait_exec_hook_handler.go L109-186, restore.go L569-579)', async () => {
  const labels = { run: 'yes', app: 'posthook' };
  await claim('posthook', labels);
  const pod = await podOnNode('posthook-0', labels, ['posthook'], {
    // As the database profiles do: import the dump the pre-backup hook left on the volume, then delete it.
    'post.hook.restore.velero.io/container': 'app',
    'post.hook.restore.velero.io/command': '["/bin/sh","-c","touch /posthook/work/started; sleep 2; cat /posthook/work/dump.sql > /posthook/work/imported && rm /posthook/work/dump.sql && echo imported"]',
    'post.hook.restore.velero.io/on-error': 'Fail',
  });
  const dir = volumeDirOf(pod, 'posthook');
  // The project's image runs as uid 65532: the hook's working directory is writable for it.
  mkdirSync(join(dir, 'work'));
  chmodSync(join(dir, 'work'), 0o777);
  writeFileSync(join(dir, 'work', 'dump.sql'), 'INSERT INTO t VALUES (1);\n');
  expect((await backup('posthook-b', { app: 'posthook' })).status?.phase).toBe('Completed');
  await withoutPodAndClaim('posthook-0', 'posthook');

  await createVelero('restores', 'Restore', 'posthook-r', { backupName: 'posthook-b' });
  // The hook has started (the app container runs on the restored volume): the Restore still waits (hooksWaitGroup).
  const restoredDir = await eventually(async () => {
    const p = await core.readNamespacedPod({ namespace: app, name: 'posthook-0' }).catch(() => undefined);
    const d = p?.metadata?.uid ? node.runtime.volumeDir(p.metadata.uid, 'posthook') : undefined;
    return d !== undefined && existsSync(join(d, 'work', 'started')) ? d : undefined;
  }, 'the post-restore hook to start', 90_000, 100);
  expect((await readVelero('restores', 'posthook-r'))?.status?.phase).toBe('InProgress');
  expect(existsSync(join(restoredDir, 'work', 'imported'))).toBe(false);

  const done = await finished('restores', 'posthook-r');
  expect(done.status).toMatchObject({ phase: 'Completed', errors: 0, warnings: 0 });
  // Its effect: the dump imported from the restored data and deleted. Only "app" mounts the volume, not the first container.
  expect(readFileSync(join(restoredDir, 'work', 'imported'), 'utf8')).toBe('INSERT INTO t VALUES (1);\n');
  expect(existsSync(join(restoredDir, 'work', 'dump.sql'))).toBe(false);
  const log = standIn.log('posthook-r');
  // The first look at the new pod: app not yet running (restore-wait first), so the hook waited for it.
  expect(log.some((l) => l.includes('Container app is not running: post-restore hooks will not yet be executed'))).toBe(true);
  expect(log.some((l) => l.includes('running exec hook') && l.includes('hookName=<from-annotation>') && l.includes('hookContainer=app') && l.includes('hookTimeout=30s'))).toBe(true);
  expect(log.some((l) => l.includes('stdout: imported'))).toBe(true);
  expect(log.findIndex((l) => l.includes('stdout: imported'))).toBeLessThan(log.findIndex((l) => l.includes('Done waiting for all post-restore exec hooks')));
});

test('a Restore\'s spec exec hook that fails: on-error Fail makes the Restore PartiallyFailed with its error; Continue only logs it (wait_exec_hook_handler.go L172-179, restore.go L1734-1742, restore_controller.go L534-567)', async () => {
  const labels = { run: 'yes', app: 'hookspec' };
  await podOnNode('hookspec-0', labels, []);
  expect((await backup('hookspec-b', { app: 'hookspec' })).status?.phase).toBe('Completed');
  const hooks = (onError: string): Record<string, unknown> => ({
    resources: [{ name: 'import', includedNamespaces: [app], labelSelector: { matchLabels: { app: 'hookspec' } }, postHooks: [{ exec: { container: 'app', command: ['/bin/sh', '-c', 'echo no database >&2; exit 3'], onError, execTimeout: '10s' } }] }],
  });

  await deletePod('hookspec-0');
  const failing = await restore('hookspec-fail', 'hookspec-b', { hooks: hooks('Fail') });
  expect(failing.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1, warnings: 0 });
  const failLog = standIn.log('hookspec-fail');
  expect(failLog.some((l) => l.includes('hookName=import') && l.includes('hookContainer=app'))).toBe(true);
  expect(failLog.some((l) => l.includes('stderr: no database'))).toBe(true);
  expect(failLog.some((l) => l.includes('unable to successfully execute post-restore hooks') && l.includes('command terminated with exit code 3'))).toBe(true);

  await deletePod('hookspec-0');
  const going = await restore('hookspec-continue', 'hookspec-b', { hooks: hooks('Continue') });
  // Logged at error level, counted nowhere: neither an error nor a warning of the Restore.
  expect(going.status).toMatchObject({ phase: 'Completed', errors: 0, warnings: 0 });
  expect(standIn.log('hookspec-continue').some((l) => l.includes('Error executing hook') && l.includes('command terminated with exit code 3'))).toBe(true);
});

test('a wait-timeout that expires before the container runs (an init container that never ends): "not executed: context deadline exceeded", an error with on-error Fail (wait_exec_hook_handler.go L92-99, L210-228)', async () => {
  const labels = { run: 'yes', app: 'hookwait' };
  await core.createNamespacedPod({
    namespace: app,
    body: {
      metadata: {
        name: 'hookwait-0',
        labels,
        annotations: {
          'post.hook.restore.velero.io/container': 'app',
          'post.hook.restore.velero.io/command': '["/bin/sh","-c","true"]',
          'post.hook.restore.velero.io/on-error': 'Fail',
          'post.hook.restore.velero.io/wait-timeout': '2s',
        },
      },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 2, initContainers: [holder('never-ends', [])], containers: [holder('app', [])] },
    },
  });
  expect((await backup('hookwait-b', { app: 'hookwait' })).status?.phase).toBe('Completed');
  await deletePod('hookwait-0');
  const started = Date.now();
  const done = await restore('hookwait-r', 'hookwait-b');
  expect(done.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  const log = standIn.log('hookwait-r');
  expect(log.some((l) => l.includes(`hook <from-annotation> in container app in pod ${app}/hookwait-0 not executed: context deadline exceeded`))).toBe(true);
  expect(log.some((l) => l.includes('running exec hook'))).toBe(false);
  const restored = await core.readNamespacedPod({ namespace: app, name: 'hookwait-0' });
  expect(restored.status?.initContainerStatuses?.[0]?.state?.running).toBeDefined();
  await deletePod('hookwait-0');
});

test('an exec-timeout that passes fails the hook with "timed out after 1s"; Velero does not stop the command, which finishes later (pod_command_executor.go L65-68, L160-171)', async () => {
  const labels = { run: 'yes', app: 'hooklate' };
  await podOnNode('hooklate-0', labels, [], {
    'post.hook.restore.velero.io/container': 'app',
    'post.hook.restore.velero.io/command': '["/bin/sh","-c","sleep 3; echo late > /scratch/late"]',
    'post.hook.restore.velero.io/on-error': 'Fail',
    'post.hook.restore.velero.io/exec-timeout': '1s',
  }, { containers: [holder('sidecar', []), holder('app', [{ name: 'scratch', mountPath: '/scratch' }])], volumes: [{ name: 'scratch', emptyDir: {} }] });
  expect((await backup('hooklate-b', { app: 'hooklate' })).status?.phase).toBe('Completed');
  await deletePod('hooklate-0');
  const done = await restore('hooklate-r', 'hooklate-b');
  expect(done.status).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
  expect(standIn.log('hooklate-r').some((l) => l.includes('Error executing hook') && l.includes('timed out after 1s'))).toBe(true);
  const scratch = volumeDirOf(await whenRunning('hooklate-0'), 'scratch');
  expect(existsSync(join(scratch, 'late'))).toBe(false);
  // The command goes on in the container after Velero stopped waiting for it.
  await eventually(() => Promise.resolve(existsSync(join(scratch, 'late')) ? true : undefined), 'the timed-out command to finish anyway', 10_000, 100);
  expect(readFileSync(join(scratch, 'late'), 'utf8')).toBe('late\n');
});
