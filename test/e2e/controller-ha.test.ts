/**
 * Two replicas of the shipped installation, under its ServiceAccount, with a
 * policy that protects the testbed's component: only the elected replica's
 * loops act; SIGKILL of the leader (no shutdown code runs, its Lease is not
 * released) hands the loops over within 20 s; the new leader carries on
 * (it pauses the Schedule when the component stops) and nothing is
 * duplicated on the way.
 */
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { SHIPPED, setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { stopWutongComponent } from './support/wutong-component.js';

const SERVICE_ID = 'c0ffee0000000000000000000000000a';
const ALIAS = 'grha0001';
const LEADING = 'leading: controller loops started';

const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: ha-db
    profile: mysql
    match: { labels: { service_alias: ${ALIAS} } }
    protection: { schedule: "0 3 * * *", ttl: 7d, keep: 3 }
`;

let bed: BackupApiTestbed;

beforeAll(async () => {
  bed = await startBackupApiTestbed({
    suite: 'controller-ha',
    serviceId: SERVICE_ID,
    alias: ALIAS,
    replicaCount: 2,
    replicaEnv: { LEADER_ELECTION_LEASE: '15s', LEADER_ELECTION_RENEW: '10s', LEADER_ELECTION_RETRY: '2s' },
    beforeReplicas: () => setShippedPolicy(POLICY),
  });
}, 240_000);

afterAll(async () => {
  await bed?.stop();
}, 120_000);

const leads = (replica: WebhookProcess): boolean => replica.logs.some((l) => l.msg === LEADING);
const schedules = (): Promise<unknown[]> => bed.veleroObjects('schedules', `wutong.io/service_id=${SERVICE_ID}`);

async function leaseHolder(): Promise<string> {
  const res = await apiRequest(clusterInfo(), 'GET', `/apis/coordination.k8s.io/v1/namespaces/${SHIPPED.namespace}/leases/wutong-backup-controller`);
  return res.status === 200 ? ((res.json as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? '') : '';
}

test('exactly one replica leads, and its loops give the protected component exactly one Schedule', async () => {
  await eventually(() => Promise.resolve(bed.replicas.filter(leads).length === 1 ? true : undefined), 'one replica leading', 30_000);
  const created = await eventually(async () => {
    const found = await schedules();
    return found.length > 0 ? found : undefined;
  }, 'a Schedule for the protected component', 30_000);
  expect(created).toHaveLength(1);
  expect(await leaseHolder()).not.toBe('');
  // The follower never started its loops.
  expect(bed.replicas.filter(leads)).toHaveLength(1);
}, 90_000);

test('SIGKILL of the leader hands over within 20 s; the new leader acts (pauses the Schedule on a stop) and nothing is duplicated', async () => {
  const leader = bed.replicas.find(leads);
  const follower = bed.replicas.find((r) => !leads(r));
  if (!leader || !follower) throw new Error('expected one leader and one follower');
  const holderBefore = await leaseHolder();
  const killedAt = Date.now();
  await leader.kill('SIGKILL');
  await follower.waitForLog((l) => l.msg === LEADING, 30_000);
  const handover = Date.now() - killedAt;
  expect(handover).toBeLessThan(20_000);
  expect(await leaseHolder()).not.toBe(holderBefore);

  await stopWutongComponent(bed.apps, bed.core, bed.component);
  await eventually(async () => {
    const [schedule] = (await schedules()) as Array<{ spec?: { paused?: boolean } }>;
    return schedule?.spec?.paused === true ? true : undefined;
  }, 'the Schedule paused by the new leader', 30_000);
  expect(await schedules()).toHaveLength(1);
  expect(await bed.veleroObjects('backups', `wutong.io/service_id=${SERVICE_ID}`)).toHaveLength(0);
}, 120_000);
