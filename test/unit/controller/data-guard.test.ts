import { workloadSummary } from '../components/summaries.js';
import { componentKey } from '../../../src/components/component-key.js';
import type { ClaimSummary, ComponentSnapshot } from '../../../src/components/component-registry.js';
import { DATA_GUARD_FINALIZER, PROTECTION_ANNOTATION } from '../../../src/components/protection-keys.js';
import { claimProtection, decideClaim, finalizersWith, pendingCover, pendingOrArriving, VOLUME_RECORDS_GRACE_MS, type GuardContext, type GuardProtection } from '../../../src/controller/data-guard.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import type { BackupView, PodVolumeBackupView } from '../../../src/velero/velero-views.js';

const SID = 'a'.repeat(32);
const PROTECTED: GuardProtection = { rule: 'orders-db', deletionHoldLimitMs: 300_000 };
const STOP = '2026-12-02T08:00:00Z';
const DELETED_AT = '2026-12-02T09:00:00Z';
const at = (iso: string, plusMs = 0): Date => new Date(Date.parse(iso) + plusMs);

const claim = (over: Partial<ClaimSummary> = {}): ClaimSummary => ({
  kind: 'PersistentVolumeClaim',
  namespace: 'shop',
  name: 'manual1-gr3a9f-0',
  uid: 'uid-claim',
  labels: { service_id: SID, service_alias: 'gr3a9f' },
  resourceVersion: '7',
  annotations: { [PROTECTION_ANNOTATION.guardRule]: 'orders-db', [PROTECTION_ANNOTATION.ranUntil]: STOP },
  phase: 'Bound',
  volumeName: 'pv-gr3a9f',
  finalizers: ['kubernetes.io/pvc-protection', DATA_GUARD_FINALIZER],
  accessModes: ['ReadWriteOnce'],
  creationTimestamp: '2026-12-01T00:00:00Z',
  ...over,
});
const deleting = (over: Partial<ClaimSummary> = {}): ClaimSummary => claim({ deletionTimestamp: DELETED_AT, ...over });

const backup = (name: string, phase: string | undefined, startTimestamp?: string): BackupView => ({
  metadata: { name, namespace: 'velero', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: startTimestamp ?? '2026-12-02T08:30:00Z', labels: {}, annotations: {} },
  spec: {},
  status: { ...(phase ? { phase } : {}), ...(startTimestamp ? { startTimestamp } : {}) },
});

const ctx = (over: Partial<GuardContext> = {}): GuardContext => ({ now: at(DELETED_AT, 1_000), covering: undefined, pending: undefined, ...over });

describe('a live PVC', () => {
  test('of a protected component gets the finalizer and the rule; once it has both, nothing', () => {
    expect(decideClaim(claim({ finalizers: ['kubernetes.io/pvc-protection'], annotations: {} }), PROTECTED, ctx())).toEqual({ kind: 'guard', rule: 'orders-db', added: true });
    expect(decideClaim(claim(), PROTECTED, ctx())).toBeUndefined();
  });

  test('guarded under another rule name gets the rule annotation updated, no second finalizer', () => {
    expect(decideClaim(claim({ annotations: { [PROTECTION_ANNOTATION.guardRule]: 'old' } }), PROTECTED, ctx())).toEqual({ kind: 'guard', rule: 'orders-db', added: false });
    expect(finalizersWith(claim(), true)).toEqual(['kubernetes.io/pvc-protection', DATA_GUARD_FINALIZER]);
  });

  test('of an unprotected component loses the finalizer; without one there is nothing to do', () => {
    expect(decideClaim(claim(), undefined, ctx())).toEqual({ kind: 'unguard', deleting: false });
    expect(decideClaim(claim({ finalizers: [] }), undefined, ctx())).toBeUndefined();
    expect(finalizersWith(claim(), false)).toEqual(['kubernetes.io/pvc-protection']);
  });
});

describe('a deleting PVC', () => {
  test('covered by a Completed backup: released at once, naming the backup', () => {
    const covering = backup('b1', 'Completed', '2026-12-02T08:10:00Z');
    expect(decideClaim(deleting(), PROTECTED, ctx({ covering }))).toEqual({ kind: 'release', outcome: 'covered', backup: 'b1' });
  });

  test('not covered and no backup running: its volume is kept, at once (no wait)', () => {
    expect(decideClaim(deleting(), PROTECTED, ctx())).toEqual({ kind: 'retain', volumeName: 'pv-gr3a9f', boundMs: Date.parse(DELETED_AT) + 300_000 });
  });

  test('Pending (never bound), or bound to no volume: released at once, there is no data', () => {
    expect(decideClaim(deleting({ phase: 'Pending', volumeName: undefined }), PROTECTED, ctx())).toMatchObject({ kind: 'release', outcome: 'unbound' });
    expect(decideClaim(deleting({ phase: 'Bound', volumeName: undefined }), PROTECTED, ctx())).toMatchObject({ kind: 'release', outcome: 'unbound' });
    expect(decideClaim(deleting({ phase: 'Lost' }), PROTECTED, ctx())).toMatchObject({ kind: 'release', outcome: 'unbound' });
  });

  test('an unfinished backup that may still cover it: waits until the bound, then keeps the volume', () => {
    const pending = backup('stop-1', 'InProgress', '2026-12-02T08:59:00Z');
    expect(decideClaim(deleting(), PROTECTED, ctx({ pending }))).toEqual({ kind: 'wait', backup: 'stop-1', untilMs: Date.parse(DELETED_AT) + 300_000 });
    expect(decideClaim(deleting(), PROTECTED, ctx({ pending, now: at(DELETED_AT, 299_999) }))).toMatchObject({ kind: 'wait' });
    expect(decideClaim(deleting(), PROTECTED, ctx({ pending, now: at(DELETED_AT, 300_000) }))).toEqual({
      kind: 'retain',
      volumeName: 'pv-gr3a9f',
      boundMs: Date.parse(DELETED_AT) + 300_000,
      waitedFor: 'stop-1',
    });
  });

  test('the bound passed while no controller ran: the first pass decides at once (covered or kept, never a wait)', () => {
    const pending = backup('stop-1', 'InProgress', '2026-12-02T08:59:00Z');
    const hourLater = at(DELETED_AT, 3_600_000);
    expect(decideClaim(deleting(), PROTECTED, ctx({ pending, now: hourLater }))).toMatchObject({ kind: 'retain', waitedFor: 'stop-1' });
    expect(decideClaim(deleting(), PROTECTED, ctx({ covering: backup('b', 'Completed', STOP), now: hourLater }))).toMatchObject({ kind: 'release', outcome: 'covered' });
  });

  test('of a component no longer protected: the finalizer goes, as outcome unprotected', () => {
    expect(decideClaim(deleting(), undefined, ctx())).toEqual({ kind: 'unguard', deleting: true });
  });

  test('without our finalizer: never touched', () => {
    expect(decideClaim(deleting({ finalizers: ['kubernetes.io/pvc-protection'] }), PROTECTED, ctx())).toBeUndefined();
  });
});

