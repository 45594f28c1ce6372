import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiRequest } from './cluster/cluster.js';
import { acquireFileLock, VELERO_CRDS_LOCK } from './support/file-lock.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './support/kubelet-stand-in.js';
import { eventually } from './support/wait.js';

jest.setTimeout(180_000);

/**
 * `wutong-backup status` (the built binary) against the real API server with
 * Velero v1.11.1's CRDs, as an operator runs it: the admin kubeconfig in
 * KUBECONFIG. Wutong's objects are made as its worker makes them (labels
 * only matter here), pods are run by the kubelet stand-in, and the Velero
 * objects are written as Velero leaves them (these CRDs have no status
 * subresource, so a status written on create is kept): a Schedule and the
 * Backups it made, with timestamps in the past where a test needs an old
 * last success.
 */
// The built binary (npm test builds first), as `npx wutong-backup` runs it.
const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const ids = { db: '5a1e0000000000000000000000000001', old: '5a1e0000000000000000000000000002', cache: '5a1e0000000000000000000000000003', web: '5a1e0000000000000000000000000004' };
type Alias = keyof typeof ids;
const NODE = `status-e2e-${process.pid}`;

let core: CoreV1Api;
let app: string;
let velero: string;
let kubelet: KubeletStandIn;
let releaseCrds: (() => void) | undefined;

const labels = (alias: Alias) => ({ creator: 'Wutong', service_id: ids[alias], service_alias: alias, tenant_name: 'statustest', tenant_env_name: 'prod' });
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
const HOUR = 3_600_000;

async function createVelero(resource: string, body: Record<string, unknown>): Promise<void> {
  const res = await apiRequest(clusterInfo(), 'POST', `/apis/velero.io/v1/namespaces/${velero}/${resource}`, { apiVersion: 'velero.io/v1', ...body });
  if (res.status !== 201) throw new Error(`creating ${resource}: HTTP ${res.status} ${res.body}`);
}

const schedule = (alias: Alias, cron: string, paused = false) =>
  createVelero('schedules', {
    kind: 'Schedule',
    metadata: { name: `${ids[alias]}-schedule`, labels: { 'wutong.io/service_id': ids[alias], 'backup.wutong.io/schedule-source': 'policy' } },
    spec: { schedule: cron, paused, template: { includedNamespaces: [app] } },
  });

async function backup(alias: Alias, name: string, phase: string, startedAgoMs: number, bytes = 0): Promise<void> {
  await createVelero('backups', {
    kind: 'Backup',
    metadata: { name, labels: { 'wutong.io/service_id': ids[alias], 'velero.io/schedule-name': `${ids[alias]}-schedule` } },
    spec: { includedNamespaces: [app] },
    status: { phase, startTimestamp: ago(startedAgoMs), completionTimestamp: ago(startedAgoMs - 60_000) },
  });
  if (bytes > 0) {
    await createVelero('podvolumebackups', {
      kind: 'PodVolumeBackup',
      metadata: { name: `${name}-data`, labels: { 'velero.io/backup-name': name } },
      spec: { node: NODE, pod: { kind: 'Pod', namespace: app, name: `${alias}-0` }, volume: 'data', backupStorageLocation: 'default', repoIdentifier: 'velero/default' },
      status: { phase: 'Completed', progress: { totalBytes: bytes, bytesDone: bytes } },
    });
  }
}

function runStatus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', '--velero-namespace', velero, ...args], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: clusterInfo().kubeconfigPath }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** The table's rows of this file's components (other files' Wutong components share the cluster), columns split on 3+ spaces. */
const rowsOf = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('statustest/'))
    .map((line) => line.split(/ {3,}/));

