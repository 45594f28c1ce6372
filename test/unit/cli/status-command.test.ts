import { claimSummary, podRecord } from '../components/summaries.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CliError } from '../../../src/cli/cli-error.js';
import { runStatusCommand, type ClusterReader } from '../../../src/cli/status-command.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import { identityOf } from '../../../src/components/component-key.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';
import type { ClusterSnapshot } from '../../../src/kube/cluster-snapshot.js';
import type { ListedRecord } from '../../../src/kube/retained-records.js';
import { VELERO_LABEL } from '../../../src/velero/velero-labels.js';
import { viewBackupStorageLocation, type BackupStorageLocationView, type BackupView, type PodVolumeBackupView, type ScheduleView } from '../../../src/velero/velero-views.js';
import { cli } from './run-cli-in-process.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const ids = { db: 'a'.repeat(32), cache: 'b'.repeat(32), late: 'c'.repeat(32), web: 'd'.repeat(32), broken: 'e'.repeat(32) };
type Alias = keyof typeof ids;

const labels = (alias: Alias) => ({ creator: 'Wutong', service_id: ids[alias], service_alias: alias, tenant_name: 'acme', tenant_env_name: 'prod' });
const meta = (name: string, alias: Alias, creationTimestamp = '2026-01-01T00:00:00Z') => ({
  name,
  namespace: 'velero',
  uid: name,
  resourceVersion: '1',
  creationTimestamp,
  labels: { [VELERO_LABEL.serviceId]: ids[alias] },
  annotations: {},
});
const schedule = (alias: Alias, cron: string, paused = false, source = 'policy'): ScheduleView => ({
  metadata: { ...meta(`${ids[alias]}-schedule`, alias), labels: { [VELERO_LABEL.serviceId]: ids[alias], [VELERO_LABEL.scheduleSource]: source } },
  spec: { schedule: cron, paused, template: {} },
  status: { phase: 'Enabled' },
});
const backup = (alias: Alias, name: string, phase: string, start: string, end?: string): BackupView => ({
  metadata: meta(name, alias, start),
  spec: {},
  status: { phase, startTimestamp: start, ...(end && { completionTimestamp: end }) },
});
const volume = (backupName: string, totalBytes: number): PodVolumeBackupView => ({
  metadata: { ...meta(`${backupName}-v`, 'db'), labels: { [VELERO_LABEL.backupName]: backupName } },
  spec: { volume: 'data', pod: { name: 'p', namespace: 'acme-prod' } },
  status: { phase: 'Completed', progress: { totalBytes, bytesDone: totalBytes } },
});

