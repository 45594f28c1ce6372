import type { ClaimSummary, ComponentSnapshot } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import { sweepDecision, type SweepInput } from '../../../src/holder/holder-sweep.js';
import type { HolderPodView } from '../../../src/holder/holder-view.js';
import type { BackupView, RestoreView } from '../../../src/velero/velero-views.js';
import { claimSummary, workloadSummary } from '../components/summaries.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const NOW = new Date('2026-12-02T08:10:00Z');
const holder: HolderPodView = {
  namespace: 'acme-prod',
  name: `wutong-backup-holder-${SID}`,
  uid: 'pod-uid',
  creationTimestamp: '2026-12-02T08:09:00Z',
  serviceId: SID,
  backupName: 'b1',
  phase: 'Running',
  claims: ['data-0'],
};
const meta = (name: string) => ({ name, namespace: 'velero', uid: name, resourceVersion: '1', creationTimestamp: '2026-12-02T08:09:00Z', labels: {}, annotations: {} });
const backup = (phase: string): BackupView => ({ metadata: meta('b1'), spec: {}, status: { phase } });
const restore = (phase: string): RestoreView => ({ metadata: meta('r1'), spec: { backupName: 'b0' }, status: { phase } });
const claim = (deletionTimestamp?: string): ClaimSummary =>
  claimSummary({ namespace: 'acme-prod', name: 'data-0', uid: 'c1', labels: {}, ...(deletionTimestamp ? { deletionTimestamp } : {}) });
const stopped: ComponentSnapshot = {
  key: componentKey('acme-prod', SID),
  serviceId: SID,
  namespace: 'acme-prod',
  ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0a1b2c' },
  labels: {},
  claims: [claim()],
  pods: [],
  runningPods: [],
  state: 'stopped',
};
const base: SweepInput = { holder, backup: backup('InProgress'), restore: undefined, component: stopped, now: NOW, backupGraceMs: 90_000, maxAgeMs: 6 * 3_600_000 };

test('kept while its Backup runs, checked again by the hard maximum at the latest', () => {
  const decision = sweepDecision(base);
  expect(decision.remove).toBe(false);
  expect(decision).toEqual({ remove: false, recheckAfterMs: 6 * 3_600_000 - 60_000 });
});

test.each(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Deleting'])('removed once its Backup is %s', (phase) => {
  expect(sweepDecision({ ...base, backup: backup(phase) })).toMatchObject({ remove: true, reason: 'backup-finished', message: expect.stringContaining(`Backup b1 is ${phase}`) as unknown });
});

test('a Backup that never came (a crash between holder and Backup): kept through the grace, removed after it', () => {
  expect(sweepDecision({ ...base, backup: undefined })).toEqual({ remove: false, recheckAfterMs: 30_000 });
  expect(sweepDecision({ ...base, backup: undefined, now: new Date('2026-12-02T08:10:30Z') })).toMatchObject({ remove: true, reason: 'orphaned' });
});

test('a restored holder (velero.io/restore-name) lives for its Restore, not for the Backup it was copied in', () => {
  const restored = { ...holder, restoreName: 'r1' };
  expect(sweepDecision({ ...base, holder: restored, backup: backup('Completed'), restore: restore('InProgress') }).remove).toBe(false);
  expect(sweepDecision({ ...base, holder: restored, backup: backup('Completed'), restore: restore('Completed') })).toMatchObject({ remove: true, reason: 'restore-finished' });
  expect(sweepDecision({ ...base, holder: restored, restore: restore('PartiallyFailed') })).toMatchObject({ remove: true, reason: 'restore-finished' });
  expect(sweepDecision({ ...base, holder: restored, restore: undefined })).toMatchObject({ remove: true, reason: 'orphaned' });
});

test('the component runs again (a workload, or a running pod): removed at once, whatever its Backup does', () => {
  const workload = workloadSummary({ namespace: 'acme-prod', name: 'gr0a1b2c', uid: 'w', labels: {} });
  expect(sweepDecision({ ...base, component: { ...stopped, workload, state: 'stopped' } })).toMatchObject({ remove: true, reason: 'component-started', message: expect.stringContaining('StatefulSet gr0a1b2c') as unknown });
  expect(sweepDecision({ ...base, component: { ...stopped, runningPods: ['gr0a1b2c-0'], state: 'running' } })).toMatchObject({ remove: true, reason: 'component-started' });
});

test('a PVC being deleted: removed at once (pvc-protection would keep the PVC while the holder runs); a PVC gone: after the grace', () => {
  expect(sweepDecision({ ...base, component: { ...stopped, claims: [claim('2026-12-02T08:09:59Z')] } })).toMatchObject({ remove: true, reason: 'orphaned', message: expect.stringContaining('data-0 is being deleted') as unknown });
  expect(sweepDecision({ ...base, component: undefined }).remove).toBe(false);
  expect(sweepDecision({ ...base, component: undefined, now: new Date('2026-12-02T08:11:00Z') })).toMatchObject({ remove: true, reason: 'orphaned', message: expect.stringContaining('data-0 is gone') as unknown });
});

test('never older than the hard maximum; one already being deleted is left to the kubelet', () => {
  expect(sweepDecision({ ...base, now: new Date('2026-12-02T14:09:00Z') })).toMatchObject({ remove: true, reason: 'expired' });
  expect(sweepDecision({ ...base, backup: backup('Completed'), holder: { ...holder, deletionTimestamp: '2026-12-02T08:09:59Z' } })).toEqual({ remove: false });
});

test('PVCs deleted while its backup runs: kept for that backup while the data guard waits, removed at the guard\'s deadline or once the backup is done', () => {
  const deletedAt = '2026-12-02T08:09:30Z';
  const deleting = { ...stopped, claims: [claim(deletedAt)] };
  const deadline = Date.parse(deletedAt) + 60_000;
  const guarded = { ...base, component: deleting, guardDeadline: () => deadline };
  expect(sweepDecision(guarded)).toEqual({ remove: false, recheckAfterMs: 30_000 });
  expect(sweepDecision({ ...guarded, now: new Date(deadline) })).toMatchObject({ remove: true, reason: 'orphaned', message: expect.stringContaining('data-0 is being deleted') as unknown });
  expect(sweepDecision({ ...guarded, backup: backup('Completed') })).toMatchObject({ remove: true, reason: 'backup-finished', message: expect.stringContaining('Backup b1 is Completed') as unknown });
  // Not guarded (no finalizer, no protection), or a restored holder: the PVC goes now.
  expect(sweepDecision({ ...guarded, guardDeadline: () => undefined })).toMatchObject({ remove: true, reason: 'orphaned' });
  expect(sweepDecision({ ...guarded, holder: { ...holder, restoreName: 'r1' }, restore: restore('InProgress') })).toMatchObject({ remove: true, reason: 'orphaned' });
});
