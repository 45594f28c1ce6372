// The record of one upgrade hold, kept as JSON in annotation
// backup.wutong.io/upgrade-hold on the StatefulSet or Deployment itself: the
// webhook writes it when it holds a rollout, the controller rewrites it when
// it lets the rollout go. It is the only state a hold has, so a restarted
// controller (or another leader) picks up exactly where the last one was.
// Wutong's worker rewrites workloads in full, which drops the annotation: the
// webhook puts it back from the previous version of the object (see
// src/admission/hold-decision.ts), so the record outlives those updates.
import { isObject } from '../is-object.js';
import { PROTECTION_ANNOTATION } from './protection-keys.js';

/** How a hold ended; also the `outcome` label of wutong_backup_upgrade_hold_releases_total. */
export type HoldOutcome = 'completed' | 'failed' | 'expired' | 'unprotected';

export const HOLD_OUTCOMES: readonly HoldOutcome[] = ['completed', 'failed', 'expired', 'unprotected'];

export interface UpgradeHold {
  /** held: the rollout waits; released: the controller let it go (outcome says why). */
  state: 'held' | 'released';
  /** When the webhook held it (RFC 3339, whole seconds): the bound counts from here, and the Backup's name carries it. */
  heldAt: string;
  /** The Backup taken before the rollout: upgradeBackupName(service_id, heldAt). */
  backup: string;
  /** What changed, e.g. "image mysql:8.0.36 → mysql:8.0.37": for Events, status and the Backup's description. */
  reason: string;
  /** StatefulSet: the user's spec.updateStrategy.rollingUpdate.partition before the hold (null: unset), restored on release. */
  partition?: number | null;
  /** Deployment: the user's spec.paused before the hold, restored on release. */
  paused?: boolean;
  outcome?: HoldOutcome;
  /** When the controller released it (RFC 3339). */
  releasedAt?: string;
}

/** The record's annotation value: fixed key order, so the same record is always the same string (no spurious patch). */
export function upgradeHoldValue(hold: UpgradeHold): string {
  const ordered: Record<string, unknown> = { state: hold.state, heldAt: hold.heldAt, backup: hold.backup, reason: hold.reason };
  if (hold.partition !== undefined) ordered.partition = hold.partition;
  if (hold.paused !== undefined) ordered.paused = hold.paused;
  if (hold.outcome !== undefined) ordered.outcome = hold.outcome;
  if (hold.releasedAt !== undefined) ordered.releasedAt = hold.releasedAt;
  return JSON.stringify(ordered);
}

const isPartition = (value: unknown): value is number | null => value === null || (Number.isInteger(value) && (value as number) >= 0);

/** The record in an annotation value; undefined when absent or not one we wrote (a hand edit that broke it is no hold). */
export function readUpgradeHold(value: string | undefined): UpgradeHold | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  const { state, heldAt, backup, reason, partition, paused, outcome, releasedAt } = parsed;
  if (state !== 'held' && state !== 'released') return undefined;
  if (typeof heldAt !== 'string' || !Number.isFinite(Date.parse(heldAt)) || typeof backup !== 'string' || backup === '') return undefined;
  if (typeof reason !== 'string') return undefined;
  if (partition !== undefined && !isPartition(partition)) return undefined;
  if (paused !== undefined && typeof paused !== 'boolean') return undefined;
  if (outcome !== undefined && !HOLD_OUTCOMES.includes(outcome as HoldOutcome)) return undefined;
  if (releasedAt !== undefined && typeof releasedAt !== 'string') return undefined;
  return {
    state,
    heldAt,
    backup,
    reason,
    ...(partition !== undefined ? { partition } : {}),
    ...(paused !== undefined ? { paused } : {}),
    ...(outcome !== undefined ? { outcome: outcome as HoldOutcome } : {}),
    ...(releasedAt !== undefined ? { releasedAt } : {}),
  };
}

/** Whether two records are the same hold (the release of a hold names it by these). */
export function sameHold(a: UpgradeHold, b: UpgradeHold): boolean {
  return a.heldAt === b.heldAt && a.backup === b.backup;
}

/** Whole seconds, as the Backup's name carries them. */
export function holdTime(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The hold in force on a workload (its summary's annotations), if any. */
export function activeHold(workload: { annotations: Readonly<Record<string, string>> } | undefined): UpgradeHold | undefined {
  const hold = readUpgradeHold(workload?.annotations[PROTECTION_ANNOTATION.upgradeHold]);
  return hold?.state === 'held' ? hold : undefined;
}
