import type { ClaimSummary, ComponentSnapshot, PodRecord } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import type { RestoreProgress, RestoreRequest, RestoreRequestRecord } from '../../../src/restore/restore-request.js';
import { RESTORE_RECHECK_MS, restoreStep, type RestoreWorld } from '../../../src/restore/restore-step.js';
import { viewBackup, viewPodVolumeBackup, viewPodVolumeRestore, viewRestore, type BackupView, type PodVolumeBackupView } from '../../../src/velero/velero-views.js';

// The order of a restore that replaces, step by step, as the controller
// decides it (src/restore/restore-step.ts). Each case is one situation the
// controller can meet; the assertions are what it does next.

const SID = '0123456789abcdef0123456789abcdef';
const NS = 'acme-prod';
const KEY = componentKey(NS, SID);
const NOW = new Date('2026-12-07T10:05:00Z');
const RESTORE = `${SID}-restore-20261207100000-beef`;
const BACKUP = `${SID}-backup-20261206100000-a1b2`;
const SAFETY = `${SID}-safety-20261207100000-beef`;

const request = (safety = true): RestoreRequest => ({
  restoreName: RESTORE,
  component: { namespace: NS, serviceId: SID, serviceAlias: 'gr0123' },
  backupName: BACKUP,
  operator: 'dave',
  ...(safety ? { safetyBackup: { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: SAFETY, namespace: 'velero' }, spec: {} } } : {}),
  requestedAt: '2026-12-07T10:00:00.000Z',
});
const record = (progress?: RestoreProgress, safety = true): RestoreRequestRecord => ({ name: 'restore-x', uid: 'u', resourceVersion: '5', creationTimestamp: '2026-12-07T10:00:00Z', request: request(safety), ...(progress ? { progress } : {}) });
const at = (stage: RestoreProgress['stage'], since = '2026-12-07T10:04:00.000Z'): RestoreProgress => ({ stage, message: 'm', since });

const claim = (name: string, uid: string, deleting = false): ClaimSummary => ({
  kind: 'PersistentVolumeClaim', namespace: NS, name, uid, labels: { service_id: SID }, annotations: {}, resourceVersion: '1', phase: 'Bound', finalizers: [], accessModes: ['ReadWriteOnce'], creationTimestamp: '2026-12-01T00:00:00Z',
  ...(deleting ? { deletionTimestamp: '2026-12-07T10:04:30Z' } : {}),
});
const pod = (name: string, labels: Record<string, string> = {}): PodRecord => ({ kind: 'Pod', namespace: NS, name, uid: `uid-${name}`, labels: { service_id: SID, ...labels }, annotations: {}, resourceVersion: '1', phase: 'Pending', ready: false });
const component = (claims: ClaimSummary[], pods: PodRecord[] = [], workload = false): ComponentSnapshot => ({
  key: KEY, serviceId: SID, namespace: NS, ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr0123' }, labels: {}, claims, pods, runningPods: [],
  state: claims.length > 0 ? 'stopped' : 'deleted',
  ...(workload ? { workload: { kind: 'StatefulSet', namespace: NS, name: 'gr0123', uid: 'w', labels: {}, annotations: {}, resourceVersion: '1', replicas: 1, template: { labels: {}, containers: [] }, rollout: { kind: 'StatefulSet', rollingUpdate: true, partition: null } } } : {}),
});
const backupView = (name: string, phase: string): BackupView => viewBackup({ metadata: { name, namespace: 'velero', labels: { 'wutong.io/service_id': SID } }, spec: { includedNamespaces: [NS] }, status: { phase } })!;
const pvb = (backup: string, pod: string, volume: string, claimName: string, claimUid: string, phase = 'Completed'): PodVolumeBackupView =>
  viewPodVolumeBackup({ metadata: { name: `${backup}-${volume}`, namespace: 'velero', labels: { 'velero.io/backup-name': backup, 'velero.io/pvc-uid': claimUid }, annotations: { 'velero.io/pvc-name': claimName } }, spec: { volume, pod: { name: pod, namespace: NS } }, status: { phase } })!;

