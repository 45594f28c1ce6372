import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { MYSQL_DUMP_FILE } from '../../src/policy/profiles/mysql-family-profiles.js';
import { POSTGRESQL_DUMP_FILE } from '../../src/policy/profiles/postgresql-profile.js';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import type { ExecResult } from './support/node-runtime.js';
import { eventually } from './support/wait.js';
import { claimNameOf, startWutongComponent, stopWutongComponent, type WutongComponent, type WutongWorkload } from './support/wutong-component.js';

// Restores that give back exactly the data (issue J; README "Restores replace
// the data"), on the data-bearing testbed: the components' pods run for real
// on a node whose volumes are directories (support/data-node.ts), MariaDB
// and PostgreSQL are Debian's, Velero's uploader is Debian's restic
// (support/velero-stand-in.ts, data mode). Every assertion is on the bytes
// or the rows, never only on an object's phase.

jest.setTimeout(600_000);

const SID = 'd1a2b3c4d5e6f708192a3b4c5d6e7f80';
const ALIAS = 'grmaria0';
const PASSWORD = `r00t pw'"$x`;
let bed: BackupApiTestbed;

interface BackupRecordJson { backup_id: string; status: string; restorable: boolean; desc: string }
interface RestoreRecordJson { restore_id: string; status: string; stage: string; message: string; failure_reason: string; safety_backup_id: string }

const mariadb: Omit<WutongWorkload, 'storageClassName'> = { image: 'mariadb:10.11', env: { MARIADB_ROOT_PASSWORD: PASSWORD }, mountPath: '/var/lib/mysql' };

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'rdata', serviceId: SID, alias: ALIAS, replicaCount: 1, data: { workload: mariadb } });
});

afterAll(async () => {
  await bed?.stop();
});

const scheduled = new Set<string>();
/** A second component in the same tenant env, on the same node (its pods, holders and restored pods included). */
function sibling(serviceId: string, alias: string): WutongComponent {
  const c = bed.component;
  if (!scheduled.has(serviceId)) {
    node().kubelet.runPods(c.namespace, `service_id=${serviceId}`);
    scheduled.add(serviceId);
  }
  return { ...c, serviceId, alias, path: c.path.replace(/[^/]+$/, alias) };
}
const workloadOf = (w: Omit<WutongWorkload, 'storageClassName'>): WutongWorkload => ({ ...w, storageClassName: bed.workload.storageClassName ?? '' });

