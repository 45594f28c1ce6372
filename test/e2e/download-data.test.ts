import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { apiStatus } from '../../src/kube/api-error.js';
import { MYSQL_DUMP_FILE } from '../../src/policy/profiles/mysql-family-profiles.js';
import { DOWNLOAD_HOLDER_NAME } from '../../src/download/download-holder-pod.js';
import { downloadRequestName, readDownloadRequest } from '../../src/download/download-request.js';
import { prepareDownload, type DownloadPorts } from '../../src/download/prepare-download.js';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { SHIPPED } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { claimNameOf, type WutongWorkload } from './support/wutong-component.js';

// A download on J's data-bearing testbed (README "Downloads that hold the
// data"): the shipped controller process carries out the request record
// (its download loop), the test plays the API's part with the API's own
// code (prepareDownload: the route is not switched yet), and Velero (the
// stand-in in data mode, restic for real), the kubelet (processes, real
// directories) and the holder (`wutong-backup serve-archive`, the built
// CLI) do theirs.
// The archive's files are compared with the volume's files at backup time.

jest.setTimeout(600_000);

const SID = 'f1a2b3c4d5e6f708192a3b4c5d6e7f81';
const ALIAS = 'grdlmaria';
const PASSWORD = 'download-pw';
let bed: BackupApiTestbed;
const mariadb: Omit<WutongWorkload, 'storageClassName'> = { image: 'mariadb:10.11', env: { MARIADB_ROOT_PASSWORD: PASSWORD }, mountPath: '/var/lib/mysql' };

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'dldata', serviceId: SID, alias: ALIAS, replicaCount: 1, data: { workload: mariadb } });
});
afterAll(async () => {
  await bed?.stop();
});