beforeAll(async () => {
  releaseCrds = await acquireFileLock(VELERO_CRDS_LOCK, "Velero's CRDs");
  ({ core } = clients());
  // The tenant env its components' routes name: the status table shows tenant/env from the namespace's labels.
  app = await createNamespace(core, 'status-app', { tenant: { name: 'statustest', env: 'prod' } });
  velero = await createNamespace(core, 'status-velero');
  kubelet = await startKubeletStandIn(NODE);
  kubelet.runPods(app, 'run=yes');
  for (const alias of ['db', 'old', 'cache'] as const) {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: app,
      body: { metadata: { name: `manual1001-${alias}-0`, labels: labels(alias) }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
  }
  // Running: db, old (both protected) and web (stateless, unprotected); cache is stopped (its PVC only).
  for (const alias of ['db', 'old', 'web'] as const) {
    await core.createNamespacedPod({
      namespace: app,
      body: { metadata: { name: `${alias}-0`, labels: { ...labels(alias), run: 'yes' } }, spec: { nodeName: NODE, containers: [{ name: alias, image: 'mysql:8.0.36' }] } },
    });
  }
  await eventually(async () => {
    const pods = await core.listNamespacedPod({ namespace: app });
    return pods.items.filter((p) => p.status?.phase === 'Running').length === 3 ? true : undefined;
  }, 'three pods running', 60_000);

  // What Velero's BackupStorageLocation controller keeps: Available, validated just now (v1.11.1
  // backup_storage_location_controller.go L125-144). Without one, status says the location backups go to is missing.
  await createVelero('backupstoragelocations', {
    kind: 'BackupStorageLocation',
    metadata: { name: 'default' },
    spec: { provider: 'aws', default: true, objectStorage: { bucket: 'status' } },
    status: { phase: 'Available', lastValidationTime: ago(0) },
  });
  await schedule('db', '@every 1h');
  await backup('db', 'db-fresh', 'Completed', 20 * 60_000, 83_000_000);
  // Daily at 03:00, last success three days ago: overdue whatever the hour now.
  await schedule('old', '0 3 * * *');
  await backup('old', 'old-1', 'Completed', 72 * HOUR);
  await schedule('cache', '0 3 * * *', true);
  await backup('cache', 'cache-1', 'Completed', 40 * 24 * HOUR, 1_200_000_000);
});

afterAll(async () => {
  await kubelet?.stop();
  if (core) await Promise.all([app, velero].filter(Boolean).map((ns) => deleteNamespace(core, ns)));
  await apiRequest(clusterInfo(), 'DELETE', `/api/v1/nodes/${NODE}`).catch(() => undefined);
  releaseCrds?.();
});

test('the table shows every component with its protection, schedule, last backup and due time, and exits 1 for the overdue one', async () => {
  const run = await runStatus();
  expect(run.stderr).toBe('');
  expect(run.code).toBe(1);
  const rows = rowsOf(run.stdout);
  expect(rows.map((r) => r.slice(0, 5))).toEqual([
    ['statustest/prod/cache', app, 'stopped', 'yes (policy)', '0 3 * * *'],
    ['statustest/prod/db', app, 'running', 'yes (policy)', '@every 1h'],
    ['statustest/prod/old', app, 'running', 'yes (policy)', '0 3 * * *'],
    ['statustest/prod/web', app, 'running', 'no', '-'],
  ]);
  const byName = new Map(rows.map((r) => [r[0], r.slice(5)]));
  expect(byName.get('statustest/prod/db')).toEqual([expect.stringMatching(/^Completed (19|20)m ago$/), '83 MB', expect.stringMatching(/^in \d+m$/)]);
  expect(byName.get('statustest/prod/cache')).toEqual(['Completed 39d ago', '1.2 GB', 'paused']);
  // Overdue by 36 to 60 hours, depending on the time of day the test runs (its cron is 03:00): shown in hours under 48, else in days.
  expect(byName.get('statustest/prod/old')?.[2]).toMatch(/^OVERDUE (3[6-9]h|4[0-7]h|2d)$/);
  expect(byName.get('statustest/prod/web')).toEqual(['-', '-', '-']);
  expect(run.stdout).toMatch(/overdue.*: .*statustest\/prod\/old/);
});

test('--output json says the same, and once the overdue component has a fresh successful backup the exit code is 0', async () => {
  const json = await runStatus('-o', 'json');
  expect(json.code).toBe(1);
  const mine = (JSON.parse(json.stdout) as { components: { component: string; overdue: boolean; needsAttention: boolean; state: string }[] }).components.filter((c) => c.component.startsWith('statustest/'));
  expect(mine.map((c) => [c.component, c.state, c.overdue, c.needsAttention])).toEqual([
    ['statustest/prod/cache', 'stopped', false, false],
    ['statustest/prod/db', 'running', false, false],
    ['statustest/prod/old', 'running', true, true],
    ['statustest/prod/web', 'running', false, false],
  ]);

  await backup('old', 'old-2', 'Completed', 5 * 60_000);
  const after = await runStatus();
  expect(rowsOf(after.stdout).find((r) => r[0] === 'statustest/prod/old')?.[5]).toMatch(/^Completed [45]m ago$/);
  expect(after.code).toBe(0);
});

test('a failed last backup of a protected component exits 1 too (what WutongBackupFailed fires on)', async () => {
  await backup('db', 'db-failed', 'PartiallyFailed', 2 * 60_000);
  const run = await runStatus();
  expect(rowsOf(run.stdout).find((r) => r[0] === 'statustest/prod/db')?.[5]).toMatch(/^PartiallyFailed \d+s ago$/);
  expect(run.code).toBe(1);
});

// Velero v1.11.1: a ReadOnly location fails every backup's validation (backup_controller.go L394-397),
// refuses deletions (backup_deletion_controller.go L199-206) and stops expiry (gc_controller.go L150-157);
// lastValidationTime moves on every validation, every minute by default (backup_storage_location_controller.go
// L125-144, pkg/cmd/server/server.go L89), so one older than BSL_VALIDATION_MAX_AGE means no Velero is running.
test('the storage location backups go to: ReadOnly is shown with why and exits 1; a stale validation is not Available; fixed, exit 0 again', async () => {
  const patchLocation = async (body: Record<string, unknown>): Promise<void> => {
    const res = await apiRequest(clusterInfo(), 'PATCH', `/apis/velero.io/v1/namespaces/${velero}/backupstoragelocations/default`, body, 'application/merge-patch+json');
    if (res.status !== 200) throw new Error(`patching the location: HTTP ${res.status} ${res.body}`);
  };
  type Location = { name: string; accessMode: string; state: string; message: string; used: boolean };
  const locations = async (): Promise<{ code: number; list: Location[] }> => {
    const run = await runStatus('-o', 'json');
    return { code: run.code, list: (JSON.parse(run.stdout) as { storageLocations: Location[] }).storageLocations };
  };
  // The failed backup of the test above: a fresh success makes the components fine again.
  await backup('db', 'db-ok', 'Completed', 60_000);
  await patchLocation({ status: { lastValidationTime: ago(0) } });
  expect(await locations()).toEqual({ code: 0, list: [expect.objectContaining({ name: 'default', accessMode: 'ReadWrite', state: 'available', used: true })] });

  await patchLocation({ spec: { accessMode: 'ReadOnly' } });
  const table = await runStatus();
  expect(table.code).toBe(1);
  expect(table.stdout).toMatch(new RegExp(`^${velero}/default +Available +ReadOnly +\\d+s ago +yes +read-only$`, 'm'));
  expect(table.stdout).toContain(`BackupStorageLocation ${velero}/default has accessMode ReadOnly: Velero takes no backup there and deletes none of its backups (retention is paused)`);

  await patchLocation({ spec: { accessMode: 'ReadWrite' }, status: { lastValidationTime: ago(10 * 60_000) } });
  const stale = await locations();
  expect(stale.code).toBe(1);
  expect(stale.list[0]).toMatchObject({ state: 'stale', message: expect.stringMatching(/was last validated (10m|6\d\ds) ago \(more than 5m\): no Velero server is validating it/) as unknown });

  await patchLocation({ status: { lastValidationTime: ago(0) } });
  expect((await locations()).code).toBe(0);
});
