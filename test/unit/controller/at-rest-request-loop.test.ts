import { atRestRequestLoop, type AtRestRequestDeps } from '../../../src/controller/at-rest-request-loop.js';
import { atRestRequestName, atRestRequestObject, handoffTimes, type AtRestHandoff } from '../../../src/holder/at-rest-request.js';
import { buildBackup } from '../../../src/velero/backup-object.js';
import { DEFAULT_BACKUP_TTL } from '../../../src/velero/backup-ttl.js';
import { atRestRequestLoopDeps, FakeRequestRecords } from '../holder/at-rest-request-fakes.js';
import { FakeCluster, FakeVelero, NS, SID } from '../holder/holder-fakes.js';

const REQUESTED = new Date('2026-12-02T08:00:00.000Z');
const HOLDER = `wutong-backup-holder-${SID}`;

function harness() {
  const cluster = new FakeCluster();
  const velero = new FakeVelero();
  const records = new FakeRequestRecords();
  const clock = { now: new Date(REQUESTED.getTime() + 1_000) };
  const deps: AtRestRequestDeps = atRestRequestLoopDeps(records, cluster, velero, () => clock.now);
  const loop = atRestRequestLoop(deps, 300_000);
  const unwatch = loop.watch();
  loop.queue.start();
  const request = (name: string, over: Partial<AtRestHandoff> = {}): string => {
    const backup = buildBackup({ name, veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: NS, ttl: DEFAULT_BACKUP_TTL, desc: 'd', operator: 'alice' });
    const record = atRestRequestName(name, undefined);
    void records.create(atRestRequestObject(record, { component: { namespace: NS, serviceId: SID }, backup, ...handoffTimes(REQUESTED, 60_000), ...over }));
    return record;
  };
  /** Every key once more, as a resync or a new leader does. */
  const resync = async (): Promise<void> => {
    for (const key of loop.keys()) loop.queue.add(key);
    await loop.queue.idle();
  };
  return { cluster, velero, records, clock, loop, request, resync, stop: () => (unwatch(), loop.queue.stop()) };
}

test('a request is run once: the holder, the Backup, and the outcome written into the record; a resync or a new leader runs nothing again', async () => {
  const h = harness();
  const name = h.request(`${SID}-backup-20261202080000-abcd`);
  await h.loop.queue.idle();
  expect(h.records.index.get(name)?.decision?.outcome).toMatchObject({ kind: 'started', holder: HOLDER, backup: { metadata: { name: `${SID}-backup-20261202080000-abcd` } } });
  expect(h.velero.created.map((b) => b.metadata.name)).toEqual([`${SID}-backup-20261202080000-abcd`]);
  await h.resync();
  expect(h.velero.created).toHaveLength(1);
  expect(h.cluster.calls.filter((c) => c.startsWith('create'))).toEqual([`create ${HOLDER}`]);
  expect(h.records.calls.filter((c) => c.startsWith('patch'))).toEqual([`patch ${name}`]);
  h.stop();
});

test('a leader that died after the Backup but before the outcome: the next run meets its Backup (earlier) and writes that, no second Backup', async () => {
  const h = harness();
  h.velero.put(`${SID}-backup-20261202080000-abcd`, 'InProgress');
  const name = h.request(`${SID}-backup-20261202080000-abcd`);
  await h.loop.queue.idle();
  expect(h.records.index.get(name)?.decision?.outcome).toMatchObject({ kind: 'earlier', backup: { metadata: { name: `${SID}-backup-20261202080000-abcd` } } });
  expect(h.velero.created).toEqual([]);
  expect(h.cluster.pods.size).toBe(0);
  h.stop();
});

test('past its startBy without an outcome: expired, nothing created, and never acted on afterwards', async () => {
  const h = harness();
  h.clock.now = new Date(REQUESTED.getTime() + 16_000);
  const name = h.request(`${SID}-backup-20261202080000-abcd`);
  await h.loop.queue.idle();
  expect(h.records.index.get(name)?.decision?.outcome).toEqual({ kind: 'expired' });
  await h.resync();
  expect(h.cluster.calls).toEqual([]);
  expect(h.velero.created).toEqual([]);
  h.stop();
});

test('an invalid record is refused with the reason and nothing is created: another namespace, not a tenant env, hooks', async () => {
  const h = harness();
  const backup = buildBackup({ name: 'forged', veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: 'kube-system', ttl: DEFAULT_BACKUP_TTL, desc: 'd', operator: 'x' });
  const scoped = h.request('other-scope', { backup });
  const foreign = h.request('foreign', { component: { namespace: 'kube-system', serviceId: SID } });
  const hooked = buildBackup({ name: 'hooked', veleroNamespace: 'velero', storageLocation: 'default', serviceId: SID, componentNamespace: NS, ttl: DEFAULT_BACKUP_TTL, desc: 'd', operator: 'x' });
  const withHooks = h.request('hooked', { backup: { ...hooked, spec: { ...hooked.spec, hooks: { resources: [] } } } });
  await h.loop.queue.idle();
  expect(h.records.index.get(scoped)?.decision?.outcome).toEqual({ kind: 'refused', why: `its Backup's scope (kube-system/${SID}) is not the component ${NS}/${SID}` });
  expect(h.records.index.get(foreign)?.decision?.outcome).toEqual({ kind: 'refused', why: 'namespace kube-system is not a tenant env' });
  expect(h.records.index.get(withHooks)?.decision?.outcome).toMatchObject({ kind: 'refused', why: expect.stringMatching(/spec\.hooks/) as unknown });
  expect(h.cluster.calls).toEqual([]);
  expect(h.velero.created).toEqual([]);
  h.stop();
});

test('the outcome is written only on the version it was decided on: a record changed meanwhile is decided again from its new version', async () => {
  const h = harness();
  // The watch lags: the loop decides on a version that is no longer current.
  h.records.watching = false;
  const name = h.request(`${SID}-backup-20261202080000-abcd`);
  h.records.watching = true;
  h.records.touch(name);
  h.records.watching = false;
  h.records.touch(name);
  await h.loop.queue.idle();
  expect(h.records.calls.filter((c) => c.startsWith('patch'))).toEqual([`patch ${name}`]);
  expect(h.records.records.get(name)?.data.outcome).toBeUndefined();
  // The watch brings the current version: decided from it, the repeat answered as the Backup made a moment ago.
  h.records.watching = true;
  h.records.touch(name);
  await h.loop.queue.idle();
  expect(h.records.index.get(name)?.decision?.outcome).toMatchObject({ kind: 'earlier' });
  expect(h.velero.created).toHaveLength(1);
  h.stop();
});

test('a decided record is deleted once kept for keepMs, and not before', async () => {
  const h = harness();
  const name = h.request(`${SID}-backup-20261202080000-abcd`);
  await h.loop.queue.idle();
  h.clock.now = new Date(h.clock.now.getTime() + 599_000);
  await h.resync();
  expect(h.records.records.has(name)).toBe(true);
  h.clock.now = new Date(h.clock.now.getTime() + 2_000);
  await h.resync();
  expect(h.records.records.has(name)).toBe(false);
  expect(h.records.index.names()).toEqual([]);
  h.stop();
});
