// Leader election's decisions, as client-go's leaderelection package makes
// them (k8s.io/client-go/tools/leaderelection/leaderelection.go), with no I/O
// and no timers: what to write next, given the Lease this replica last saw
// and its own clock.
//
// The rule that makes it safe under clock skew: another replica's Lease is
// expired only when THIS replica's clock says leaseDuration has passed since
// THIS replica last saw the record change. The renewTime written in the Lease
// comes from the holder's clock and is never compared with ours; only its
// change (with the holder and the resourceVersion) counts, as a heartbeat.

/** The part of a coordination.k8s.io/v1 Lease that an election reads and writes. */
export interface LeaseRecord {
  /** '' when released: anyone may take it at once. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
}

/** A Lease as read from (or written to) the API server. */
export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** What this replica last saw of the Lease, and when it first saw it like that, by its own clock. */
export interface Observation {
  lease: StoredLease;
  observedAt: number;
}

export interface ElectionTiming {
  /** How long a candidate waits, from seeing the record change last, before taking it over. */
  leaseDurationMs: number;
  /** How long a leader keeps leading without a successful renew: it stops at once after that. */
  renewDeadlineMs: number;
  /** How often the leader renews, and a candidate tries. */
  retryPeriodMs: number;
}

/** The settings' names, for the error message (env variables in config.ts). */
export interface TimingNames {
  lease: string;
  renew: string;
  retry: string;
}

const OPTION_NAMES: TimingNames = { lease: 'leaseDuration', renew: 'renewDeadline', retry: 'retryPeriod' };

/**
 * The timing, checked. renewDeadline < leaseDuration is the guarantee itself:
 * a leader that cannot renew stops before any other replica may take over.
 * The Lease carries whole seconds, so leaseDuration must be at least 1 s.
 */
export function electionTiming(timing: ElectionTiming, names: TimingNames = OPTION_NAMES): ElectionTiming {
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = timing;
  for (const [name, ms] of [[names.lease, lease], [names.renew, renew], [names.retry, retry]] as const) {
    if (!Number.isFinite(ms) || ms <= 0) throw new Error(`${name} must be longer than zero, got ${ms} ms`);
  }
  if (lease < 1_000) throw new Error(`${names.lease} must be at least 1s (a Lease holds whole seconds), got ${lease} ms`);
  if (renew >= lease) {
    throw new Error(`${names.renew} (${renew} ms) must be shorter than ${names.lease} (${lease} ms): a leader that cannot renew must stop before another replica may take over`);
  }
  if (retry >= renew) throw new Error(`${names.retry} (${retry} ms) must be shorter than ${names.renew} (${renew} ms), or a leader would not retry a failed renew before its deadline`);
  return timing;
}

function sameRecord(a: StoredLease, b: StoredLease): boolean {
  return (
    a.resourceVersion === b.resourceVersion &&
    a.record.holderIdentity === b.record.holderIdentity &&
    a.record.renewTime?.getTime() === b.record.renewTime?.getTime()
  );
}

/** The new observation: its time moves only when the record changed since the last look. */
export function observe(previous: Observation | undefined, lease: StoredLease, now: number): Observation {
  return previous !== undefined && sameRecord(previous.lease, lease) ? previous : { lease, observedAt: now };
}

/** When, by this replica's clock, the observed holder's claim runs out. */
export function observedExpiry(observation: Observation): number {
  return observation.observedAt + observation.lease.record.leaseDurationSeconds * 1_000;
}

export type ElectionStep =
  /** No Lease yet: create it, holding it. */
  | { kind: 'create'; record: LeaseRecord }
  /** Write this record with a resourceVersion precondition: a renew of ours, or taking over a released or expired one. */
  | { kind: 'update'; record: LeaseRecord; resourceVersion: string; takeover: boolean }
  /** Someone else holds it and, as far as this replica has seen, still renews it. */
  | { kind: 'wait'; holder: string; expiresAt: number };

/**
 * The next write, from the Lease as last observed (undefined: there is none).
 * `now` is this replica's clock: it is written into the record (for people
 * reading the Lease) and compared only with observation times of this replica.
 */
export function nextStep(identity: string, observation: Observation | undefined, timing: ElectionTiming, now: number): ElectionStep {
  const at = new Date(now);
  const mine = (acquireTime: Date, leaseTransitions: number): LeaseRecord => ({
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1_000),
    acquireTime,
    renewTime: at,
    leaseTransitions,
  });
  if (observation === undefined) return { kind: 'create', record: mine(at, 0) };
  const { record, resourceVersion } = observation.lease;
  if (record.holderIdentity === identity) {
    return { kind: 'update', record: mine(record.acquireTime ?? at, record.leaseTransitions), resourceVersion, takeover: false };
  }
  const expiresAt = observedExpiry(observation);
  if (record.holderIdentity !== '' && expiresAt > now) return { kind: 'wait', holder: record.holderIdentity, expiresAt };
  return { kind: 'update', record: mine(at, record.leaseTransitions + 1), resourceVersion, takeover: true };
}

/** The record that gives the Lease up (client-go's ReleaseOnCancel): no holder, and a 1 s duration for any replica that still sees the old holder. */
export function releasedRecord(held: LeaseRecord, now: number): LeaseRecord {
  const at = new Date(now);
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at, renewTime: at, leaseTransitions: held.leaseTransitions };
}
