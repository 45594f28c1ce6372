import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { apiStatus } from '../../src/kube/api-error.js';
import { MYSQL_DUMP_FILE } from '../../src/policy/profiles/mysql-family-profiles.js';
import { archiveTokenDigest, newArchiveToken } from '../../src/download/archive-token.js';
import { downloadHolderPod, downloadSecretObject, issueDownloadCertificate, DOWNLOAD_HOLDER_NAME } from '../../src/download/download-holder-pod.js';
import { scratchNamespaceObject } from '../../src/download/download-request.js';
import { fetchHolderArchive } from '../../src/download/holder-archive-client.js';
import { buildDownloadRestore, restoredPodProblem } from '../../src/velero/download-restore.js';
import { HOUR_MS } from '../../src/certificates/issue-certificates.js';
import { startBackupApiTestbed, VELERO_NAMESPACE, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { adminKubeConfig } from './support/kube.js';
import { eventually } from './support/wait.js';
import { claimNameOf, type WutongWorkload } from './support/wutong-component.js';

// A download's data path on J's data-bearing testbed (README "Downloads that
// hold the data"): the test plays the controller's part (its loop is not
// built yet) with the project's own builders, and Velero (the stand-in in
// data mode, restic for real), the kubelet (processes, real directories)
// and the holder (`wutong-backup serve-archive`, the built CLI) do theirs.
// The archive's files are compared with the volume's files at backup time.

jest.setTimeout(600_000);

const SID = 'f1a2b3c4d5e6f708192a3b4c5d6e7f81';
const ALIAS = 'grdlmaria';
const PASSWORD = 'download-pw';
const IMAGE = 'wutong-backup:0.1.0';
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

test('the archive’s files are the volume’s files at backup time (the pre-backup hook’s dump and a plain file), the tenant’s containers never start in the scratch namespace, and the namespace is gone after', async () => {
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

  // The controller's part, with its builders.
  const scratch = `wutong-backup-dl-${randomBytes(4).toString('hex')}`;
  await bed.core.createNamespace({ body: scratchNamespaceObject(scratch, 'download-test') });
  node().kubelet.runPods(scratch, `service_id=${SID}`);
  node().kubelet.runPods(scratch, `app.kubernetes.io/name=${DOWNLOAD_HOLDER_NAME}`);
  const custom = adminKubeConfig().makeApiClient(CustomObjectsApi);
  const restore = buildDownloadRestore({ name: scratch, veleroNamespace: VELERO_NAMESPACE, component: { namespace: c.namespace, serviceId: SID }, backupName: backupId, scratchNamespace: scratch, recordName: 'download-test', image: IMAGE });
  await custom.createNamespacedCustomObject({ group: 'velero.io', version: 'v1', namespace: VELERO_NAMESPACE, plural: 'restores', body: restore });
  await eventually(async () => {
    const pvrs = await bed.veleroObjects('podvolumerestores', `velero.io/restore-name=${scratch}`);
    const phases = pvrs.map((p) => (p as unknown as { status?: { phase?: string } }).status?.phase);
    if (phases.includes('Failed')) throw new Error('a PodVolumeRestore failed');
    return pvrs.length > 0 && phases.every((p) => p === 'Completed') ? true : undefined;
  }, 'the PodVolumeRestores Completed', 180_000, 500);

  const restored = await podOf(scratch, `service_id=${SID}`);
  const inits = (restored.spec?.initContainers ?? []).map((i) => ({ name: i.name, image: i.image ?? '' }));
  expect(restoredPodProblem({ name: restored.metadata?.name ?? '', initContainers: inits }, IMAGE)).toBeUndefined();
  expect(inits.map((i) => i.name).slice(0, 2)).toEqual(['restore-wait', 'wutong-backup-download-hold']);
  // The tenant's container never started: the hold comes before it and never exits.
  const live = await bed.core.readNamespacedPod({ namespace: scratch, name: restored.metadata?.name ?? '' });
  expect(live.status?.containerStatuses?.every((s) => s.state?.running === undefined && s.state?.terminated === undefined)).toBe(true);
  await bed.core.deleteNamespacedPod({ namespace: scratch, name: restored.metadata?.name ?? '', gracePeriodSeconds: 0 });

  const token = newArchiveToken();
  const certificate = issueDownloadCertificate(HOUR_MS);
  const claim = claimNameOf(c);
  await bed.core.createNamespacedSecret({ namespace: scratch, body: downloadSecretObject(scratch, certificate, archiveTokenDigest(token)) });
  await bed.core.createNamespacedPod({ namespace: scratch, body: downloadHolderPod({ namespace: scratch, image: IMAGE, claims: [claim], activeDeadlineSeconds: 600, wait: '3m' }) });
  const holder = await eventually(async () => {
    const pod = await bed.core.readNamespacedPod({ namespace: scratch, name: DOWNLOAD_HOLDER_NAME });
    if (pod.status?.phase === 'Failed') throw new Error('the holder failed');
    return pod.status?.phase === 'Running' && pod.status.podIP ? pod : undefined;
  }, 'the holder Running', 60_000, 250);
  const archive = await eventually(() => fetchHolderArchive({ host: holder.status?.podIP ?? '', port: 8443, fingerprint: certificate.fingerprint }, token, 5_000).catch(() => undefined), 'the holder serving', 60_000, 250);

  const dir = mkdtempSync(join(tmpdir(), 'download-data-'));
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of archive.body) chunks.push(chunk as Buffer);
    const tarFile = join(dir, 'volumes.tar');
    writeFileSync(tarFile, Buffer.concat(chunks));
    expect(statSync(tarFile).size).toBe(archive.size);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', tarFile, '-C', out]);
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
  }
  // Served once, then the holder exits.
  await eventually(async () => ((await bed.core.readNamespacedPod({ namespace: scratch, name: DOWNLOAD_HOLDER_NAME })).status?.phase === 'Succeeded' ? true : undefined), 'the holder Succeeded', 60_000, 250);

  await bed.core.deleteNamespace({ name: scratch });
  await eventually(async () => {
    try {
      await bed.core.readNamespace({ name: scratch });
      return undefined;
    } catch (err) {
      return apiStatus(err) === 404 ? true : undefined;
    }
  }, 'the scratch namespace gone', 120_000, 500);
});