const node = (): NonNullable<BackupApiTestbed['node']> => {
  if (!bed.node) throw new Error('the testbed has no data node');
  return bed.node;
};
async function podOf(namespace: string, selector: string): Promise<V1Pod> {
  const pods = await bed.core.listNamespacedPod({ namespace, labelSelector: selector });
  const [pod] = pods.items;
  if (!pod || pods.items.length !== 1) throw new Error(`${pods.items.length} pods in ${namespace} with ${selector}`);
  return pod;
}
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a download carried out by the controller: the archive holds manifests.tar.gz and the volume’s files at backup time (the pre-backup hook’s dump and a plain file), no .velero; the Restore and the scratch namespace are gone after', async () => {
  const c = bed.component;
  const app = await podOf(c.namespace, `service_id=${SID},!backup.wutong.io/holder`);
  const ref = { namespace: c.namespace, name: app.metadata?.name ?? '', uid: app.metadata?.uid ?? '' };
  const sql = async (query: string): Promise<string> => {
    const run = await node().runtime.exec(ref, ALIAS, ['env', `MYSQL_PWD=${PASSWORD}`, 'mariadb', '-uroot', '-N', '-B', '-e', query], 60_000);
    if (run.exitCode !== 0) throw new Error(`SQL failed: ${run.stderr}`);
    return run.stdout.trim();
  };
  await eventually(async () => ((await sql('SELECT 1').catch(() => '')) === '1' ? true : undefined), 'MariaDB answering', 120_000, 500);
  await sql("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40)); INSERT INTO shop.orders VALUES (1, 'apple'), (2, 'pear')");
  const volume = node().runtime.volumeDir(ref.uid, 'manual1001') ?? '';
  mkdirSync(join(volume, 'files'), { recursive: true });
  writeFileSync(join(volume, 'files', 'plain.bin'), randomBytes(3 * 1024 * 1024));

  const answer = await bed.call('POST', `${c.path}/backup`, { body: { desc: 'download me', operator: 'erin' } });
  expect(answer.status).toBe(200);
  const backupId = (answer.json as { bean: { backup_id: string } }).bean.backup_id;
  await eventually(async () => {
    const list = ((await bed.call('GET', `${c.path}/backup/records`)).json as { list: { backup_id: string; status: string }[] }).list;
    const status = list.find((r) => r.backup_id === backupId)?.status;
    if (status && !['New', 'InProgress', '', 'Completed'].includes(status)) throw new Error(`backup ended ${status}`);
    return status === 'Completed' ? true : undefined;
  }, 'the backup Completed', 180_000, 500);
  // At backup time: the dump the pre-backup hook wrote, and the plain file.
  const atBackup = { [MYSQL_DUMP_FILE]: sha256(join(volume, MYSQL_DUMP_FILE)), 'files/plain.bin': sha256(join(volume, 'files', 'plain.bin')) };
  expect(readFileSync(join(volume, MYSQL_DUMP_FILE), 'utf8')).toMatch(/INSERT INTO `orders` VALUES/);
  // Changed after the backup: the archive must not have this.
  writeFileSync(join(volume, 'files', 'plain.bin'), 'changed after the backup');

  // The API's part, with its own code (prepareDownload; the route still answers with Velero's URL): the record in the project's namespace,
  // as the api role writes it. The controller's part is the shipped controller process's loop.
  const info = clusterInfo();
  const records = `/api/v1/namespaces/${SHIPPED.namespace}/configmaps`;
  // The stand-in keeps no object storage Velero's BackupContents could be fetched from: the test hands the API's manifests port these bytes.
  const manifests = Buffer.from('manifests of the backup (the object store is not stood in)');
  const ports: DownloadPorts = {
    async createRecord(object) {
      const answer = await apiRequest(info, 'POST', records, object);
      if (answer.status === 409) return 'exists';
      if (answer.status !== 201) throw new Error(`creating the record: ${answer.status} ${answer.body.slice(0, 200)}`);
      return 'created';
    },
    async readRecord(name) {
      const answer = await apiRequest(info, 'GET', `${records}/${name}`);
      return answer.status === 404 ? undefined : answer.json;
    },
    async removeRecord(name) {
      await apiRequest(info, 'DELETE', `${records}/${name}`);
    },
    manifests: () => Promise.resolve(manifests),
  };
  // The kubelet stand-in runs pods only where it is told: the scratch namespace, once the record names it.
  let scratch = '';
  const told = eventually(async () => {
    const record = readDownloadRequest((await apiRequest(info, 'GET', `${records}/${downloadRequestName(SID)}`)).json);
    if (!record?.request) return undefined;
    scratch = record.request.scratchNamespace;
    node().kubelet.runPods(scratch, `service_id=${SID}`);
    node().kubelet.runPods(scratch, `app.kubernetes.io/name=${DOWNLOAD_HOLDER_NAME}`);
    return true;
  }, 'the download request record', 60_000, 100);
  const started = Date.now();
  const download = await prepareDownload(ports, { timeLimitMs: 20 * 60_000, readyTimeoutMs: 8 * 60_000, pollMs: 500, maxManifestBytes: 1 << 20 }, { component: { namespace: c.namespace, serviceId: SID, serviceAlias: ALIAS }, backupName: backupId, operator: 'erin' });
  await told;
  process.stdout.write(`download Ready after ${Date.now() - started} ms\n`);
  const claim = claimNameOf(c);
  expect(download.missing).toEqual([]);
  expect(download.fileName).toBe(`${ALIAS}-${backupId}.tar`);
  // The restored pod never ran the tenant's container: the controller deleted it with the hold still in front.
  const restoreObject = (await bed.veleroObjects('restores')).find((o) => o.metadata.name === scratch) as unknown as { spec: { hooks: { resources: { postHooks: { init: { initContainers: { name: string }[] } }[] }[] } } } | undefined;
  expect(restoreObject?.spec.hooks.resources[0]?.postHooks[0]?.init.initContainers.map((i) => i.name)).toEqual(['wutong-backup-download-hold']);

  const dir = mkdtempSync(join(tmpdir(), 'download-data-'));
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream) chunks.push(chunk as Buffer);
    const tarFile = join(dir, 'download.tar');
    writeFileSync(tarFile, Buffer.concat(chunks));
    expect(statSync(tarFile).size).toBe(download.size);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', tarFile, '-C', out]);
    expect(readFileSync(join(out, 'manifests.tar.gz'))).toEqual(manifests);
    const root = join(out, 'volumes', claim);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else files.push(relative(root, join(d, e.name)));
      }
    };
    walk(root);
    expect(files.some((f) => f.startsWith('.velero'))).toBe(false);
    expect({ [MYSQL_DUMP_FILE]: sha256(join(root, MYSQL_DUMP_FILE)), 'files/plain.bin': sha256(join(root, 'files', 'plain.bin')) }).toEqual(atBackup);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // What the route does when the response closes, however: the record goes, and the controller's sweep with it the namespace and the Restore.
    await download.finish();
  }
  await eventually(async () => ((await bed.veleroObjects('restores')).some((o) => o.metadata.name === scratch) ? undefined : true), 'the download Restore deleted', 120_000, 500);
  await eventually(async () => {
    try {
      await bed.core.readNamespace({ name: scratch });
      return undefined;
    } catch (err) {
      return apiStatus(err) === 404 ? true : undefined;
    }
  }, 'the scratch namespace gone', 120_000, 500);
});