/** A stopped component with two claims and a Completed backup of both: the usual start. */
const world = (over: Partial<RestoreWorld> = {}): RestoreWorld => ({
  now: NOW,
  keepMs: 60_000,
  tenantNamespace: true,
  component: component([claim('data-0', 'c1'), claim('logs-0', 'c2')]),
  restoredPods: [],
  holder: undefined,
  markerHolder: undefined,
  backup: backupView(BACKUP, 'Completed'),
  backupVolumes: [pvb(BACKUP, 'db-0', 'data', 'data-0', 'old1'), pvb(BACKUP, 'db-0', 'logs', 'logs-0', 'old2')],
  safety: undefined,
  safetyVolumes: [],
  restore: undefined,
  restoreVolumes: [],
  ...over,
});
const safetyDone = { safety: backupView(SAFETY, 'Completed'), safetyVolumes: [pvb(SAFETY, 'holder', 'data-0', 'data-0', 'c1'), pvb(SAFETY, 'holder', 'logs-0', 'logs-0', 'c2')] };

test('New: the first step is to say the current data is being saved, naming the safety backup and the claims', () => {
  expect(restoreStep(record(), world())).toEqual({ kind: 'advance', stage: 'SavingCurrentData', message: `backing up the current data of data-0, logs-0 as backup ${SAFETY} before replacing it` });
});

test('SavingCurrentData: the safety backup is started; while another backup\'s holder holds the volumes it waits for it', () => {
  expect(restoreStep(record(at('SavingCurrentData')), world())).toEqual({ kind: 'back-up-current-data' });
  expect(restoreStep(record(at('SavingCurrentData')), world({ holder: { name: 'h', serving: 'backup b' } }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
  expect(restoreStep(record(at('SavingCurrentData')), world({ safety: backupView(SAFETY, 'InProgress') }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
});

test('a safety backup that failed, or did not copy every claim to be replaced, fails the restore before anything is touched', () => {
  expect(restoreStep(record(at('SavingCurrentData')), world({ safety: backupView(SAFETY, 'PartiallyFailed') }))).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: `safety backup ${SAFETY} ended PartiallyFailed: nothing was replaced` } });
  const partial = world({ safety: backupView(SAFETY, 'Completed'), safetyVolumes: [pvb(SAFETY, 'holder', 'data-0', 'data-0', 'c1')] });
  expect(restoreStep(record(at('SavingCurrentData')), partial)).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: `safety backup ${SAFETY} did not copy logs-0: nothing was replaced` } });
});

