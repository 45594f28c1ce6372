// Backup before upgrade, the webhook's half: on an UPDATE of a protected
// Wutong StatefulSet or Deployment that changes its pod template, hold the
// rollout (StatefulSet: RollingUpdate partition = replicas, so no pod is
// replaced; Deployment: spec.paused) and record why in annotation
// backup.wutong.io/upgrade-hold. The controller takes the Backup and lets the
// rollout go (src/controller/upgrade-hold-loop.ts). Pure: the old and new
// objects and the policy in, JSON Patch operations out.
import type { Operation } from 'fast-json-patch';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { holdTime, readUpgradeHold, sameHold, upgradeHoldValue, type UpgradeHold } from '../components/upgrade-hold.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import { protectionFor } from '../controller/component-protection.js';
import type { CompiledPolicy } from '../policy/compiled-policy.js';
import { upgradeBackupName } from '../velero/object-names.js';
import { jsonEqual } from './json-equal.js';
import { INJECT_LABEL } from './mutate-pod.js';
import type { Container } from './pod.js';
import { isPvcVolume } from './volumes.js';
import type { Workload, WorkloadKind } from './workload.js';

export type HoldDecision =
  | { kind: 'skip'; reason: string }
  | {
      kind: 'hold';
      /** true: this update starts the hold; false: it keeps one already in force. */
      fresh: boolean;
      hold: UpgradeHold;
      /** Only the partition (or paused) and the record annotation; empty when the object already carries them. */
      ops: Operation[];
    };