async function podOf(c: WutongComponent): Promise<V1Pod> {
  const pods = await bed.core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId},!backup.wutong.io/holder` });
  const [pod] = pods.items;
  if (!pod || pods.items.length !== 1) throw new Error(`component ${c.alias} has ${pods.items.length} pods`);
  return pod;
}
const node = (): NonNullable<BackupApiTestbed['node']> => {
  if (!bed.node) throw new Error('the testbed has no data node');
  return bed.node;
};
async function exec(c: WutongComponent, argv: string[], env: Record<string, string> = {}): Promise<ExecResult> {
  const pod = await podOf(c);
  const withEnv = Object.keys(env).length > 0 ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv] : argv;
  return node().runtime.exec({ namespace: c.namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' }, c.alias, withEnv, 60_000);
}
async function volumeDir(c: WutongComponent): Promise<string> {
  const pod = await podOf(c);
  const dir = node().runtime.volumeDir(pod.metadata?.uid ?? '', 'manual1001');
  if (!dir) throw new Error(`no volume directory for ${c.alias}`);
  return dir;
}
/**
 * The restored claim's volume directory (its PV's local path), read while the
 * component is stopped: once Wutong starts it, the Schedule's catch-up backup
 * (Velero runs one on resume) may write a fresh dump there at any moment.
 */
async function claimDir(c: WutongComponent): Promise<string> {
  const { volumeName } = await claimOf(c);
  const pv = await bed.core.readPersistentVolume({ name: volumeName });
  const path = pv.spec?.local?.path;
  if (!path) throw new Error(`PV ${volumeName} of ${c.alias} has no local path`);
  return path;
}
async function claimOf(c: WutongComponent): Promise<{ uid: string; volumeName: string }> {
  const claim = await bed.core.readNamespacedPersistentVolumeClaim({ namespace: c.namespace, name: claimNameOf(c) });
  return { uid: claim.metadata?.uid ?? '', volumeName: claim.spec?.volumeName ?? '' };
}

async function backUp(c: WutongComponent, desc: string): Promise<string> {
  const answer = await bed.call('POST', `${c.path}/backup`, { body: { desc, operator: 'erin' } });
  if (answer.status !== 200) throw new Error(`POST backup: ${answer.status} ${answer.text}`);
  const id = (answer.json as { bean: BackupRecordJson }).bean.backup_id;
  await eventually(async () => {
    const list = ((await bed.call('GET', `${c.path}/backup/records`)).json as { list: BackupRecordJson[] }).list;
    const record = list.find((r) => r.backup_id === id);
    if (record && record.status !== 'Completed' && !['New', 'InProgress', ''].includes(record.status)) throw new Error(`backup ${id} ended ${record.status}`);
    return record?.status === 'Completed' ? true : undefined;
  }, `backup ${id} Completed`, 180_000, 500);
  return id;
}

async function restoreRecord(c: WutongComponent, id: string): Promise<RestoreRecordJson | undefined> {
  const list = ((await bed.call('GET', `${c.path}/restore/records`)).json as { list?: RestoreRecordJson[] }).list ?? [];
  return list.find((r) => r.restore_id === id);
}
async function restore(c: WutongComponent, backupId: string): Promise<{ id: string; record: RestoreRecordJson; ms: number }> {
  const started = Date.now();
  const answer = await bed.call('POST', `${c.path}/restore`, { body: { backup_id: backupId, operator: 'erin' } });
  if (answer.status !== 200) throw new Error(`POST restore: ${answer.status} ${answer.text}`);
  const id = (answer.json as { bean: RestoreRecordJson }).bean.restore_id;
  const record = await finished(c, id);
  return { id, record, ms: Date.now() - started };
}
async function finished(c: WutongComponent, id: string): Promise<RestoreRecordJson> {
  let last: RestoreRecordJson | undefined;
  try {
    return await eventually(async () => {
      last = await restoreRecord(c, id);
      return last && (last.status === 'Completed' || last.status === 'Failed') ? last : undefined;
    }, `restore ${id} finished`, 240_000, 500);
  } catch (err) {
    // What a reader of a failed run needs: where the restore stood, what Velero did, what runs.
    const pods = (await bed.core.listNamespacedPod({ namespace: c.namespace })).items.map((p) => `${p.metadata?.name ?? ''} ${p.status?.phase ?? ''} ${JSON.stringify(p.status?.initContainerStatuses?.map((s) => [s.name, Object.keys(s.state ?? {})]))}`);
    const claims = (await bed.core.listNamespacedPersistentVolumeClaim({ namespace: c.namespace })).items.map((k) => `${k.metadata?.name ?? ''} ${k.status?.phase ?? ''} ${k.spec?.volumeName ?? '-'}`);
    throw new Error(`${(err as Error).message}; record ${JSON.stringify(last)}; Velero's restore log ${JSON.stringify(bed.velero.log(id).slice(-15))}; pods ${JSON.stringify(pods)}; claims ${JSON.stringify(claims)}`);
  }
}

/** A file's sha256, streamed (a 1 GiB file is never in memory). */
function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}

/** Nothing of the component left running or made by Velero: no pod, no workload, no Service. */
async function expectStopped(c: WutongComponent): Promise<void> {
  await eventually(async () => ((await bed.core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` })).items.length === 0 ? true : undefined), `${c.alias} has no pod`, 60_000, 250);
  expect((await bed.apps.listNamespacedStatefulSet({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` })).items).toEqual([]);
  expect((await bed.apps.listNamespacedDeployment({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` })).items).toEqual([]);
  expect((await bed.core.listNamespacedService({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` })).items).toEqual([]);
}