test('once the safety backup copied every claim and its holder is gone, the claims are replaced; with the holder still up, it waits (pvc-protection)', () => {
  expect(restoreStep(record(at('SavingCurrentData')), world({ ...safetyDone, holder: { name: 'h', serving: `backup ${SAFETY}` } }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
  expect(restoreStep(record(at('SavingCurrentData')), world(safetyDone))).toEqual({
    kind: 'advance',
    stage: 'ReplacingVolumes',
    message: `deleting PVCs data-0, logs-0 so Velero recreates them with exactly the backup's data; the data it replaced is in safety backup ${SAFETY}`,
  });
});

test('opted out of the safety backup: straight to replacing', () => {
  expect(restoreStep(record(undefined, false), world()).kind).toBe('advance');
  expect(restoreStep(record(undefined, false), world())).toMatchObject({ stage: 'ReplacingVolumes' });
});

test('ReplacingVolumes: live claims are deleted; deleting ones are waited for; gone ones make way for the Velero Restore', () => {
  expect(restoreStep(record(at('ReplacingVolumes')), world(safetyDone))).toEqual({ kind: 'delete-claims', claims: [{ name: 'data-0', uid: 'c1' }, { name: 'logs-0', uid: 'c2' }] });
  expect(restoreStep(record(at('ReplacingVolumes')), world({ ...safetyDone, component: component([claim('data-0', 'c1', true)]) }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
  expect(restoreStep(record(at('ReplacingVolumes')), world({ ...safetyDone, component: undefined }))).toEqual({ kind: 'create-restore' });
});

test('only the claims the backup holds data of are replaced: another claim of the component stays as it is', () => {
  const w = world({ ...safetyDone, component: component([claim('data-0', 'c1'), claim('logs-0', 'c2'), claim('cache-0', 'c3')]) });
  expect(restoreStep(record(at('ReplacingVolumes')), w)).toEqual({ kind: 'delete-claims', claims: [{ name: 'data-0', uid: 'c1' }, { name: 'logs-0', uid: 'c2' }] });
});

test('Wutong starts the component before anything changed: failed, nothing was changed', () => {
  const started = world({ component: component([claim('data-0', 'c1')], [pod('gr0123-0')], true) });
  const step = restoreStep(record(at('SavingCurrentData')), started);
  expect(step).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: 'component acme/prod/gr0123 was started (StatefulSet gr0123) after the restore was requested: nothing was changed; stop it and restore again' } });
});

test('Wutong starts the component while its PVCs are being replaced: failed, naming the safety backup', () => {
  const started = world({ ...safetyDone, component: component([], [pod('gr0123-0')]) });
  const step = restoreStep(record(at('ReplacingVolumes')), started);
  expect(step).toMatchObject({ kind: 'finish', verdict: { phase: 'Failed' } });
  expect(step.kind === 'finish' && step.verdict.message).toBe(`component acme/prod/gr0123 was started (Pod gr0123-0) while its volumes were being replaced: the restore stopped before Velero wrote anything; the data it replaced is in safety backup ${SAFETY}; stop it and restore again`);
});

test('the backup gone or not restorable before anything changed: failed', () => {
  expect(restoreStep(record(), world({ backup: undefined }))).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: `backup ${BACKUP} is gone: nothing was changed` } });
  expect(restoreStep(record(), world({ backupVolumes: [] }))).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: `backup ${BACKUP} is not restorable (Completed): nothing was changed` } });
  expect(restoreStep(record(), world({ tenantNamespace: false }))).toMatchObject({ kind: 'finish', verdict: { phase: 'Failed', message: 'namespace acme-prod is not a tenant env: nothing was changed' } });
});

const restoreView = (phase: string) => viewRestore({ metadata: { name: RESTORE, namespace: 'velero', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: BACKUP, includedNamespaces: [NS] }, status: { phase } })!;
const pvr = (pod: string, volume: string, phase = 'Completed') => viewPodVolumeRestore({ metadata: { name: `${RESTORE}-${volume}`, namespace: 'velero', labels: { 'velero.io/restore-name': RESTORE } }, spec: { volume, pod: { name: pod, namespace: NS } }, status: { phase } })!;

const HOLDER = `wutong-backup-holder-${SID}`;
const markerRunning = { name: HOLDER, uid: 'mh', phase: 'Running', creationTimestamp: '2026-12-07T10:04:50Z' };

