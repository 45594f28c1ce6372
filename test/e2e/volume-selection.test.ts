// Selection as the policy says, and partial backups in records, end to end:
// the shipped installation, real pods admitted by the real webhook under an
// opt-in and then an opt-out policy, a Backup taken through the backup API,
// and the Velero stand-in's implementation of Velero v1.11.1's selection
// (pkg/podvolume/util.go GetVolumesByPod L257-296) and skips
// (pkg/podvolume/backupper.go L135-143, L207-224).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { wutongLabels, type WutongComponent } from './support/wutong-component.js';

jest.setTimeout(600_000);

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const policyText = (mode: 'opt-in' | 'opt-out'): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
podSelector: { matchLabels: { creator: Wutong } }
fileSystemBackup: { mode: ${mode}, includeEmptyDir: ${mode === 'opt-out'} }
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
`;

let bed: BackupApiTestbed;
const volumesMade: string[] = [];

interface RecordJson {
  backup_id: string;
  status: string;
  restorable: boolean;
  volumes: string;
  partial: boolean;
}

function component(alias: string, serviceId: string): WutongComponent {
  const { tenant, env, namespace } = bed.component;
  return { serviceId, alias, tenant, env, namespace, path: `/v2/tenants/${tenant}/envs/${env}/services/${alias}` };
}

async function create(path: string, body: unknown): Promise<void> {
  const res = await apiRequest(clusterInfo(), 'POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body.slice(0, 300)}`);
}

/** A PV reserved for one claim, as an administrator makes one by hand: a local volume, or a hostPath (which Velero cannot copy). */
async function volumeFor(c: WutongComponent, claim: string, kind: 'local' | 'hostPath'): Promise<void> {
  const name = `pv-${claim}-${process.pid}`;
  volumesMade.push(name);
  const source =
    kind === 'hostPath'
      ? { hostPath: { path: `/wtdata/${name}` } }
      : { local: { path: `/wtdata/${name}` }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }] } } };
  await create('/api/v1/persistentvolumes', {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { creator: 'Wutong', service_id: c.serviceId } },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', ...source, claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: c.namespace, name: claim } },
  });
  await create(`/api/v1/namespaces/${c.namespace}/persistentvolumeclaims`, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, labels: wutongLabels(c) },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await eventually(async () => {
    const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${c.namespace}/persistentvolumeclaims/${claim}`);
    return (res.json as { status?: { phase?: string } }).status?.phase === 'Bound' ? true : undefined;
  }, `${claim} Bound`, 60_000, 250);
}

/** The pod as Wutong's worker would create it: what the webhook is sent, and what explain is given. */
function podManifest(c: WutongComponent, volumes: unknown[], mounts: Array<{ name: string; mountPath: string }>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${c.alias}-0`, namespace: c.namespace, labels: wutongLabels(c) },
    spec: { containers: [{ name: c.alias, image: 'mysql:8.0.36', volumeMounts: mounts }], volumes },
  };
}