/** Every file under `dir` with its sha256, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('MariaDB as a Wutong StatefulSet', () => {
  const c = (): WutongComponent => bed.component;
  const sql = async (query: string): Promise<string> => {
    const run = await exec(c(), ['mariadb', '-uroot', '-N', '-B', '-e', query], { MYSQL_PWD: PASSWORD });
    if (run.exitCode !== 0) throw new Error(`SQL failed (${String(run.exitCode)}): ${run.stderr}`);
    return run.stdout.trim();
  };
  /** The server answers with the root password (the entrypoint sets it a moment after the socket is up). */
  const ready = (): Promise<true> => eventually(async () => ((await sql('SELECT 1')) === '1' ? true : undefined), 'MariaDB answering', 120_000, 500);

  test('restore, then start: exactly the rows at backup time, no table added since, the server starts cleanly; the safety backup restores the changed state', async () => {
    await ready();
    await sql("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40)); INSERT INTO shop.orders VALUES (1, 'apple'), (2, 'pear')");
    const backupId = await backUp(c(), 'rows 1 and 2');
    // The webhook's pre-backup hook ran in the database's container (not a sidecar's) and left its dump on the volume before the copy.
    expect(readFileSync(join(await volumeDir(c()), MYSQL_DUMP_FILE), 'utf8')).toMatch(/INSERT INTO `orders` VALUES\s*\(1,'apple'\),\s*\(2,'pear'\)/);

    await sql("UPDATE shop.orders SET item = 'plum' WHERE id = 1; INSERT INTO shop.orders VALUES (3, 'fig'); CREATE TABLE shop.extra (x INT)");
    const before = await claimOf(c());
    await stopWutongComponent(bed.apps, bed.core, c());

    const { record } = await restore(c(), backupId);
    expect(record).toMatchObject({ status: 'Completed', stage: 'Completed', failure_reason: '' });
    expect(record.safety_backup_id).toMatch(new RegExp(`^${SID}-safety-`));
    await expectStopped(c());
    // Velero recreated the claim, on a new volume: nothing of the replaced one can be mixed in.
    const after = await claimOf(c());
    expect(after.uid).not.toBe(before.uid);
    expect(after.volumeName).not.toBe(before.volumeName);
    const safety = ((await bed.call('GET', `${c().path}/backup/records`)).json as { list: BackupRecordJson[] }).list.find((r) => r.backup_id === record.safety_backup_id);
    expect(safety).toMatchObject({ status: 'Completed', restorable: true });

    // The profile's post-restore hook, run by Velero in the restored pod, loaded the dump and removed it.
    expect(existsSync(join(await claimDir(c()), MYSQL_DUMP_FILE))).toBe(false);
    await startWutongComponent(bed.apps, bed.core, c(), bed.workload);
    await ready();
    expect(await sql('SELECT id, item FROM shop.orders ORDER BY id')).toBe('1\tapple\n2\tpear');
    expect(await sql('SHOW TABLES FROM shop')).toBe('orders');
    expect(await sql("SHOW GLOBAL STATUS LIKE 'Uptime'")).toMatch(/^Uptime\t\d+$/);
    // No .velero folder of Velero's in the data directory, where MariaDB would list it as a database (velero#2722, #8973).
    expect(existsSync(join(await volumeDir(c()), '.velero'))).toBe(false);
    expect(await sql('SHOW DATABASES')).not.toMatch(/velero/);

    // The safety backup holds the state the restore replaced.
    await stopWutongComponent(bed.apps, bed.core, c());
    const back = await restore(c(), record.safety_backup_id);
    expect(back.record.status).toBe('Completed');
    await startWutongComponent(bed.apps, bed.core, c(), bed.workload);
    await ready();
    expect(await sql('SELECT id, item FROM shop.orders ORDER BY id')).toBe('1\tplum\n2\tpear\n3\tfig');
    expect(await sql('SHOW TABLES FROM shop')).toBe('extra\norders');
    // Restored through a holder pod (the safety backup was taken at rest): no .velero left either.
    expect(existsSync(join(await volumeDir(c()), '.velero'))).toBe(false);
  });
});