/** A cluster as one-shot lists would find it: five components in one tenant environment. */
/** A BackupStorageLocation as the status command reads it; Velero validated `default` 40 s before NOW. */
const storageLocation = (name: string, spec: Record<string, unknown> = {}, status: Record<string, unknown> = { phase: 'Available', lastValidationTime: '2026-03-10T11:59:20Z' }): BackupStorageLocationView =>
  viewBackupStorageLocation({ metadata: { name, namespace: 'velero', uid: `u-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { provider: 'aws', ...spec }, status })!;

function snapshot(
  over: Partial<Record<Alias, { schedules?: ScheduleView[]; backups?: BackupView[] }>> = {},
  retainedVolumes: ListedRecord[] = [],
  storageLocations: BackupStorageLocationView[] = [storageLocation('default')],
): ClusterSnapshot {
  const registry = new ComponentRegistry(tenantDirectory());
  const claim = (alias: Alias) => registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'acme-prod', name: `data-${alias}-0`, uid: `c-${alias}`, labels: labels(alias), phase: 'Bound', finalizers: [] }));
  const pod = (alias: Alias) => registry.upsert(podRecord({ kind: 'Pod', namespace: 'acme-prod', name: `${alias}-0`, uid: `p-${alias}`, labels: labels(alias), phase: 'Running', ready: true }));
  for (const alias of ['db', 'late', 'broken'] as const) {
    claim(alias);
    pod(alias);
  }
  claim('cache'); // stopped: PVCs, no pod
  pod('web'); // stateless: a pod, no PVC
  const velero: Record<Alias, { schedules: ScheduleView[]; backups: BackupView[] }> = {
    db: { schedules: [schedule('db', '0 3 * * *')], backups: [backup('db', 'db-1', 'Completed', '2026-03-10T03:00:00Z', '2026-03-10T03:20:00Z')] },
    cache: { schedules: [schedule('cache', '0 3 * * *', true)], backups: [backup('cache', 'cache-1', 'Completed', '2026-02-01T03:00:00Z', '2026-02-01T03:05:00Z')] },
    late: { schedules: [schedule('late', '0 */6 * * *', false, 'api')], backups: [backup('late', 'late-1', 'Completed', '2026-03-08T06:00:00Z', '2026-03-08T06:10:00Z')] },
    broken: {
      schedules: [schedule('broken', '0 3 * * *')],
      backups: [backup('broken', 'broken-0', 'Completed', '2026-03-09T03:00:00Z', '2026-03-09T03:20:00Z'), backup('broken', 'broken-1', 'PartiallyFailed', '2026-03-10T03:00:00Z', '2026-03-10T03:30:00Z')],
    },
    web: { schedules: [], backups: [] },
    ...over,
  } as Record<Alias, { schedules: ScheduleView[]; backups: BackupView[] }>;
  const volumes = [volume('db-1', 83_000_000), volume('cache-1', 1_200_000_000)];
  return {
    registry,
    retainedVolumes,
    storageLocations,
    backupsOf: (key) => {
      const { serviceId } = identityOf(key);
      const alias = (Object.keys(ids) as Alias[]).find((a) => ids[a] === serviceId) ?? 'web';
      return { ...velero[alias], podVolumeBackupsOf: (name) => volumes.filter((v) => v.metadata.labels[VELERO_LABEL.backupName] === name) };
    },
  };
}

async function status(args: string[], read: ClusterReader, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runStatusCommand(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, stdin: Readable.from(['']), env }, read, () => NOW);
  return { code, stdout };
}

test('the table: one row per component, protected or not, with its schedule, last backup, size and due time; exit 1 for the overdue and the failed one', async () => {
  const { code, stdout } = await status([], () => Promise.resolve(snapshot()));
  expect(stdout).toBe(
    [
      'COMPONENT          NAMESPACE   STATE     PROTECTED      SCHEDULE      LAST BACKUP              SIZE     DUE',
      'acme/prod/broken   acme-prod   running   yes (policy)   0 3 * * *     PartiallyFailed 8h ago   -        in 3h',
      'acme/prod/cache    acme-prod   stopped   yes (policy)   0 3 * * *     Completed 37d ago        1.2 GB   paused',
      'acme/prod/db       acme-prod   running   yes (policy)   0 3 * * *     Completed 8h ago         83 MB    in 27h',
      'acme/prod/late     acme-prod   running   yes (api)      0 */6 * * *   Completed 2d ago         -        OVERDUE 45h',
      'acme/prod/web      acme-prod   running   no             -             -                        -        -',
      '',
      '5 components, 4 protected, 1 overdue, 1 with a failed last backup: acme/prod/broken, acme/prod/late',
      '',
      'STORAGE LOCATION   PHASE       ACCESS MODE   LAST VALIDATED   USED   STATE',
      'velero/default     Available   ReadWrite     40s ago          yes    available',
      '',
    ].join('\n'),
  );
  expect(code).toBe(1);
});

test('exit 0 when every protected component is fine: a paused (stopped) one is never overdue', async () => {
  const fine = snapshot({
    late: { schedules: [schedule('late', '0 */6 * * *')], backups: [backup('late', 'late-2', 'Completed', '2026-03-10T06:00:00Z', '2026-03-10T06:10:00Z')] },
    broken: { schedules: [schedule('broken', '0 3 * * *')], backups: [backup('broken', 'broken-2', 'Completed', '2026-03-10T03:00:00Z', '2026-03-10T03:30:00Z')] },
  });
  const { code, stdout } = await status([], () => Promise.resolve(fine));
  expect(stdout).toContain('5 components, 4 protected, 0 overdue, 0 with a failed last backup\n');
  expect(code).toBe(0);
});

test('--output json: the same judgement, machine-readable, times in ISO 8601', async () => {
  const { code, stdout } = await status(['-o', 'json'], () => Promise.resolve(snapshot()));
  expect(code).toBe(1);
  const parsed = JSON.parse(stdout) as { components: Record<string, unknown>[] };
  expect(parsed.components.map((c) => [c.component, c.needsAttention])).toEqual([
    ['acme/prod/broken', true],
    ['acme/prod/cache', false],
    ['acme/prod/db', false],
    ['acme/prod/late', true],
    ['acme/prod/web', false],
  ]);
  expect(parsed.components[2]).toEqual({
    component: 'acme/prod/db',
    serviceId: ids.db,
    namespace: 'acme-prod',
    state: 'running',
    protected: true,
    schedule: { name: `${ids.db}-schedule`, cron: '0 3 * * *', paused: false, source: 'policy' },
    lastBackup: { name: 'db-1', phase: 'Completed', startedAt: '2026-03-10T03:00:00.000Z', completedAt: '2026-03-10T03:20:00.000Z', bytes: 83_000_000 },
    lastSuccessAt: '2026-03-10T03:20:00.000Z',
    dueAt: '2026-03-11T15:00:00.000Z',
    overdue: false,
    failed: false,
    needsAttention: false,
  });
});

test('--velero-namespace, else $VELERO_NAMESPACE, else "velero", is where the Velero objects are read', async () => {
  const seen: string[] = [];
  const read: ClusterReader = (_env, ns) => {
    seen.push(ns);
    return Promise.resolve(snapshot());
  };
  await status([], read);
  await status([], read, { VELERO_NAMESPACE: 'backup-system' });
  await status(['--velero-namespace', 'mine'], read, { VELERO_NAMESPACE: 'backup-system' });
  expect(seen).toEqual(['velero', 'backup-system', 'mine']);
});

const kept: ListedRecord = {
  recordName: 'retained-pv-cache',
  volume: 'pv-cache',
  serviceId: ids.cache,
  component: 'acme/prod/cache',
  claim: { namespace: 'acme-prod', name: 'data-cache-0', uid: 'c-cache' },
  reason: 'no Completed backup started after the component stopped at 2026-03-10T11:00:00Z',
  retainedAt: '2026-03-10T11:55:00Z',
  deletionRequestedAt: '2026-03-10T11:55:00Z',
  previousReclaimPolicy: 'Delete',
};

test('a retained volume is listed with its record, how to restore from it and release it, and exits 1 (it awaits a decision)', async () => {
  const fine = snapshot({ late: { schedules: [], backups: [] }, broken: { schedules: [], backups: [] } }, [kept]);
  const { code, stdout } = await status([], () => Promise.resolve(fine));
  expect(stdout).toContain(
    [
      'RETAINED VOLUME   COMPONENT         CLAIM                    KEPT     RECORD              WHY',
      'pv-cache          acme/prod/cache   acme-prod/data-cache-0   5m ago   retained-pv-cache   no Completed backup started after the component stopped at 2026-03-10T11:00:00Z',
    ].join('\n'),
  );
  expect(stdout).toContain("kubectl -n wutong-backup get configmap retained-pv-cache -o jsonpath='{.data.persistentvolume\\.json}' | kubectl apply -f -");
  expect(stdout).toContain('kubectl -n wutong-backup delete configmap retained-pv-cache');
  expect(code).toBe(1);
  const json = JSON.parse((await status(['-o', 'json'], () => Promise.resolve(fine))).stdout) as { retainedVolumes: unknown[] };
  expect(json.retainedVolumes).toEqual([kept]);
  // Without one, the same cluster is fine.
  expect((await status([], () => Promise.resolve(snapshot({ late: { schedules: [], backups: [] }, broken: { schedules: [], backups: [] } })))).code).toBe(0);
});

test('-n, else $POD_NAMESPACE, else "wutong-backup", is where the records are read', async () => {
  const seen: string[] = [];
  const read: ClusterReader = (_env, _velero, own) => {
    seen.push(own);
    return Promise.resolve(snapshot());
  };
  await status([], read);
  await status([], read, { POD_NAMESPACE: 'backup' });
  await status(['-n', 'mine'], read, { POD_NAMESPACE: 'backup' });
  expect(seen).toEqual(['wutong-backup', 'backup', 'mine']);
});

test('a cluster that cannot be read exits 2, never 1: a script must not mistake "could not look" for "overdue"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wb-status-'));
  try {
    // Nothing listens on port 1 of loopback: the first list is refused.
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const run = await cli(['status'], '', { KUBECONFIG: kubeconfig });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^wutong-backup: cannot read the cluster \(.*config\): .*ECONNREFUSED.*\n$/);
    const none = await cli(['status'], '', { KUBECONFIG: join(dir, 'absent') });
    expect(none).toEqual({ code: 2, stdout: '', stderr: 'wutong-backup: no cluster: set KUBECONFIG or create ~/.kube/config\n' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage: --help exits 0, a bad --output is a usage error (exit 2)', async () => {
  const help = await cli(['status', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout.startsWith('Usage: wutong-backup status [options]')).toBe(true);
  expect(await cli(['status', '-o', 'yaml'])).toEqual({ code: 2, stdout: '', stderr: 'wutong-backup: --output must be table or json, got "yaml" (see: wutong-backup status --help)\n' });
  await expect(status([], async () => Promise.reject(new CliError('boom', 2)))).rejects.toMatchObject({ exitCode: 2 });
});

// Velero v1.11.1: a ReadOnly location fails every backup's validation (backup_controller.go L394-397) and
// refuses deletions (backup_deletion_controller.go L199-206); its BackupStorageLocation controller writes
// lastValidationTime on every validation, every minute by default (backup_storage_location_controller.go
// L125-144, pkg/cmd/server/server.go L89), so a much older one means no Velero server is running.
describe('storage locations', () => {
  const fine = (locations: BackupStorageLocationView[]) =>
    snapshot(
      {
        late: { schedules: [schedule('late', '0 */6 * * *')], backups: [backup('late', 'late-2', 'Completed', '2026-03-10T06:00:00Z', '2026-03-10T06:10:00Z')] },
        broken: { schedules: [schedule('broken', '0 3 * * *')], backups: [backup('broken', 'broken-2', 'Completed', '2026-03-10T03:00:00Z', '2026-03-10T03:30:00Z')] },
      },
      [],
      locations,
    );

  test('a ReadOnly location backups go to is shown read-only with why, and exits 1; another ReadOnly one does not', async () => {
    const { code, stdout } = await status([], () => Promise.resolve(fine([storageLocation('default', { accessMode: 'ReadOnly' }), storageLocation('archive', { accessMode: 'ReadOnly' })])));
    expect(stdout).toContain('velero/archive     Available   ReadOnly      40s ago          no     read-only\n');
    expect(stdout).toContain('velero/default     Available   ReadOnly      40s ago          yes    read-only\n');
    expect(stdout).toContain('  BackupStorageLocation velero/default has accessMode ReadOnly: Velero takes no backup there and deletes none of its backups (retention is paused)\n');
    expect(code).toBe(1);
    expect((await status([], () => Promise.resolve(fine([storageLocation('default'), storageLocation('archive', { accessMode: 'ReadOnly' })])))).code).toBe(0);
    expect((await status(['--storage-location', 'archive'], () => Promise.resolve(fine([storageLocation('default'), storageLocation('archive', { accessMode: 'ReadOnly' })])))).code).toBe(1);
  });

  test('an Available phase Velero has not revalidated within BSL_VALIDATION_MAX_AGE is stale, not Available, and exits 1', async () => {
    const old = storageLocation('default', {}, { phase: 'Available', lastValidationTime: '2026-03-10T11:50:00Z' });
    const { code, stdout } = await status([], () => Promise.resolve(fine([old])));
    expect(stdout).toContain('velero/default     Available   ReadWrite     10m ago          yes    stale\n');
    expect(stdout).toContain('  BackupStorageLocation velero/default was last validated 10m ago (more than 5m): no Velero server is validating it, so it is unavailable, not Available\n');
    expect(code).toBe(1);
    // A wider bound from the environment: fine again.
    expect((await status([], () => Promise.resolve(fine([old])), { BSL_VALIDATION_MAX_AGE: '15m' })).code).toBe(0);
  });

  test('a missing location is named; --output json carries every location with its state', async () => {
    const { code, stdout } = await status(['-o', 'json'], () => Promise.resolve(fine([storageLocation('archive', { accessMode: 'ReadOnly' })])));
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as { storageLocations: unknown[] }).storageLocations).toEqual([
      { name: 'archive', phase: 'Available', accessMode: 'ReadOnly', lastValidationTime: '2026-03-10T11:59:20Z', used: false, state: 'read-only', message: 'BackupStorageLocation velero/archive has accessMode ReadOnly: Velero takes no backup there and deletes none of its backups (retention is paused)' },
      { name: 'default', phase: '', accessMode: '', lastValidationTime: null, used: true, state: 'missing', message: 'BackupStorageLocation velero/default does not exist' },
    ]);
  });
});