async function runPod(c: WutongComponent, pod: Record<string, unknown>): Promise<void> {
  bed.kubelet.runPods(c.namespace, `service_id=${c.serviceId}`);
  await create(`/api/v1/namespaces/${c.namespace}/pods`, pod);
  await eventually(async () => {
    const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${c.namespace}/pods/${c.alias}-0`);
    return (res.json as { status?: { phase?: string } }).status?.phase === 'Running' ? true : undefined;
  }, `${c.alias}-0 Running`, 60_000, 250);
}

/** `wutong-backup explain` of the pod under the policy: the volumes its "file-system backup:" line says Velero copies. */
function explainedVolumes(pod: Record<string, unknown>, policy: string): Promise<{ volumes: string[]; line: string }> {
  const dir = tmpdir();
  const podFile = join(dir, `selection-pod-${process.pid}.json`);
  const policyFile = join(dir, `selection-policy-${process.pid}.yaml`);
  writeFileSync(podFile, JSON.stringify(pod));
  writeFileSync(policyFile, policy);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'explain', '-f', podFile, '--policy', policyFile], { timeout: 60_000 }, (err, stdout) => {
      if (err !== null) return reject(new Error(`explain failed: ${err.message}`));
      const line = stdout.split('\n').find((l) => l.startsWith('  file-system backup: ')) ?? '';
      const match = /Velero copies (?:volumes (.+?) \(|no volume)/.exec(line);
      if (!match) return reject(new Error(`explain printed no volume line: ${stdout}`));
      resolve({ volumes: match[1] ? match[1].split(', ') : [], line });
    });
  });
}

/** A Backup through the backup API, as the console's "back up now"; its record once Velero (the stand-in) and the controller are done with it. */
async function backUp(c: WutongComponent): Promise<{ id: string; pvbVolumes: string[]; record: RecordJson }> {
  const answer = await bed.call('POST', `${c.path}/backup`, { body: { desc: 'selection', ttl: '1d', operator: 'e2e' } });
  expect(answer.status).toBe(200);
  const id = (answer.json as { bean: { backup_id: string } }).bean.backup_id;
  const record = await eventually(async () => {
    const list = await bed.call('GET', `${c.path}/backup/records`);
    const found = (list.json as { list: RecordJson[] }).list.find((r) => r.backup_id === id);
    return found && found.status === 'Completed' && found.volumes !== '' ? found : undefined;
  }, `backup ${id} Completed and judged`, 90_000, 250);
  const pvbs = (await bed.veleroObjects('podvolumebackups', `velero.io/backup-name=${id}`)) as unknown as Array<{ spec: { volume: string } }>;
  return { id, pvbVolumes: pvbs.map((p) => p.spec.volume).sort(), record };
}

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'selection', serviceId: 'e0e1e2e3e4e5e6e7e8e9eaebecedeeef', alias: 'grselbed', replicaCount: 1, beforeReplicas: () => setShippedPolicy(policyText('opt-in')) });
});

afterAll(async () => {
  await bed?.stop();
  for (const name of volumesMade) await apiRequest(clusterInfo(), 'DELETE', `/api/v1/persistentvolumes/${name}`);
});

// One pod of each mode: its data PVC, a scratch emptyDir, a configMap, an NFS share, and a second PVC no container mounts.
const VOLUMES = (data: string, spare: string): unknown[] => [
  { name: 'data', persistentVolumeClaim: { claimName: data } },
  { name: 'tmp', emptyDir: {} },
  { name: 'cfg', configMap: { name: 'mysql-cnf', optional: true } },
  { name: 'share', nfs: { server: 'nfs.example', path: '/exports/share' } },
  { name: 'spare', persistentVolumeClaim: { claimName: spare } },
];
const MOUNTS = [
  { name: 'data', mountPath: '/var/lib/mysql' },
  { name: 'tmp', mountPath: '/tmp' },
  { name: 'cfg', mountPath: '/etc/mysql/conf.d' },
  { name: 'share', mountPath: '/share' },
];

test.each([
  ['opt-in', 'grselin', 'e1000000000000000000000000000001', ['data']],
  ['opt-out', 'grselout', 'e1000000000000000000000000000002', ['data', 'share', 'tmp']],
] as const)('%s: the PodVolumeBackups of a Backup taken through the API are exactly the volumes explain names', async (mode, alias, serviceId, expected) => {
  const policy = policyText(mode);
  await setShippedPolicy(policy);
  const c = component(alias, serviceId);
  await volumeFor(c, `${alias}-data`, 'local');
  await volumeFor(c, `${alias}-spare`, 'local');
  const pod = podManifest(c, VOLUMES(`${alias}-data`, `${alias}-spare`), MOUNTS);
  // The live policy reaches the webhook through its ConfigMap watch: the pod is created once the webhook answers with this mode.
  await eventually(async () => {
    const res = await apiRequest(clusterInfo(), 'POST', `/api/v1/namespaces/${c.namespace}/pods?dryRun=All`, pod);
    const annotations = (res.json as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
    return (mode === 'opt-out') === ('backup.velero.io/backup-volumes-excludes' in annotations) ? true : undefined;
  }, `the webhook applies the ${mode} policy`, 60_000, 500);
  await runPod(c, pod);

  const explained = await explainedVolumes(pod, policy);
  const { pvbVolumes, record } = await backUp(c);
  expect(explained.volumes.sort()).toEqual([...expected]);
  expect(pvbVolumes).toEqual(explained.volumes.sort());
  // The unmounted PVC is on the include list, skipped by Velero (backupper.go L222-226), and the record says so.
  expect(record).toMatchObject({ partial: true, restorable: true, volumes: `1 of 2 volumes; ${alias}-spare skipped: no container of pod ${alias}-0 mounts it` });
});

test('partial: a component with two claims, one on a hostPath PV: the Backup is Completed, the record says partial and names the skipped claim and why', async () => {
  await setShippedPolicy(policyText('opt-in'));
  const c = component('grselhp', 'e1000000000000000000000000000003');
  await volumeFor(c, 'grselhp-data', 'local');
  await volumeFor(c, 'grselhp-logs', 'hostPath');
  const pod = podManifest(
    c,
    [{ name: 'data', persistentVolumeClaim: { claimName: 'grselhp-data' } }, { name: 'logs', persistentVolumeClaim: { claimName: 'grselhp-logs' } }],
    [{ name: 'data', mountPath: '/var/lib/mysql' }, { name: 'logs', mountPath: '/var/log/mysql' }],
  );
  await runPod(c, pod);
  const { id, pvbVolumes, record } = await backUp(c);
  // Velero v1.11.1 pkg/podvolume/backupper.go L207-220: the hostPath PV's claim is skipped with a warning, the Backup still Completed.
  expect(pvbVolumes).toEqual(['data']);
  expect(record).toMatchObject({ status: 'Completed', restorable: true, partial: true, volumes: '1 of 2 volumes; grselhp-logs skipped: hostPath PV' });
  const backup = (await bed.veleroObjects('backups')).find((b) => b.metadata.name === id);
  expect(JSON.parse(backup?.metadata.annotations?.['backup.wutong.io/coverage'] ?? '{}')).toEqual({ expected: ['grselhp-data', 'grselhp-logs'], skipped: { 'grselhp-logs': 'hostPath PV' } });
});
