// The "API server stopped for 30 s and restarted": a private
// kube-apiserver (the shared one serves every other test file), the built
// process connected to it, the API server stopped for 30 s and started again
// on the same port and etcd. Meanwhile the webhook must keep answering from
// the policy it cached; afterwards its watches must recover on their own
// (a policy edit and a new Backup reach it), the controller Lease must be
// the same one with the same holder, and nothing may exist twice.
//
// The process runs with the private API server's admin kubeconfig: this test
// is about outages, not permissions (rbac.test.ts proves those with the
// shipped ServiceAccount), and installing the shipped manifests on a second
// API server would double the file's run time.
import { jest } from '@jest/globals';
import { scheduleName } from '../../src/velero/object-names.js';
import { apiRequest, installCrds, startCluster, veleroCrdDir, type ApiResponse, type TestCluster } from './cluster/cluster.js';
import { backupApiClient } from './support/backup-api-client.js';
import { tenantNamespaceLabels } from './support/kube.js';
import { eventually } from './support/wait.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';

jest.setTimeout(300_000);

const OUTAGE_MS = 30_000;
const NAMESPACE = 'wutong-backup';
const VELERO = 'velero';
const TENANT = 'outage-tenant';
const ENV = 'prod';
const ALIAS = 'gr0a7a9e';
const SERVICE_ID = 'a7a9e0c1d2e3f4a5b6c7d8e9f0a1b2c3';
const COMPONENT_NAMESPACE = 'outage-component';
const RECORDS = `/v2/tenants/${TENANT}/envs/${ENV}/services/${ALIAS}/backup/records`;
const SCHEDULE = `/v2/tenants/${TENANT}/envs/${ENV}/services/${ALIAS}/backup/schedule`;

const policy = (timeout: string): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
podSelector: { matchLabels: { creator: Wutong } }
fileSystemBackup: { mode: opt-in, includeEmptyDir: false }
rules:
  - name: outage-db
    profile: mysql
    match: { labels: { service_alias: ${ALIAS} } }
    backup:
      pre: { timeout: ${timeout} }
`;

const componentLabels = { creator: 'Wutong', service_id: SERVICE_ID, service_alias: ALIAS, tenant_name: TENANT, tenant_env_name: ENV };

/** A Wutong MySQL pod's review, as the API server sends it. */
const review = (uid: string): object => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: COMPONENT_NAMESPACE,
    operation: 'CREATE',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'mysql-0', namespace: COMPONENT_NAMESPACE, labels: componentLabels },
      spec: {
        containers: [{ name: 'mysql', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }],
      },
    },
  },
});

let cluster: TestCluster;
let webhook: WebhookProcess;
let client: ReturnType<typeof backupApiClient>;
let api: ReturnType<typeof backupApiClient>;

async function expectCreated(path: string, body: object): Promise<void> {
  const res = await apiRequest(cluster, 'POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body.slice(0, 300)}`);
}

const putPolicy = async (timeout: string): Promise<ApiResponse> =>
  apiRequest(cluster, 'PUT', `/api/v1/namespaces/${NAMESPACE}/configmaps/wutong-backup-policy`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'wutong-backup-policy', namespace: NAMESPACE },
    data: { 'policy.yaml': policy(timeout) },
  });

const backup = (name: string): object => ({
  apiVersion: 'velero.io/v1',
  kind: 'Backup',
  metadata: { name, namespace: VELERO, labels: { 'wutong.io/service_id': SERVICE_ID } },
  spec: { includedNamespaces: [COMPONENT_NAMESPACE] },
});

/** The pre-backup hook timeout the webhook's answer writes, or the reason there is none. */
async function admittedHookTimeout(uid: string): Promise<string> {
  const answer = await client.call('POST', '/mutate', { body: review(uid) }).catch((err: unknown) => ({ status: 0, json: undefined, error: (err as Error).message }));
  if (answer.status !== 200) return `HTTP ${answer.status}`;
  const patch = (answer.json as { response?: { patch?: string } }).response?.patch;
  if (patch === undefined) return 'no patch';
  const ops = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Array<{ path: string; value?: unknown }>;
  const annotations = ops.find((op) => op.path === '/metadata/annotations')?.value as Record<string, string> | undefined;
  return annotations?.['pre.hook.backup.velero.io/timeout'] ?? 'no timeout annotation';
}

const backupNames = async (): Promise<string[]> => {
  const res = await api.call('GET', RECORDS, { token: cluster.token });
  if (res.status !== 200) throw new Error(`records: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  return ((res.json as { list: Array<{ backup_id: string }> }).list ?? []).map((r) => r.backup_id).sort();
};

const listNames = async (path: string): Promise<string[]> => {
  const res = await apiRequest(cluster, 'GET', path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return (res.json as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name).sort();
};

const controllerLease = async (): Promise<{ holderIdentity?: string; leaseTransitions?: number }> => {
  const res = await apiRequest(cluster, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/wutong-backup-controller`);
  return (res.json as { spec?: { holderIdentity?: string; leaseTransitions?: number } }).spec ?? {};
};

const logged = (msg: string, after = 0): Array<Record<string, unknown>> => webhook.logs.filter((l) => l.msg === msg && Number(l.time) >= after);

