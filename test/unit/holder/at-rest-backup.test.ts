import { backUpAtRest, isAtRestBackup } from '../../../src/holder/at-rest-backup.js';
import { buildBackup } from '../../../src/velero/backup-object.js';
import { holderPod } from '../../../src/holder/holder-pod.js';
import { DEFAULT_BACKUP_TTL } from '../../../src/velero/backup-ttl.js';
import type { BackupView } from '../../../src/velero/velero-views.js';
import { atRestDeps, FakeCluster, FakeVelero, NS, SID } from './holder-fakes.js';

const HOLDER = `wutong-backup-holder-${SID}`;
const backup = (name = `${SID}-backup-20261202080000-abcd`) =>
  buildBackup({ name, veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: NS, ttl: DEFAULT_BACKUP_TTL, desc: 'before the move', operator: 'alice' });
const request = (name?: string) => ({ serviceId: SID, namespace: NS, backup: backup(name), earlier: (live: readonly BackupView[]) => live.find((b) => b.metadata.name === name) });

test('holder first (naming the Backup to come), the Backup once it runs, marked as data at rest; HolderStarted on the PVC', async () => {
  const cluster = new FakeCluster();
  const velero = new FakeVelero();
  const deps = atRestDeps(cluster, velero);
  const outcome = await backUpAtRest(deps, request());
  expect(outcome).toMatchObject({ kind: 'started', holder: HOLDER });
  if (outcome.kind !== 'started') throw new Error('unreachable');
  expect(isAtRestBackup(outcome.backup)).toBe(true);
  expect(velero.created[0]?.metadata.annotations?.['backup.wutong.io/data-state']).toBe('at-rest');
  const pod = cluster.pods.get(`${NS}/${HOLDER}`);
  expect((pod?.metadata.annotations as Record<string, string>)['backup.wutong.io/holder-backup']).toBe(outcome.backup.metadata.name);
  expect(cluster.calls.indexOf(`create ${HOLDER}`)).toBeGreaterThan(-1);
  expect(velero.remembered).toEqual([outcome.backup.metadata.name]);
  expect(deps.events.events).toEqual([expect.stringMatching(/^Normal HolderStarted PersistentVolumeClaim\/manual1001-gr0a1b2c-0: Holder pod .* started for Backup .*: mounts manual1001-gr0a1b2c-0 read-only/)]);
});

test('never a second: an unfinished backup, a holder already up, or a holder made in between by another replica each refuse; nothing is created', async () => {
  const velero = new FakeVelero();
  velero.put('running-one', 'InProgress');
  const cluster = new FakeCluster();
  expect(await backUpAtRest(atRestDeps(cluster, velero), request())).toMatchObject({ kind: 'unfinished', backup: { metadata: { name: 'running-one' } } });
  expect(cluster.pods.size).toBe(0);

  const idle = new FakeVelero();
  const busy = new FakeCluster();
  await busy.create(holderPod({ serviceId: SID, namespace: NS, componentLabels: {}, claims: [{ name: 'manual1001-gr0a1b2c-0', uid: 'u' }], backupName: 'other', image: 'wutong-backup:test' }));
  expect(await backUpAtRest(atRestDeps(busy, idle), request())).toEqual({ kind: 'holder-busy', holder: HOLDER, serving: 'backup other' });
  expect(idle.created).toEqual([]);
});

test('concurrent requests (lock released while the holder starts): exactly one Backup, the others meet the holder', async () => {
  const cluster = new FakeCluster();
  // The kubelet takes a while: the first request waits outside the lock, the others get in meanwhile.
  cluster.kubelet = (pod) => void setTimeout(() => (pod.status = { phase: 'Running' }), 30);
  const velero = new FakeVelero();
  const deps = atRestDeps(cluster, velero);
  const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => backUpAtRest(deps, request(`${SID}-backup-20261202080000-000${i}`))));
  expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
  expect(outcomes.filter((o) => o.kind === 'holder-busy' || o.kind === 'unfinished')).toHaveLength(4);
  expect(velero.created).toHaveLength(1);
});

test('a holder that does not run in time is deleted, says why, and no Backup is made', async () => {
  const cluster = new FakeCluster();
  cluster.kubelet = (pod) => {
    pod.status = { phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff', message: 'pull access denied' } } }] };
  };
  const velero = new FakeVelero();
  const outcome = await backUpAtRest(atRestDeps(cluster, velero, { settings: { holderStartTimeoutMs: 50, holderPollMs: 10 } }), request());
  expect(outcome).toEqual({ kind: 'not-running', holder: HOLDER, why: 'it was not Running within 50ms (Pending: ImagePullBackOff: pull access denied)' });
  expect(cluster.pods.size).toBe(0);
  expect(velero.created).toEqual([]);
});

test('a PVC being deleted cannot be mounted: refused before any holder; no PVC: nothing to back up', async () => {
  const cluster = new FakeCluster();
  cluster.claims = [{ ...cluster.claims[0]!, deletionTimestamp: '2026-12-02T08:00:00Z' }];
  expect(await backUpAtRest(atRestDeps(cluster, new FakeVelero()), request())).toEqual({ kind: 'claims-deleting', claim: 'manual1001-gr0a1b2c-0' });
  cluster.claims = [];
  expect(await backUpAtRest(atRestDeps(cluster, new FakeVelero()), request())).toEqual({ kind: 'no-claims' });
  expect(cluster.pods.size).toBe(0);
});

test('an earlier try of the same request (its Backup exists) is answered with it; a failed Backup create removes the holder', async () => {
  const velero = new FakeVelero();
  velero.put('same', 'Completed');
  const cluster = new FakeCluster();
  expect(await backUpAtRest(atRestDeps(cluster, velero), request('same'))).toMatchObject({ kind: 'earlier', backup: { metadata: { name: 'same' } } });
  expect(cluster.pods.size).toBe(0);

  const failing = new FakeVelero();
  failing.store.create = () => Promise.reject(new Error('admission webhook denied it'));
  await expect(backUpAtRest(atRestDeps(cluster, failing), request())).rejects.toThrow('admission webhook denied it');
  expect(cluster.pods.size).toBe(0);
});

test('another namespace\'s Backups with the same service_id label are not this component\'s: an unfinished one there blocks nothing', async () => {
  const velero = new FakeVelero();
  velero.put('theirs-running', 'InProgress', {}, 'mallory-dev');
  velero.put('theirs-done', 'Completed', {}, 'mallory-dev');
  const cluster = new FakeCluster();
  const outcome = await backUpAtRest(atRestDeps(cluster, velero), { ...request('fresh'), earlier: (live: readonly BackupView[]) => live.find((b) => b.metadata.name === 'theirs-done') });
  expect(outcome).toMatchObject({ kind: 'started', backup: { metadata: { name: 'fresh' } } });
  expect(velero.created.map((b) => b.metadata.name)).toEqual(['fresh']);
});
