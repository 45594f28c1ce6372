import { jest } from '@jest/globals';
import { pino } from 'pino';
import type { LeaseRecord, StoredLease } from '../../../src/controller/leader-election.js';
import { createLeaderElector, type LeaseRecordStore } from '../../../src/controller/leader-election-loop.js';
import type { LeaderElector } from '../../../src/controller/leader-elector.js';
import { registry } from '../../../src/observability/metrics.js';

// The election loop on a fake clock (jest's timers) against an in-memory
// Lease store that behaves like the API server's resourceVersion checks and
// can be made to fail or answer slowly for one replica. The real API server,
// a black-holing proxy and a skewed replica are in test/e2e/leader-election.test.ts.

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const log = pino({ level: 'silent' });
const HOUR = 3_600_000;

class FakeLeaseStore {
  lease: StoredLease | undefined;
  private version = 0;
  writes = 0;

  write(record: LeaseRecord): StoredLease {
    this.writes++;
    this.lease = { record: { ...record }, resourceVersion: String(++this.version) };
    return this.lease;
  }

  /** One replica's connection to it: `reachable` false rejects at once, `delayMs` answers late (and times out like KubeHttp). */
  client(link: { reachable: boolean; delayMs: number }): LeaseRecordStore {
    const answer = <T>(timeoutMs: number, work: () => T): Promise<T> =>
      new Promise((resolve, reject) => {
        if (!link.reachable) {
          reject(new Error('connect ECONNREFUSED'));
          return;
        }
        if (link.delayMs > timeoutMs) {
          setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          return;
        }
        setTimeout(() => resolve(work()), link.delayMs);
      });
    return {
      get: (timeoutMs) => answer(timeoutMs, () => this.lease),
      create: (record, timeoutMs) => answer(timeoutMs, () => (this.lease ? 'conflict' : this.write(record))),
      update: (record, resourceVersion, timeoutMs) =>
        answer(timeoutMs, () => (this.lease?.resourceVersion !== resourceVersion ? 'conflict' : this.write(record))),
    };
  }
}

interface Replica {
  elector: LeaderElector;
  link: { reachable: boolean; delayMs: number };
  /** [time, leading] for every listener call. */
  changes: Array<[number, boolean]>;
}

let store: FakeLeaseStore;
const started: LeaderElector[] = [];

function replica(identity: string, now?: () => number, random?: () => number): Replica {
  const link = { reachable: true, delayMs: 5 };
  const elector = createLeaderElector(
    store.client(link),
    { identity, timing: TIMING, lease: 'ns/wutong-backup-controller', ...(now ? { now } : {}), ...(random ? { random } : {}) },
    log,
  );
  const changes: Array<[number, boolean]> = [];
  elector.subscribe((leading) => changes.push([Date.now(), leading]));
  started.push(elector);
  elector.start();
  return { elector, link, changes };
}

const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

/** Advances in 100 ms steps, checking after each that no two replicas lead at once. */
async function runChecked(ms: number, replicas: Replica[]): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    await advance(100);
    expect(replicas.filter((r) => r.elector.isLeader()).length).toBeLessThanOrEqual(1);
  }
}

beforeEach(() => {
  jest.useFakeTimers({ now: Date.parse('2026-12-02T03:00:00Z') });
  store = new FakeLeaseStore();
});

afterEach(async () => {
  for (const link of started) void link.stop();
  started.length = 0;
  await jest.runOnlyPendingTimersAsync();
  jest.useRealTimers();
});