const SERVICE_ID = /^[0-9a-f]{32}$/;
const HOLD_KEY_PATH = '/metadata/annotations/' + PROTECTION_ANNOTATION.upgradeHold.replace(/~/g, '~0').replace(/\//g, '~1');
const ROLLING_UPDATE = 'RollingUpdate';

const skip = (reason: string): HoldDecision => ({ kind: 'skip', reason });

function replicasOf(w: Workload): number {
  return typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1;
}

/** A StatefulSet without a type is RollingUpdate (the API server's default); only RollingUpdate honours a partition. */
function rollsByPartition(w: Workload): boolean {
  return (w.spec?.updateStrategy?.type ?? ROLLING_UPDATE) === ROLLING_UPDATE;
}

function partitionOf(w: Workload): number | null {
  const p = w.spec?.updateStrategy?.rollingUpdate?.partition;
  return typeof p === 'number' ? p : null;
}

/** A volume Velero's file-system backup would copy: a StatefulSet claim template, or a PVC volume of the pod template. */
function hasClaims(kind: WorkloadKind, w: Workload): boolean {
  if (kind === 'StatefulSet' && (w.spec?.volumeClaimTemplates ?? []).length > 0) return true;
  return (w.spec?.template?.spec?.volumes ?? []).some(isPvcVolume);
}

/** What the template change is, in a few words: Events, status and the Backup's description show it. */
export function describeTemplateChange(before: Workload, after: Workload): string {
  const oldContainers = new Map((before.spec?.template?.spec?.containers ?? []).map((c) => [c.name, c] as const));
  const changes: string[] = [];
  for (const c of after.spec?.template?.spec?.containers ?? []) {
    const was = oldContainers.get(c.name);
    if (!was) changes.push(`container ${c.name} added`);
    else if ((was.image ?? '') !== (c.image ?? '')) changes.push(`image ${was.image ?? ''} → ${c.image ?? ''}`);
    else if (!jsonEqual(was, c)) changes.push(`container ${c.name} changed`);
  }
  const newNames = new Set((after.spec?.template?.spec?.containers ?? []).map((c) => c.name));
  for (const name of oldContainers.keys()) if (!newNames.has(name)) changes.push(`container ${name} removed`);
  if (changes.length === 0) {
    const restartedAt = after.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    if (restartedAt !== undefined && restartedAt !== before.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']) return 'restart requested';
    return 'pod template changed';
  }
  return changes.length <= 2 ? changes.join(', ') : `${changes.slice(0, 2).join(', ')} and ${changes.length - 2} more`;
}

/** Why the workload can never be held, or undefined when a template change would hold it. */
function notHoldable(kind: WorkloadKind, w: Workload, policy: CompiledPolicy, namespace: string): string | undefined {
  const labels = w.metadata?.labels ?? {};
  // The controller watches only Wutong's workloads and finds them by their own service_id label: a hold on anything else would never be released.
  if (labels[WUTONG_LABEL.creator] !== WUTONG_CREATOR) return `not a Wutong workload (${WUTONG_LABEL.creator}!=${WUTONG_CREATOR})`;
  if (!SERVICE_ID.test(labels[WUTONG_LABEL.serviceId] ?? '')) return 'no valid service_id label on the workload';
  const templateLabels = w.spec?.template?.metadata?.labels ?? {};
  if (templateLabels[INJECT_LABEL] === 'false') return `pod template label ${INJECT_LABEL}=false`;
  for (const [key, value] of policy.podSelector) {
    if (templateLabels[key] !== value) return `pod template not selected: ${key}!=${value}`;
  }
  const containers: readonly Container[] = w.spec?.template?.spec?.containers ?? [];
  const protection = protectionFor(policy, namespace, templateLabels, containers);
  if (protection === undefined) return 'not protected by any rule';
  if (!protection.backupBeforeUpgrade) return `rule ${protection.rule} does not ask for backupBeforeUpgrade`;
  if (!hasClaims(kind, w)) return 'no persistent volume claims';
  if (kind === 'StatefulSet' && !rollsByPartition(w)) return `updateStrategy ${w.spec?.updateStrategy?.type ?? ''} is not RollingUpdate`;
  return undefined;
}

/**
 * The operations that make `w` carry the hold: partition = replicas (or
 * paused) and the record. `add` replaces a member that exists (RFC 6902
 * 4.1); a missing parent object is added whole, since adding below it fails.
 */
function holdOps(kind: WorkloadKind, w: Workload, hold: UpgradeHold): Operation[] {
  const ops: Operation[] = [];
  const value = upgradeHoldValue(hold);
  const annotations = w.metadata?.annotations;
  if (w.metadata === undefined) ops.push({ op: 'add', path: '/metadata', value: { annotations: { [PROTECTION_ANNOTATION.upgradeHold]: value } } });
  else if (annotations === undefined || annotations === null) ops.push({ op: 'add', path: '/metadata/annotations', value: { [PROTECTION_ANNOTATION.upgradeHold]: value } });
  else if (annotations[PROTECTION_ANNOTATION.upgradeHold] !== value) ops.push({ op: 'add', path: HOLD_KEY_PATH, value });
  if (kind === 'Deployment') {
    if (w.spec?.paused !== true) ops.push({ op: 'add', path: '/spec/paused', value: true });
  } else if (rollsByPartition(w)) {
    const held = replicasOf(w);
    const strategy = w.spec?.updateStrategy;
    if (strategy === undefined || strategy === null) ops.push({ op: 'add', path: '/spec/updateStrategy', value: { type: ROLLING_UPDATE, rollingUpdate: { partition: held } } });
    else if (strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) ops.push({ op: 'add', path: '/spec/updateStrategy/rollingUpdate', value: { partition: held } });
    else if (strategy.rollingUpdate.partition !== held) ops.push({ op: 'add', path: '/spec/updateStrategy/rollingUpdate/partition', value: held });
  }
  return ops;
}

/**
 * The user's rollout setting while a hold is in force: what the incoming
 * object says, unless that is our own held value (the previous version's,
 * or the one this update would get), in which case the record's stays.
 * Wutong's worker sends its whole object without our fields: its partition
 * (unset, or 0 after defaulting) is then the user's.
 */
function userSetting(kind: WorkloadKind, before: Workload, after: Workload, active: UpgradeHold): Pick<UpgradeHold, 'partition' | 'paused'> {
  if (kind === 'Deployment') return { paused: after.spec?.paused === true ? (active.paused ?? false) : false };
  const incoming = partitionOf(after);
  const ours = incoming !== null && (incoming === partitionOf(before) || incoming === replicasOf(after));
  return { partition: ours ? (active.partition ?? null) : incoming };
}

/**
 * Whether (and how) this UPDATE holds the workload's rollout, for a pure
 * admission answer. A hold in force on the old object is kept through any
 * update, Wutong's full rewrites included (same heldAt, same Backup: no
 * second backup for a second change), until the controller's release (the
 * record set to released for that hold). A workload that is not a Wutong
 * one, not protected with backupBeforeUpgrade, has no PVCs or no replicas
 * is never touched, not even annotated.
 */
export function holdDecision(kind: WorkloadKind, before: Workload, after: Workload, policy: CompiledPolicy, namespace: string, now: Date): HoldDecision {
  const previous = readUpgradeHold(before.metadata?.annotations?.[PROTECTION_ANNOTATION.upgradeHold]);
  const incoming = readUpgradeHold(after.metadata?.annotations?.[PROTECTION_ANNOTATION.upgradeHold]);
  if (previous?.state === 'held') {
    if (incoming?.state === 'released' && sameHold(incoming, previous)) return skip('the controller released the hold');
    const hold: UpgradeHold = { ...previous, ...userSetting(kind, before, after, previous) };
    return { kind: 'hold', fresh: false, hold, ops: holdOps(kind, after, hold) };
  }
  const reason = notHoldable(kind, after, policy, namespace);
  if (reason !== undefined) return skip(reason);
  if (jsonEqual(before.spec?.template, after.spec?.template)) return skip('pod template unchanged');
  if (replicasOf(after) <= 0) return skip('no replicas: nothing runs that a rollout would replace');
  const heldAt = holdTime(now);
  const hold: UpgradeHold = {
    state: 'held',
    heldAt,
    backup: upgradeBackupName({ namespace, serviceId: after.metadata?.labels?.[WUTONG_LABEL.serviceId] ?? '' }, new Date(heldAt)),
    reason: describeTemplateChange(before, after),
    ...(kind === 'Deployment' ? { paused: after.spec?.paused === true } : { partition: partitionOf(after) }),
  };
  return { kind: 'hold', fresh: true, hold, ops: holdOps(kind, after, hold) };
}
