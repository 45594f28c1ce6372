import type { WorkloadSummary } from '../../../src/components/component-registry.js';
import { activeHold, readUpgradeHold, upgradeHoldValue, type UpgradeHold } from '../../../src/components/upgrade-hold.js';
import type { ComponentProtection } from '../../../src/controller/component-protection.js';
import { releasePatch } from '../../../src/controller/upgrade-hold-loop.js';
import { holdStep, releasedHold } from '../../../src/controller/upgrade-hold-plan.js';
import { parseBackupTtl } from '../../../src/velero/backup-ttl.js';
import type { BackupView } from '../../../src/velero/velero-views.js';

const HOLD: UpgradeHold = {
  state: 'held',
  heldAt: '2026-12-02T08:00:00Z',
  backup: '0123456789abcdef0123456789abcdef-upgrade-20261202080000',
  reason: 'image mysql:8.0.36 → mysql:8.0.37',
  partition: null,
};
const PROTECTED: ComponentProtection = {
  rule: 'db',
  schedule: '@daily',
  ttl: parseBackupTtl('30d')!,
  backupBeforeUpgrade: true,
  upgradeHoldLimitMs: 15 * 60_000,
  backupOnStop: false,
  deletionHoldLimitMs: 5 * 60_000,
};
const at = (seconds: number): Date => new Date(Date.parse(HOLD.heldAt) + seconds * 1000);
const WHAT = 'StatefulSet shop/gr1234';

function backup(phase: string | undefined, extra: Partial<BackupView['status']> = {}, deleting = false): BackupView {
  return {
    metadata: {
      name: HOLD.backup,
      namespace: 'velero',
      uid: 'u',
      resourceVersion: '1',
      creationTimestamp: HOLD.heldAt,
      labels: {},
      annotations: {},
      ...(deleting ? { deletionTimestamp: '2026-12-02T08:01:00Z' } : {}),
    },
    spec: {},
    status: { ...(phase !== undefined ? { phase } : {}), ...extra },
  };
}

describe('holdStep: what the controller does about a held rollout', () => {
  test('no Backup yet: take it, and look again no later than the bound', () => {
    expect(holdStep(HOLD, PROTECTED, undefined, at(5), WHAT)).toEqual({ kind: 'backup', desc: `before upgrade: ${HOLD.reason}`, recheckAfterMs: 895_000 });
  });

  test.each([[undefined], ['New'], ['InProgress'], ['Finalizing'], ['WaitingForPluginOperations']])('a Backup in phase %s: wait, up to the bound', (phase) => {
    expect(holdStep(HOLD, PROTECTED, backup(phase), at(60), WHAT)).toEqual({ kind: 'wait', recheckAfterMs: 840_000 });
  });

  test('Completed: released, Normal UpgradeReleased, saying how long it took', () => {
    expect(holdStep(HOLD, PROTECTED, backup('Completed'), at(42), WHAT)).toEqual({
      kind: 'release',
      outcome: 'completed',
      type: 'Normal',
      reason: 'UpgradeReleased',
      message: `released the rollout of ${WHAT} (${HOLD.reason}): Backup ${HOLD.backup} completed, 42s after the hold`,
    });
  });

  test('Completed wins even past the bound (the rollout waited for a backup that exists)', () => {
    expect(holdStep(HOLD, PROTECTED, backup('Completed'), at(3600), WHAT)).toMatchObject({ outcome: 'completed' });
  });

  test.each([['Failed'], ['PartiallyFailed'], ['FailedValidation'], ['Deleting']])('%s: released at once without a backup, Warning UpgradeBackupFailed', (phase) => {
    const step = holdStep(HOLD, PROTECTED, backup(phase, { failureReason: 'object store unreachable' }), at(10), WHAT);
    expect(step).toMatchObject({ kind: 'release', outcome: 'failed', type: 'Warning', reason: 'UpgradeBackupFailed' });
    expect(step.kind === 'release' && step.message).toBe(
      `released the rollout of ${WHAT} (${HOLD.reason}) WITHOUT a backup: Backup ${HOLD.backup} ended ${phase}: object store unreachable (velero backup describe ${HOLD.backup} --details)`,
    );
  });

  test('a Backup being deleted will never complete: released as failed', () => {
    expect(holdStep(HOLD, PROTECTED, backup('InProgress', {}, true), at(10), WHAT)).toMatchObject({ outcome: 'failed' });
  });

  test('the bound passed with the Backup still running: released, Warning UpgradeHoldExpired; the Backup is left running', () => {
    const step = holdStep(HOLD, PROTECTED, backup('InProgress'), at(900), WHAT);
    expect(step).toEqual({
      kind: 'release',
      outcome: 'expired',
      type: 'Warning',
      reason: 'UpgradeHoldExpired',
      message: `released the rollout of ${WHAT} (${HOLD.reason}) WITHOUT a backup: Backup ${HOLD.backup} is still InProgress after the hold limit of 15m; it goes on running`,
    });
  });

  test('the bound passed before any Backup was made (the controller was down): released, never a late backup', () => {
    expect(holdStep(HOLD, PROTECTED, undefined, at(901), WHAT)).toMatchObject({
      kind: 'release',
      outcome: 'expired',
      message: `released the rollout of ${WHAT} (${HOLD.reason}) WITHOUT a backup: no Backup was made within the hold limit of 15m (was the controller down?)`,
    });
  });

  test('the policy no longer asks for it (or no rule protects the component): released at once', () => {
    expect(holdStep(HOLD, { ...PROTECTED, backupBeforeUpgrade: false }, backup('InProgress'), at(1), WHAT)).toMatchObject({ kind: 'release', outcome: 'unprotected', type: 'Normal' });
    expect(holdStep(HOLD, undefined, undefined, at(1), WHAT)).toMatchObject({ kind: 'release', outcome: 'unprotected' });
  });

  test('a shorter bound from the rule counts', () => {
    expect(holdStep(HOLD, { ...PROTECTED, upgradeHoldLimitMs: 20_000 }, backup('InProgress'), at(20), WHAT)).toMatchObject({ outcome: 'expired' });
    expect(holdStep(HOLD, { ...PROTECTED, upgradeHoldLimitMs: 20_000 }, backup('InProgress'), at(19), WHAT)).toEqual({ kind: 'wait', recheckAfterMs: 1_000 });
  });
});

