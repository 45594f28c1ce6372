import type { Logger } from 'pino';
import { leader as leaderGauge } from '../observability/metrics.js';
import { nextStep, observe, releasedRecord, type ElectionTiming, type LeaseRecord, type Observation, type StoredLease } from './leader-election.js';
import type { LeaderElector } from './leader-elector.js';

/** Reads and resourceVersion-checked writes of one Lease; each call rejects when no answer came within timeoutMs. */
export interface LeaseRecordStore {
  /** undefined: there is no such Lease. */
  get(timeoutMs: number): Promise<StoredLease | undefined>;
  /** 'conflict': it exists already (another replica created it first). */
  create(record: LeaseRecord, timeoutMs: number): Promise<StoredLease | 'conflict'>;
  /** 'conflict': resourceVersion is no longer the Lease's (someone else wrote it since), or it is gone. */
  update(record: LeaseRecord, resourceVersion: string, timeoutMs: number): Promise<StoredLease | 'conflict'>;
}

export interface LeaderElectorOptions {
  identity: string;
  timing: ElectionTiming;
  /** namespace/name of the Lease, for logs. */
  lease: string;
  /** This replica's clock in ms; the e2e test skews it. */
  now?: () => number;
  /** In [0, 1): candidates wait retryPeriod × (1 + 0.2 × random()), so replicas do not try in step (client-go's JitterFactor). */
  random?: () => number;
}

// A shutdown should not wait long on an API server that does not answer: the
// Lease then simply expires after leaseDuration.
const RELEASE_TIMEOUT_MS = 5_000;
const JITTER = 0.2;

/**
 * client-go's leader election loop over a LeaseRecordStore. The leader renews
 * every retryPeriod; it leads for renewDeadline from the START of its last
 * successful renew (a renew that answers late does not stretch it), and when
 * that passes it stops at once: a timer tells the listeners, and isLeader()
 * checks the clock itself in case the timer runs late. Every call's timeout
 * is the time left before that deadline, so a slow API server cannot keep a
 * renew pending past it. Since the deadline (10 s) is shorter than the lease
 * (15 s), which another replica counts from when IT saw our last renew land,
 * the loops here have stopped before anyone else may start them.
 */
export function createLeaderElector(store: LeaseRecordStore, options: LeaderElectorOptions, log: Logger): LeaderElector {
  const { identity, timing } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const context = { lease: options.lease, identity };
  const listeners = new Set<(leading: boolean) => void>();
  let running = false;
  let leading = false;
  let leadingUntil = 0;
  let observation: Observation | undefined;
  let reportedHolder: string | undefined;
  let nextTry: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  /** When the Lease another replica holds runs out by our observation: the next try is then, not a retry period later. */
  let waitingUntil: number | undefined;

  const setLeading = (value: boolean, reason: string): void => {
    if (leading === value) return;
    leading = value;
    if (!value) {
      clearTimeout(deadline);
      leadingUntil = 0;
    }
    leaderGauge.set(value ? 1 : 0);
    log.info({ ...context, reason }, value ? 'leading: the controller loops run on this replica' : 'stopped leading: the controller loops stop on this replica');
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch (err) {
        log.error({ ...context, err }, 'a leadership listener threw');
      }
    }
  };

  const reportHolder = (holder: string): void => {
    if (holder === reportedHolder) return;
    reportedHolder = holder;
    log.info({ ...context, holder: holder || '(released)' }, 'controller Lease holder observed');
  };

  const record = (lease: StoredLease): void => {
    observation = { lease, observedAt: now() };
    reportHolder(lease.record.holderIdentity);
  };

  /** Whether this replica holds the Lease after one try; rejects when the API server did not answer in time. */
  const acquireOrRenew = async (budget: () => number): Promise<boolean> => {
    // Fast path, as client-go's: the leader writes over the version it last wrote.
    if (leading && observation !== undefined) {
      const renew = nextStep(identity, observation, timing, now());
      if (renew.kind === 'update' && !renew.takeover) {
        const written = await store.update(renew.record, renew.resourceVersion, budget());
        if (written !== 'conflict') {
          record(written);
          return true;
        }
      }
    }
    const current = await store.get(budget());
    if (current === undefined) {
      const create = nextStep(identity, undefined, timing, now());
      if (create.kind !== 'create') return false;
      const created = await store.create(create.record, budget());
      if (created === 'conflict') return false;
      record(created);
      return true;
    }
    observation = observe(observation, current, now());
    reportHolder(current.record.holderIdentity);
    const step = nextStep(identity, observation, timing, now());
    if (step.kind === 'wait') waitingUntil = step.expiresAt;
    if (step.kind !== 'update') return false;
    const written = await store.update(step.record, step.resourceVersion, budget());
    if (written === 'conflict') return false;
    if (step.takeover) log.info({ ...context, previousHolder: current.record.holderIdentity || '(released)' }, 'took over the controller Lease');
    record(written);
    return true;
  };

  const tryOnce = async (): Promise<void> => {
    const started = now();
    const until = leading ? leadingUntil : started + timing.renewDeadlineMs;
    const budget = (): number => {
      const left = until - now();
      if (left <= 0) throw new Error('the renew deadline passed before the API server answered');
      return left;
    };
    const held = await acquireOrRenew(budget);
    if (!running) return;
    if (!held) {
      setLeading(false, `the Lease is held by ${observation?.lease.record.holderIdentity || 'another replica'}`);
      return;
    }
    const validUntil = started + timing.renewDeadlineMs;
    if (validUntil <= now()) return; // answered too late to count; the next try renews again
    leadingUntil = validUntil;
    clearTimeout(deadline);
    deadline = setTimeout(() => setLeading(false, 'no renew succeeded within the renew deadline'), validUntil - now());
    setLeading(true, 'acquired the controller Lease');
  };

  const delay = (): number => {
    if (leading) return timing.retryPeriodMs;
    const retry = timing.retryPeriodMs * (1 + JITTER * random());
    return waitingUntil === undefined ? retry : Math.min(retry, Math.max(0, waitingUntil - now()));
  };

  const loop = (): void => {
    if (!running) return;
    waitingUntil = undefined;
    attempt = tryOnce()
      .catch((err: unknown) => {
        log.warn({ ...context, leading, err: (err as Error).message }, leading ? 'renewing the controller Lease failed; retrying until the renew deadline' : 'trying the controller Lease failed; retrying');
      })
      .finally(() => {
        attempt = undefined;
        if (running) nextTry = setTimeout(loop, delay());
      });
  };

  const release = async (): Promise<void> => {
    // Two tries: our own renew may have landed just before, changing the resourceVersion.
    for (let tries = 0; tries < 2 && observation?.lease.record.holderIdentity === identity; tries++) {
      const { lease } = observation;
      try {
        const written = await store.update(releasedRecord(lease.record, now()), lease.resourceVersion, RELEASE_TIMEOUT_MS);
        if (written !== 'conflict') {
          record(written);
          log.info(context, 'released the controller Lease');
          return;
        }
        const current = await store.get(RELEASE_TIMEOUT_MS);
        if (current === undefined) return;
        observation = observe(observation, current, now());
      } catch (err) {
        log.warn({ ...context, err: (err as Error).message }, 'releasing the controller Lease failed; another replica takes it over once it expires');
        return;
      }
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop();
    },
    async stop() {
      if (!running) return;
      running = false;
      clearTimeout(nextTry);
      setLeading(false, 'stopping');
      await attempt;
      await release();
    },
    isLeader() {
      if (leading && now() >= leadingUntil) setLeading(false, 'no renew succeeded within the renew deadline');
      return leading;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