test('Velero restoring: stage Restoring, then the verdict compares what Velero wrote with what the backup holds', () => {
  expect(restoreStep(record(at('ReplacingVolumes')), world({ restore: restoreView('InProgress'), component: undefined }))).toEqual({ kind: 'advance', stage: 'Restoring', message: `Velero is restoring backup ${BACKUP}` });
  expect(restoreStep(record(at('Restoring')), world({ restore: restoreView('InProgress') }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
  const done = world({ restore: restoreView('Completed'), restoreVolumes: [pvr('db-0', 'data'), pvr('db-0', 'logs')], markerHolder: markerRunning });
  expect(restoreStep(record(at('Restoring')), done)).toEqual({ kind: 'finish', verdict: { phase: 'Completed', message: `Velero wrote 2 of 2 volumes of backup ${BACKUP}` } });
});

test('Velero Completed with a volume it never wrote (a pod of that name existed): Failed, naming the volume and why', () => {
  const short = world({ restore: restoreView('Completed'), restoreVolumes: [pvr('db-0', 'data')], markerHolder: markerRunning });
  expect(restoreStep(record(at('Restoring')), short)).toEqual({
    kind: 'finish',
    verdict: { phase: 'Failed', message: `Velero wrote 1 of 2 volumes of backup ${BACKUP}; missing logs-0 (no PodVolumeRestore: a pod db-0 existed already, so Velero wrote no data through it)` },
  });
  const failedVolume = world({ restore: restoreView('PartiallyFailed'), restoreVolumes: [pvr('db-0', 'data'), pvr('db-0', 'logs', 'Failed')], markerHolder: markerRunning });
  const step = restoreStep(record(at('Restoring')), failedVolume);
  expect(step.kind === 'finish' && step.verdict).toEqual({ phase: 'Failed', message: `Velero ended the restore PartiallyFailed; it wrote 1 of 2 volumes; missing logs-0 (PodVolumeRestore ${RESTORE}-logs Failed)` });
});

test('finished: the pods Velero created are deleted once past their init containers (restore-wait removes its done files), or after a grace; then the record stays keepMs and goes', () => {
  const running = [{ name: 'db-0', uid: 'p1', phase: 'Running' }, { name: 'db-1', uid: 'p2', phase: 'Pending' }];
  expect(restoreStep(record(at('Completed')), world({ restoredPods: running }))).toEqual({ kind: 'clean-up', pods: [{ name: 'db-0', uid: 'p1' }] });
  expect(restoreStep(record(at('Completed')), world({ restoredPods: [{ name: 'db-1', uid: 'p2', phase: 'Pending' }] }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
  expect(restoreStep(record(at('Completed', '2026-12-07T10:02:00.000Z')), world({ restoredPods: [{ name: 'db-1', uid: 'p2', phase: 'Pending' }] }))).toEqual({ kind: 'clean-up', pods: [{ name: 'db-1', uid: 'p2' }] });
  expect(restoreStep(record(at('Completed', '2026-12-07T10:04:30.000Z')), world())).toEqual({ kind: 'wait', ms: 30_000 });
  expect(restoreStep(record(at('Failed', '2026-12-07T10:00:00.000Z')), world())).toEqual({ kind: 'remove' });
});

test('an unreadable request fails, saying why', () => {
  const bad: RestoreRequestRecord = { name: 'restore-x', uid: 'u', resourceVersion: '1', creationTimestamp: '', request: undefined, unreadable: 'data.request is not a JSON object' };
  expect(restoreStep(bad, world())).toEqual({ kind: 'finish', verdict: { phase: 'Failed', message: 'the restore request restore-x cannot be read (data.request is not a JSON object): nothing was changed' } });
});

test('Velero refused the Restore (FailedValidation, reasons in status.validationErrors, failureReason empty: v1.11.1 pkg/controller/restore_controller.go L172-173): the verdict names the reasons', () => {
  const refused = viewRestore({ metadata: { name: RESTORE, namespace: 'velero', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: BACKUP, includedNamespaces: [NS] }, status: { phase: 'FailedValidation', validationErrors: [`Error retrieving backup: backups.velero.io "${BACKUP}" not found`] } })!;
  const step = restoreStep(record(at('Restoring')), world({ restore: refused }));
  expect(step.kind === 'finish' && step.verdict).toEqual({ phase: 'Failed', message: `Velero ended the restore FailedValidation: Error retrieving backup: backups.velero.io "${BACKUP}" not found; it wrote 0 of 2 volumes; missing data-0 (no PodVolumeRestore), logs-0 (no PodVolumeRestore)` });
});

// Velero v1.11.1's node agent leaves <volume>/.velero/<restore uid> (pod_volume_restore_controller.go L301-312) that its
// non-root restore-wait cannot remove (Dockerfile L77 USER nonroot; velero-restore-helper.go L83-104; velero#8973):
// after Velero's pods are gone and before the verdict is written, a marker holder removes it.
describe('after Velero: its pods go, then the marker holder clears the .velero folders, then the verdict', () => {
  const finished = (over: Partial<RestoreWorld> = {}): RestoreWorld =>
    world({ restore: viewRestore({ metadata: { name: RESTORE, namespace: 'velero', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: BACKUP, includedNamespaces: [NS] }, status: { phase: 'Completed', completionTimestamp: '2026-12-07T10:04:30Z' } })!, restoreVolumes: [pvr('db-0', 'data'), pvr('db-0', 'logs')], ...over });
  const completed = { phase: 'Completed' as const, message: `Velero wrote 2 of 2 volumes of backup ${BACKUP}` };

  test("Velero's pods first: Running ones at once, Pending ones after the grace from Velero's completion", () => {
    expect(restoreStep(record(at('Restoring')), finished({ restoredPods: [{ name: 'db-0', uid: 'p1', phase: 'Running' }] }))).toEqual({ kind: 'clean-up', pods: [{ name: 'db-0', uid: 'p1' }] });
    expect(restoreStep(record(at('Restoring')), finished({ restoredPods: [{ name: 'db-0', uid: 'p1', phase: 'Pending' }] }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
    expect(restoreStep(record(at('Restoring')), finished({ now: new Date('2026-12-07T10:06:30Z'), restoredPods: [{ name: 'db-0', uid: 'p1', phase: 'Pending' }] }))).toEqual({ kind: 'clean-up', pods: [{ name: 'db-0', uid: 'p1' }] });
  });

  test('then the marker holder on the restored claims; the verdict once it runs; it is deleted after', () => {
    expect(restoreStep(record(at('Restoring')), finished())).toEqual({ kind: 'clear-markers', claims: [{ name: 'data-0', uid: 'c1' }, { name: 'logs-0', uid: 'c2' }], verdict: completed });
    expect(restoreStep(record(at('Restoring')), finished({ markerHolder: { ...markerRunning, phase: 'Pending' } }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
    expect(restoreStep(record(at('Restoring')), finished({ markerHolder: markerRunning }))).toEqual({ kind: 'finish', verdict: completed });
    expect(restoreStep(record(at('Completed')), world({ markerHolder: markerRunning }))).toEqual({ kind: 'clean-up', pods: [{ name: HOLDER, uid: 'mh' }] });
  });

  test('a marker holder that failed, or did not run in time: the verdict stands, with a note saying the folders stayed', () => {
    const failed = restoreStep(record(at('Restoring')), finished({ markerHolder: { ...markerRunning, phase: 'Failed' } }));
    expect(failed).toEqual({ kind: 'finish', verdict: { phase: 'Completed', message: `${completed.message}; the .velero folders Velero left in data-0, logs-0 could not be removed (marker holder ${HOLDER} failed: kubectl logs ${HOLDER} -c clear-restore-markers)` } });
    const stuck = restoreStep(record(at('Restoring')), finished({ now: new Date('2026-12-07T10:07:00Z'), markerHolder: { ...markerRunning, phase: 'Pending', creationTimestamp: '2026-12-07T10:04:50Z', waiting: 'ImagePullBackOff: no pull' } }));
    expect(stuck).toEqual({ kind: 'finish', verdict: { phase: 'Completed', message: `${completed.message}; the .velero folders Velero left in data-0, logs-0 were not removed: marker holder ${HOLDER} did not run in 120 s (ImagePullBackOff: no pull)` } });
  });

  test('another holder has the name (a backup on stop): after it; the component started meanwhile: no holder beside it, the note says so', () => {
    expect(restoreStep(record(at('Restoring')), finished({ holder: { name: HOLDER, serving: 'backup x' } }))).toEqual({ kind: 'wait', ms: RESTORE_RECHECK_MS });
    const started = finished({ component: component([claim('data-0', 'c1'), claim('logs-0', 'c2')], [pod('db-0')], true) });
    expect(restoreStep(record(at('Restoring')), started)).toEqual({ kind: 'finish', verdict: { phase: 'Completed', message: `${completed.message}; the .velero folders Velero left in data-0, logs-0 were not removed: the component was started (StatefulSet gr0123)` } });
  });

  test('nothing written (Velero refused the Restore): no holder, the verdict at once', () => {
    const refused = world({ restore: restoreView('FailedValidation') });
    expect(restoreStep(record(at('Restoring')), refused).kind).toBe('finish');
  });
});