function workload(rollout: WorkloadSummary['rollout'], hold = HOLD): WorkloadSummary {
  return {
    kind: rollout.kind,
    namespace: 'shop',
    name: 'gr1234',
    uid: 'w',
    labels: {},
    resourceVersion: '77',
    annotations: { 'backup.wutong.io/upgrade-hold': upgradeHoldValue(hold) },
    replicas: 2,
    template: { labels: {}, containers: [] },
    rollout,
  };
}

describe('the release', () => {
  const released = releasedHold(HOLD, 'completed', new Date('2026-12-02T08:01:02.345Z'));

  test('the record keeps the hold (heldAt, Backup) and says how and when it ended', () => {
    expect(released).toEqual({ ...HOLD, state: 'released', outcome: 'completed', releasedAt: '2026-12-02T08:01:02Z' });
    expect(readUpgradeHold(upgradeHoldValue(released))).toEqual(released);
  });

  test('a StatefulSet gets its partition back; null removes a partition the user never set', () => {
    const annotations = { 'backup.wutong.io/upgrade-hold': upgradeHoldValue(released) };
    expect(releasePatch(workload({ kind: 'StatefulSet', rollingUpdate: true, partition: 2 }), released)).toEqual({
      metadata: { annotations },
      spec: { updateStrategy: { rollingUpdate: { partition: null } } },
    });
    const mine = { ...released, partition: 1 };
    expect(releasePatch(workload({ kind: 'StatefulSet', rollingUpdate: true, partition: 2 }), mine)).toMatchObject({ spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } });
  });

  test('a StatefulSet switched to OnDelete meanwhile: only the record (a rollingUpdate would be refused)', () => {
    expect(releasePatch(workload({ kind: 'StatefulSet', rollingUpdate: false, partition: null }), released)).toEqual({ metadata: { annotations: { 'backup.wutong.io/upgrade-hold': upgradeHoldValue(released) } } });
  });

  test('a Deployment gets its paused back', () => {
    expect(releasePatch(workload({ kind: 'Deployment', paused: true }), { ...released, paused: false })).toMatchObject({ spec: { paused: false } });
    expect(releasePatch(workload({ kind: 'Deployment', paused: true }), { ...released, paused: true })).toMatchObject({ spec: { paused: true } });
  });

  test('activeHold: only a held record on the workload counts', () => {
    expect(activeHold(workload({ kind: 'Deployment', paused: true }))).toEqual(HOLD);
    expect(activeHold(workload({ kind: 'Deployment', paused: true }, released))).toBeUndefined();
    expect(activeHold(undefined)).toBeUndefined();
  });
});

describe('the hold record', () => {
  test.each([
    ['not JSON', '{'],
    ['an unknown state', JSON.stringify({ ...HOLD, state: 'paused' })],
    ['no Backup name', JSON.stringify({ ...HOLD, backup: '' })],
    ['a bad time', JSON.stringify({ ...HOLD, heldAt: 'yesterday' })],
    ['a negative partition', JSON.stringify({ ...HOLD, partition: -1 })],
    ['an unknown outcome', JSON.stringify({ ...HOLD, outcome: 'maybe' })],
    ['an array', '[]'],
  ])('%s is no record', (_what, value) => {
    expect(readUpgradeHold(value)).toBeUndefined();
  });

  test('the value has a fixed key order, so the same hold is the same string', () => {
    expect(upgradeHoldValue({ reason: 'r', backup: 'b', heldAt: '2026-12-02T08:00:00Z', state: 'held', paused: false })).toBe(
      '{"state":"held","heldAt":"2026-12-02T08:00:00Z","backup":"b","reason":"r","paused":false}',
    );
  });
});