describe('PostgreSQL as a Wutong StatefulSet', () => {
  const pg = (): WutongComponent => sibling('e2a3b4c5d6e7f8091a2b3c4d5e6f7081', 'grpostg0');
  const workload = (): WutongWorkload => workloadOf({ image: 'postgres:15', env: { POSTGRES_PASSWORD: PASSWORD }, mountPath: '/var/lib/postgresql/data' });
  const sql = async (query: string): Promise<string> => {
    const run = await exec(pg(), ['psql', '-U', 'postgres', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query]);
    if (run.exitCode !== 0) throw new Error(`SQL failed (${String(run.exitCode)}): ${run.stderr}`);
    return run.stdout.trim();
  };
  const ready = (): Promise<true> => eventually(async () => ((await sql('SELECT 1')) === '1' ? true : undefined), 'PostgreSQL answering', 120_000, 500);

  test('restore, then start: exactly the rows at backup time, no table added since', async () => {
    await startWutongComponent(bed.apps, bed.core, pg(), workload());
    await ready();
    await sql("CREATE TABLE orders (id INT PRIMARY KEY, item TEXT); INSERT INTO orders VALUES (1, 'apple'), (2, 'pear')");
    const backupId = await backUp(pg(), 'pg rows');
    expect(readFileSync(join(await volumeDir(pg()), POSTGRESQL_DUMP_FILE), 'utf8')).toContain('COPY public.orders');
    await sql("UPDATE orders SET item = 'plum' WHERE id = 1; CREATE TABLE extra (x INT)");
    await stopWutongComponent(bed.apps, bed.core, pg());

    const { id, record } = await restore(pg(), backupId);
    expect(record).toMatchObject({ status: 'Completed', stage: 'Completed' });
    await expectStopped(pg());
    // The profile's post-restore hook loaded the dump and removed it (Velero's log says what the hook printed).
    expect({ dumpLeft: existsSync(join(await claimDir(pg()), POSTGRESQL_DUMP_FILE)), log: bed.velero.log(id).filter((l) => l.includes('hook')) }).toMatchObject({ dumpLeft: false });
    expect(existsSync(join(await claimDir(pg()), '.velero'))).toBe(false);
    await startWutongComponent(bed.apps, bed.core, pg(), workload());
    await ready();
    expect(await sql('SELECT id, item FROM orders ORDER BY id')).toBe('1|apple\n2|pear');
    expect(await sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")).toBe('orders');
    await stopWutongComponent(bed.apps, bed.core, pg());
  });
});

describe('a plain volume', () => {
  const files = (): WutongComponent => sibling('f3b4c5d6e7f8091a2b3c4d5e6f708192', 'grfiles0');
  const workload = (): WutongWorkload => workloadOf({ image: 'nginx:1.25', mountPath: '/data' });

  test('files added, changed and removed after the backup: the restore gives back exactly the backup\'s tree, nothing of Velero\'s left in it', async () => {
    await startWutongComponent(bed.apps, bed.core, files(), workload());
    const dir = await volumeDir(files());
    mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'the first file\n');
    writeFileSync(join(dir, 'nested', 'data.bin'), randomBytes(300 * 1024));
    writeFileSync(join(dir, 'nested', 'deeper', 'c.txt'), 'deep\n');
    writeFileSync(join(dir, 'to-remove.txt'), 'removed after the backup\n');
    const atBackup = tree(dir);
    const backupId = await backUp(files(), 'tree');

    writeFileSync(join(dir, 'a.txt'), 'changed after the backup\n');
    writeFileSync(join(dir, 'added-later.txt'), 'added after the backup\n');
    writeFileSync(join(dir, 'nested', 'data.bin'), randomBytes(1024));
    rmSync(join(dir, 'to-remove.txt'));
    await stopWutongComponent(bed.apps, bed.core, files());

    const { record } = await restore(files(), backupId);
    expect(record.status).toBe('Completed');
    await expectStopped(files());
    await startWutongComponent(bed.apps, bed.core, files(), workload());
    // Velero's node agent (root) left .velero/<restore uid> in the volume and its restore-wait, as nonroot 65532,
    // could not remove it (v1.11.1 pod_volume_restore_controller.go L301-312, velero-restore-helper.go L83-104,
    // Dockerfile L77; velero#8973): the marker holder did, before the record said Completed. Every other byte is the backup's.
    const restoredDir = await volumeDir(files());
    expect(existsSync(join(restoredDir, '.velero'))).toBe(false);
    expect(tree(restoredDir)).toEqual(atBackup);
    await stopWutongComponent(bed.apps, bed.core, files());
  });

  test('Wutong starts the component while the current data is being saved: the restore fails saying so, and nothing is replaced', async () => {
    await startWutongComponent(bed.apps, bed.core, files(), workload());
    const dir = await volumeDir(files());
    writeFileSync(join(dir, 'live.txt'), 'written before the restore\n');
    const backupId = await backUp(files(), 'before the race');
    writeFileSync(join(dir, 'live.txt'), 'written after the backup\n');
    await stopWutongComponent(bed.apps, bed.core, files());
    const before = await claimOf(files());
    bed.velero.holdBackups(true);
    try {
      const answer = await bed.call('POST', `${files().path}/restore`, { body: { backup_id: backupId } });
      expect(answer.status).toBe(200);
      const id = (answer.json as { bean: RestoreRecordJson }).bean.restore_id;
      await eventually(async () => ((await restoreRecord(files(), id))?.stage === 'SavingCurrentData' ? true : undefined), 'saving the current data', 60_000, 250);
      await startWutongComponent(bed.apps, bed.core, files(), workload());
      bed.velero.holdBackups(false);
      const record = await finished(files(), id);
      expect(record).toMatchObject({ status: 'Failed', stage: 'Failed' });
      expect(record.failure_reason).toMatch(/^component (acme\/[^/]+\/)?grfiles0 was started \((StatefulSet grfiles0|Pod grfiles0-0)\) after the restore was requested: nothing was changed/);
    } finally {
      bed.velero.holdBackups(false);
    }
    expect(await claimOf(files())).toEqual(before);
    expect(readFileSync(join(await volumeDir(files()), 'live.txt'), 'utf8')).toBe('written after the backup\n');
    await stopWutongComponent(bed.apps, bed.core, files());
  });
});

