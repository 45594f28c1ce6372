import { electionTiming, nextStep, observe, releasedRecord, type LeaseRecord, type StoredLease } from '../../../src/controller/leader-election.js';

// The pure decisions: what a replica writes next, from the Lease it last saw
// and when (by its own clock) it saw it change.

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const T0 = Date.parse('2026-12-02T03:00:00Z');
const HOUR = 3_600_000;

const held = (holder: string, renewTime: number, resourceVersion: string): StoredLease => ({
  resourceVersion,
  record: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: new Date(renewTime), renewTime: new Date(renewTime), leaseTransitions: 3 },
});

describe('electionTiming', () => {
  test('accepts client-go defaults (15 s / 10 s / 2 s)', () => {
    expect(electionTiming(TIMING)).toEqual(TIMING);
  });

  test('refuses a renew deadline not shorter than the lease, naming both settings', () => {
    expect(() => electionTiming({ ...TIMING, renewDeadlineMs: 15_000 }, { lease: 'LEADER_ELECTION_LEASE', renew: 'LEADER_ELECTION_RENEW', retry: 'LEADER_ELECTION_RETRY' })).toThrow(
      'LEADER_ELECTION_RENEW (15000 ms) must be shorter than LEADER_ELECTION_LEASE (15000 ms)',
    );
  });

  test('refuses a retry period not shorter than the renew deadline, and zero or sub-second leases', () => {
    expect(() => electionTiming({ ...TIMING, retryPeriodMs: 10_000 })).toThrow('retryPeriod (10000 ms) must be shorter than renewDeadline (10000 ms)');
    expect(() => electionTiming({ ...TIMING, retryPeriodMs: 0 })).toThrow('retryPeriod must be longer than zero');
    expect(() => electionTiming({ leaseDurationMs: 900, renewDeadlineMs: 500, retryPeriodMs: 100 })).toThrow('leaseDuration must be at least 1s');
  });
});

describe('nextStep', () => {
  test('no Lease: create it, holding it for the lease duration in whole seconds', () => {
    const step = nextStep('me', undefined, { ...TIMING, leaseDurationMs: 15_500 }, T0);
    expect(step).toEqual({
      kind: 'create',
      record: { holderIdentity: 'me', leaseDurationSeconds: 16, acquireTime: new Date(T0), renewTime: new Date(T0), leaseTransitions: 0 },
    });
  });

  test('our own Lease: a renew that keeps acquireTime and the transition count', () => {
    const observation = observe(undefined, held('me', T0, '7'), T0);
    const step = nextStep('me', observation, TIMING, T0 + 2_000);
    expect(step).toMatchObject({ kind: 'update', resourceVersion: '7', takeover: false, record: { holderIdentity: 'me', acquireTime: new Date(T0), renewTime: new Date(T0 + 2_000), leaseTransitions: 3 } });
  });

  test("another's Lease is waited on until leaseDuration has passed since WE saw it change, then taken over", () => {
    const first = observe(undefined, held('other', T0, '7'), T0);
    expect(nextStep('me', first, TIMING, T0 + 14_999)).toEqual({ kind: 'wait', holder: 'other', expiresAt: T0 + 15_000 });
    expect(nextStep('me', first, TIMING, T0 + 15_000)).toMatchObject({ kind: 'update', takeover: true, resourceVersion: '7', record: { holderIdentity: 'me', leaseTransitions: 4 } });
  });

  test('a renew we observe restarts the wait; the same record seen again does not', () => {
    const first = observe(undefined, held('other', T0, '7'), T0);
    const unchanged = observe(first, held('other', T0, '7'), T0 + 10_000);
    expect(unchanged.observedAt).toBe(T0);
    const renewed = observe(unchanged, held('other', T0 + 10_000, '8'), T0 + 10_000);
    expect(renewed.observedAt).toBe(T0 + 10_000);
    expect(nextStep('me', renewed, TIMING, T0 + 20_000)).toMatchObject({ kind: 'wait', expiresAt: T0 + 25_000 });
  });

  test.each([
    ['1 h in the past', -HOUR],
    ['1 h in the future', HOUR],
  ])("clock skew: the holder's renewTime %s changes nothing", (_, skew) => {
    // The holder's clock is off by `skew`: its renewTime says so, ours is what counts.
    const seen = observe(undefined, held('other', T0 + skew, '7'), T0);
    expect(nextStep('me', seen, TIMING, T0 + 1_000)).toMatchObject({ kind: 'wait', expiresAt: T0 + 15_000 });
    expect(nextStep('me', seen, TIMING, T0 + 14_999)).toMatchObject({ kind: 'wait' });
    expect(nextStep('me', seen, TIMING, T0 + 15_000)).toMatchObject({ kind: 'update', takeover: true });
  });

  test('a released Lease (no holder) is taken at once, whatever its times say', () => {
    const released: StoredLease = { resourceVersion: '9', record: releasedRecord(held('other', T0, '8').record, T0) };
    expect(released.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 });
    expect(nextStep('me', observe(undefined, released, T0), TIMING, T0)).toMatchObject({ kind: 'update', takeover: true, resourceVersion: '9' });
  });

  test('a Lease without a duration is expired', () => {
    const record: LeaseRecord = { holderIdentity: 'other', leaseDurationSeconds: 0, acquireTime: undefined, renewTime: undefined, leaseTransitions: 0 };
    expect(nextStep('me', observe(undefined, { record, resourceVersion: '1' }, T0), TIMING, T0)).toMatchObject({ kind: 'update', takeover: true, record: { leaseTransitions: 1 } });
  });
});