test('acquires a free Lease at once, tells its listeners, and sets wutong_backup_leader', async () => {
  const a = replica('a');
  await advance(100);
  expect(a.elector.isLeader()).toBe(true);
  expect(a.changes).toEqual([[expect.any(Number), true]]);
  expect(store.lease?.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  expect(await registry.getSingleMetricAsString('wutong_backup_leader')).toMatch(/^wutong_backup_leader 1$/m);
});

test('the leader renews every retry period; another replica never acquires while it does', async () => {
  const a = replica('a');
  await advance(100);
  const b = replica('b');
  const writesBefore = store.writes;
  await runChecked(60_000, [a, b]);
  expect(a.elector.isLeader()).toBe(true);
  expect(b.changes).toEqual([]);
  // One renew per 2 s (a few ms of answer delay each).
  expect(store.writes - writesBefore).toBeGreaterThanOrEqual(28);
  expect(store.writes - writesBefore).toBeLessThanOrEqual(31);
});

test('a leader that cannot reach the API server stops within the renew deadline; the other takes over only after the lease duration', async () => {
  const a = replica('a');
  await advance(100);
  const b = replica('b');
  await advance(3_000);
  const lastRenew = store.lease?.record.renewTime?.getTime() ?? 0;
  a.link.reachable = false;
  await runChecked(30_000, [a, b]);
  const [stoppedAt, stopped] = a.changes[1] ?? [0, true];
  const [tookOverAt, leads] = b.changes[0] ?? [0, false];
  expect(stopped).toBe(false);
  expect(leads).toBe(true);
  // The last successful renew started at most a few ms before it landed.
  expect(stoppedAt - lastRenew).toBeLessThanOrEqual(10_000);
  expect(stoppedAt - lastRenew).toBeGreaterThanOrEqual(9_900);
  // b counts 15 s from when it saw a's last renew, and tries every 2-2.4 s.
  expect(tookOverAt - lastRenew).toBeGreaterThanOrEqual(15_000);
  expect(tookOverAt - lastRenew).toBeLessThanOrEqual(15_000 + 2_400 + 100);
  expect(tookOverAt).toBeGreaterThan(stoppedAt);
  expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
});

test('renew failures: listeners hear false at the renew deadline, well before the lease would expire elsewhere', async () => {
  const a = replica('a');
  await advance(100);
  const lastRenew = store.lease?.record.renewTime?.getTime() ?? 0;
  a.link.reachable = false;
  await advance(9_800);
  expect(a.elector.isLeader()).toBe(true);
  await advance(200);
  expect(a.elector.isLeader()).toBe(false);
  expect(a.changes.map(([, leading]) => leading)).toEqual([true, false]);
  expect((a.changes[1]?.[0] ?? 0) - lastRenew).toBeLessThan(15_000);
  expect(await registry.getSingleMetricAsString('wutong_backup_leader')).toMatch(/^wutong_backup_leader 0$/m);
});

test('a slow API server (answers after 12 s) makes the leader step down at 10 s, not when the answer would come', async () => {
  const a = replica('a');
  await advance(100);
  const lastRenew = store.lease?.record.renewTime?.getTime() ?? 0;
  a.link.delayMs = 12_000;
  await advance(9_850);
  expect(a.elector.isLeader()).toBe(true);
  await advance(100);
  expect(a.elector.isLeader()).toBe(false);
  const [stoppedAt] = a.changes[1] ?? [0];
  expect(stoppedAt - lastRenew).toBeLessThanOrEqual(10_000);
  // It keeps trying; once the API server answers in time again it leads again.
  a.link.delayMs = 5;
  await advance(3_000);
  expect(a.elector.isLeader()).toBe(true);
  expect(store.lease?.record.holderIdentity).toBe('a');
});

test.each([
  ['1 h behind', -HOUR],
  ['1 h ahead', HOUR],
])("clock skew: a replica whose clock is %s does not take a Lease that is being renewed, and takes it 15 s after renewals stop", async (_, skew) => {
  const skewed = (): number => Date.now() + skew;
  const a = replica('a');
  await advance(100);
  const b = replica('b', skewed);
  await runChecked(40_000, [a, b]);
  expect(b.changes).toEqual([]);
  // a's renewTime is written by a's clock; b's own is `skew` away from it.
  expect(Math.abs((store.lease?.record.renewTime?.getTime() ?? 0) - skewed())).toBeGreaterThan(HOUR - 5_000);

  const lastRenew = Date.now();
  a.link.reachable = false;
  await runChecked(20_000, [a, b]);
  const [tookOverAt] = b.changes[0] ?? [Number.NaN];
  expect(tookOverAt - lastRenew).toBeGreaterThanOrEqual(13_000);
  expect(tookOverAt - lastRenew).toBeLessThanOrEqual(17_600);
});

test("a Lease held by another replica's stale record (renewTime 1 h ago) is still waited on for a full lease duration from first sight", async () => {
  const past = new Date(Date.now() - HOUR);
  store.write({ holderIdentity: 'crashed', leaseDurationSeconds: 15, acquireTime: past, renewTime: past, leaseTransitions: 0 });
  const b = replica('b');
  await advance(14_000);
  expect(b.elector.isLeader()).toBe(false);
  await advance(3_500);
  expect(b.elector.isLeader()).toBe(true);
  expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
});

test('a candidate tries again the moment the Lease it waits on expires, not up to a retry period later', async () => {
  const past = new Date(Date.now() - HOUR);
  store.write({ holderIdentity: 'crashed', leaseDurationSeconds: 15, acquireTime: past, renewTime: past, leaseTransitions: 0 });
  // The longest jitter: tries 2.4 s apart would reach 15 s only at 16.8 s.
  const b = replica('b', undefined, () => 0.999);
  const startedAt = Date.now();
  await advance(17_000);
  const [tookOverAt] = b.changes[0] ?? [Number.NaN];
  expect(tookOverAt - startedAt).toBeGreaterThanOrEqual(15_000);
  expect(tookOverAt - startedAt).toBeLessThanOrEqual(15_100);
});

test('stop() tells listeners first, then releases the Lease so the other replica takes over within one retry', async () => {
  const a = replica('a');
  await advance(100);
  const b = replica('b');
  await advance(5_000);
  const stopping = a.elector.stop();
  expect(a.changes.at(-1)?.[1]).toBe(false);
  await advance(50);
  await stopping;
  expect(store.lease?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  const releasedAt = Date.now();
  await runChecked(3_000, [a, b]);
  expect(b.elector.isLeader()).toBe(true);
  expect((b.changes[0]?.[0] ?? Number.NaN) - releasedAt).toBeLessThanOrEqual(2_500);
});

test('two replicas started together: exactly one leads', async () => {
  const a = replica('a');
  const b = replica('b');
  await runChecked(10_000, [a, b]);
  expect([a, b].filter((r) => r.elector.isLeader())).toHaveLength(1);
});