describe('a 1 GiB volume', () => {
  const big = (): WutongComponent => sibling('a4c5d6e7f8091a2b3c4d5e6f708192a3', 'grbig000');

  test('comes back byte for byte; the time it takes is printed', async () => {
    await startWutongComponent(bed.apps, bed.core, big(), workloadOf({ image: 'nginx:1.25', mountPath: '/data' }));
    const dir = await volumeDir(big());
    const file = join(dir, 'one-gib.bin');
    const hash = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      out.on('error', reject);
      let left = 1024;
      const writeMore = (): void => {
        while (left > 0) {
          const chunk = randomBytes(1024 * 1024);
          hash.update(chunk);
          left--;
          if (!out.write(chunk)) return void out.once('drain', writeMore);
        }
        out.end(resolve);
      };
      writeMore();
    });
    const expected = hash.digest('hex');
    const backupStarted = Date.now();
    const backupId = await backUp(big(), '1 GiB');
    const backupMs = Date.now() - backupStarted;
    writeFileSync(file, 'overwritten\n');
    await stopWutongComponent(bed.apps, bed.core, big());
    const { record, ms } = await restore(big(), backupId);
    expect(record.status).toBe('Completed');
    await startWutongComponent(bed.apps, bed.core, big(), workloadOf({ image: 'nginx:1.25', mountPath: '/data' }));
    const restored = join(await volumeDir(big()), 'one-gib.bin');
    expect(existsSync(restored)).toBe(true);
    const actual = await sha256Of(restored);
    expect(actual).toBe(expected);
    console.log(`1 GiB volume: backup ${(backupMs / 1000).toFixed(1)} s; restore (safety backup of the replaced 12 B + PVC replaced + Velero restore + verdict) ${(ms / 1000).toFixed(1)} s; sha256 equal (${expected.slice(0, 16)}…)`);
    await stopWutongComponent(bed.apps, bed.core, big());
  });
});