beforeAll(async () => {
  cluster = await startCluster();
  await installCrds(cluster, veleroCrdDir('1.11.1'));
  for (const name of [NAMESPACE, VELERO]) await expectCreated('/api/v1/namespaces', { metadata: { name } });
  // A Wutong tenant env: components exist only there.
  await expectCreated('/api/v1/namespaces', { metadata: { name: COMPONENT_NAMESPACE, labels: tenantNamespaceLabels(TENANT, ENV) } });
  await expectCreated(`/api/v1/namespaces/${NAMESPACE}/configmaps`, { metadata: { name: 'wutong-backup-policy' }, data: { 'policy.yaml': policy('7m') } });
  // A stopped Wutong component: its PVC is all there is of it.
  await expectCreated(`/api/v1/namespaces/${COMPONENT_NAMESPACE}/persistentvolumeclaims`, {
    metadata: { name: 'data-mysql-0', labels: componentLabels },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await expectCreated(`/apis/velero.io/v1/namespaces/${VELERO}/backups`, backup(`${SERVICE_ID}-20261202010000`));
  // What Velero's storage-location controller keeps (no status subresource in v1.11's CRD): the API answers 503 without it.
  await expectCreated(`/apis/velero.io/v1/namespaces/${VELERO}/backupstoragelocations`, {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: 'default', namespace: VELERO },
    // validationFrequency 0s: Velero never revalidates it, so its lastValidationTime ageing past BSL_VALIDATION_MAX_AGE during a slow run means nothing.
    spec: { provider: 'aws', default: true, objectStorage: { bucket: 'outage' }, validationFrequency: '0s' },
    status: { phase: 'Available', lastValidationTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
  });
  webhook = await startWebhookProcess({ KUBECONFIG: cluster.kubeconfigPath, POD_NAMESPACE: NAMESPACE, VELERO_NAMESPACE: VELERO });
  client = backupApiClient(webhook.url, webhook.caPem);
  api = backupApiClient(webhook.apiUrl, webhook.caPem);
});

afterAll(async () => {
  client?.close();
  api?.close();
  await webhook?.stop();
  await cluster?.stop();
});

test('API server stopped for 30 s: the webhook answers from its cached policy; watches recover; one Lease, one holder, one Schedule', async () => {
  // Before: the ConfigMap's policy is in force, the component and its backup are listed, this replica leads.
  await eventually(async () => ((await admittedHookTimeout('before')) === '7m' ? true : undefined), 'the ConfigMap policy to be in force', 30_000);
  await eventually(async () => ((await backupNames()).length === 1 ? true : undefined), 'the backup record', 30_000);
  await webhook.waitForLog((l) => l.msg === 'leading: the controller loops run on this replica', 30_000);
  const schedule = await api.call('POST', SCHEDULE, { token: cluster.token, body: { cron: '0 3 * * *', desc: 'nightly', operator: 'e2e' } });
  expect(schedule.status).toBe(200);
  const leaseBefore = await controllerLease();
  expect(leaseBefore.holderIdentity).toMatch(/_[0-9a-f]{8}$/);

  const down = Date.now();
  await cluster.stopApiserver();
  const answers: string[] = [];
  for (let i = 0; Date.now() - down < OUTAGE_MS; i++) {
    answers.push(await admittedHookTimeout(`outage-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  // Every review during the outage was answered, from the cached policy.
  expect(answers.length).toBeGreaterThanOrEqual(20);
  expect(new Set(answers)).toEqual(new Set(['7m']));
  // Unable to renew, the controller stopped leading at its renew deadline.
  const steppedDown = logged('stopped leading: the controller loops stop on this replica', down);
  expect(steppedDown).toEqual([expect.objectContaining({ reason: 'no renew succeeded within the renew deadline' })]);

  await cluster.startApiserver();
  const up = Date.now();

  // The ConfigMap watch recovered: an edit made after the restart is in force.
  expect((await putPolicy('9m')).status).toBe(200);
  await eventually(async () => ((await admittedHookTimeout('after')) === '9m' ? true : undefined), 'the edited policy to be in force', 60_000, 500);
  const policyRecoveredMs = Date.now() - up;
  // The Velero watches recovered: a Backup created after the restart is listed.
  await expectCreated(`/apis/velero.io/v1/namespaces/${VELERO}/backups`, backup(`${SERVICE_ID}-20261202020000`));
  await eventually(async () => ((await backupNames()).length === 2 ? true : undefined), 'the new backup record', 60_000, 500);
  // The election recovered: the same replica leads again, on the same Lease, with no transition in between.
  await webhook.waitForLog((l) => l.msg === 'leading: the controller loops run on this replica' && Number(l.time) > Number(steppedDown[0]?.time), 30_000);
  expect(await controllerLease()).toMatchObject({ holderIdentity: leaseBefore.holderIdentity, leaseTransitions: leaseBefore.leaseTransitions });

  // Nothing twice: one Lease (the per-component lock was released), one Schedule, the two Backups made here.
  expect(await listNames(`/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`)).toEqual(['wutong-backup-controller']);
  expect(await listNames(`/apis/velero.io/v1/namespaces/${VELERO}/schedules`)).toEqual([scheduleName({ namespace: COMPONENT_NAMESPACE, serviceId: SERVICE_ID })]);
  expect(await backupNames()).toEqual([`${SERVICE_ID}-20261202010000`, `${SERVICE_ID}-20261202020000`]);
  expect(webhook.alive()).toBe(true);
  process.stderr.write(`[apiserver-outage] ${answers.length} reviews answered during the ${OUTAGE_MS / 1000} s outage; edited policy in force ${policyRecoveredMs} ms after the restart\n`);
});