describe('which unfinished backup may still cover the run', () => {
  const stopped = { kind: 'stopped', at: STOP } as const;
  test('one started at or after the stop, or not started yet; not one started before it, nor a finished one', () => {
    expect(pendingCover(stopped, [backup('before', 'InProgress', '2026-12-02T07:59:59Z')])).toBeUndefined();
    expect(pendingCover(stopped, [backup('failed', 'Failed', '2026-12-02T08:10:00Z')])).toBeUndefined();
    expect(pendingCover(stopped, [backup('after', 'InProgress', STOP)])?.metadata.name).toBe('after');
    expect(pendingCover(stopped, [backup('queued', undefined)])?.metadata.name).toBe('queued');
  });
  test('none while the component runs or was never seen running', () => {
    expect(pendingCover({ kind: 'running' }, [backup('queued', undefined)])).toBeUndefined();
    expect(pendingCover(undefined, [backup('queued', undefined)])).toBeUndefined();
  });
});

describe('the protection a PVC is judged by', () => {
  const policy = (protection: string): ReturnType<typeof loadPolicy> =>
    loadPolicy(`apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: orders-db
    profile: mysql
    match: { labels: { service_alias: gr3a9f } }
${protection}
`, 'policy.yaml', 1);
  const WITH = policy('    protection: { schedule: "0 3 * * *" }');
  const WITHOUT = policy('');
  const component = (over: Partial<ComponentSnapshot> = {}): ComponentSnapshot => ({
    key: componentKey('shop', SID),
    serviceId: SID,
    namespace: 'shop',
    ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr3a9f' },
    labels: { service_id: SID, service_alias: 'gr3a9f' },
    claims: [deleting()],
    pods: [],
    runningPods: [],
    state: 'deleted',
    ...over,
  });

  test('a deleted component whose Schedule is gone is still judged by the rule that guarded the PVC', () => {
    expect(claimProtection(WITH, component(), undefined, deleting())).toMatchObject({ rule: 'orders-db', deletionHoldLimitMs: 300_000 });
  });
  test('that rule losing its protection (or never recorded) leaves the PVC unprotected', () => {
    expect(claimProtection(WITHOUT, component(), undefined, deleting())).toBeUndefined();
    expect(claimProtection(WITH, component(), undefined, deleting({ annotations: {} }))).toBeUndefined();
  });
  test('a running component is judged afresh: a PVC\'s old rule does not keep it protected', () => {
    const workload = workloadSummary({ namespace: 'shop', name: 'gr3a9f', uid: 'w', labels: {} });
    expect(claimProtection(WITH, component({ workload, state: 'running' }), undefined, claim())).toBeUndefined();
  });
});

describe('a Completed backup whose volume records have not arrived (pendingOrArriving), per claim', () => {
  const run = { kind: 'stopped', at: STOP } as const;
  const completed: BackupView = { ...backup('after', 'Completed', '2026-12-02T08:00:05Z'), status: { phase: 'Completed', startTimestamp: '2026-12-02T08:00:05Z', completionTimestamp: '2026-12-02T08:01:00Z' } };
  const copy = (claimUid: string): PodVolumeBackupView => ({
    metadata: { name: `v-${claimUid}`, namespace: 'velero', uid: `v-${claimUid}`, resourceVersion: '1', creationTimestamp: '', labels: { 'velero.io/pvc-uid': claimUid }, annotations: {} },
    spec: { volume: 'data', pod: { name: 'p', namespace: 'ns' } },
    status: { phase: 'Completed' },
  });
  const soon = at('2026-12-02T08:01:00Z', 5_000);

  test('waits for the record of this claim: another claim\'s record does not end the wait', () => {
    expect(pendingOrArriving(run, [completed], () => [copy('other')], 'this', soon)?.metadata.name).toBe('after');
    expect(pendingOrArriving(run, [completed], () => [copy('this')], 'this', soon)).toBeUndefined();
  });

  test('a backup that skipped the claim never brings its record: the wait ends with the grace, then the claim is judged uncovered', () => {
    expect(pendingOrArriving(run, [completed], () => [copy('other')], 'this', at('2026-12-02T08:01:00Z', VOLUME_RECORDS_GRACE_MS + 1))).toBeUndefined();
  });
});
