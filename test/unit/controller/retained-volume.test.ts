import type { ClaimSummary, ComponentSnapshot } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import { PROTECTION_ANNOTATION, PROTECTION_LABEL } from '../../../src/components/protection-keys.js';
import { readRetainedRecord, recordName, retainedRecordObject, retainPlan, volumeFacts, type VolumeFacts } from '../../../src/controller/retained-volume.js';

const SID = 'b'.repeat(32);
const NOW = new Date('2026-12-02T09:00:05Z');
const claim: ClaimSummary = {
  kind: 'PersistentVolumeClaim',
  namespace: 'shop',
  name: 'manual1-gr3a9f-0',
  uid: 'uid-claim',
  labels: { creator: 'Wutong', service_id: SID },
  resourceVersion: '9',
  annotations: {},
  phase: 'Bound',
  volumeName: 'pv-1',
  finalizers: [],
  accessModes: ['ReadWriteOnce'],
  creationTimestamp: '2026-12-01T00:00:00Z',
  deletionTimestamp: '2026-12-02T09:00:00Z',
};
const rawVolume = (over: { reclaim?: string; uid?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: {
    name: 'pv-1',
    uid: 'uid-pv',
    resourceVersion: '41',
    labels: { creator: 'Wutong', service_id: SID, ...over.labels },
    annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes', note: 'kept', ...over.annotations },
    finalizers: ['kubernetes.io/pv-protection'],
  },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    hostPath: { path: '/wtdata/pv-1' },
    persistentVolumeReclaimPolicy: over.reclaim ?? 'Delete',
    claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'manual1-gr3a9f-0', uid: over.uid ?? 'uid-claim' },
  },
  status: { phase: 'Bound' },
});
const facts = (raw: unknown): VolumeFacts => {
  const f = volumeFacts(raw);
  if (!f) throw new Error('not a PV');
  return f;
};

describe('keeping a PV', () => {
  test('a Delete PV bound to the claim: one patch sets Retain, marks it with the previous policy and labels it with the component', () => {
    const plan = retainPlan(claim, facts(rawVolume()), SID, NOW);
    expect(plan).toEqual({
      kind: 'retain',
      mark: { at: NOW.toISOString(), claim: 'shop/manual1-gr3a9f-0', previousReclaimPolicy: 'Delete' },
      patch: {
        metadata: {
          resourceVersion: '41',
          annotations: { [PROTECTION_ANNOTATION.retained]: JSON.stringify({ at: NOW.toISOString(), claim: 'shop/manual1-gr3a9f-0', previousReclaimPolicy: 'Delete' }) },
          labels: { [PROTECTION_LABEL.retainedVolume]: SID },
        },
        spec: { persistentVolumeReclaimPolicy: 'Retain' },
      },
    });
  });

  test('after that patch (a crash, then a new pass): nothing more to patch, and the mark still says Delete was the policy', () => {
    const first = retainPlan(claim, facts(rawVolume()), SID, NOW);
    if (first.kind !== 'retain') throw new Error('expected retain');
    const patched = rawVolume({ reclaim: 'Retain', annotations: { [PROTECTION_ANNOTATION.retained]: JSON.stringify(first.mark) }, labels: { [PROTECTION_LABEL.retainedVolume]: SID } });
    expect(retainPlan(claim, facts(patched), SID, new Date(NOW.getTime() + 60_000))).toEqual({ kind: 'retain', patch: undefined, mark: first.mark });
  });

  test('a PV whose claimRef is another claim (same name, another uid) is not ours to keep', () => {
    expect(retainPlan(claim, facts(rawVolume({ uid: 'uid-other' })), SID, NOW)).toEqual({ kind: 'mismatch', boundTo: 'shop/manual1-gr3a9f-0 (uid uid-other)' });
  });

  test('a PV that is gone: nothing to keep', () => {
    expect(retainPlan(claim, undefined, SID, NOW)).toEqual({ kind: 'gone' });
  });
});

describe('the record', () => {
  const component: ComponentSnapshot = {
    key: componentKey('shop', SID),
    serviceId: SID,
    namespace: 'shop',
    ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: 'gr3a9f' },
    labels: {},
    claims: [claim],
    pods: [],
    runningPods: [],
    state: 'deleted',
  };
  const mark = { at: NOW.toISOString(), claim: 'shop/manual1-gr3a9f-0', previousReclaimPolicy: 'Delete' };
  const object = retainedRecordObject('wutong-backup', component, claim, facts(rawVolume()), mark, 'no Completed backup started after the stop') as {
    metadata: { name: string; labels: Record<string, string> };
    data: Record<string, string>;
  };

  test('is a ConfigMap named after the PV, labelled with the component, that status reads back', () => {
    expect(object.metadata).toMatchObject({ name: 'retained-pv-1', namespace: 'wutong-backup', labels: { [PROTECTION_LABEL.retainedVolume]: SID } });
    expect(readRetainedRecord(object)).toEqual({
      recordName: 'retained-pv-1',
      volume: 'pv-1',
      serviceId: SID,
      component: 'acme/prod/gr3a9f',
      claim: { namespace: 'shop', name: 'manual1-gr3a9f-0', uid: 'uid-claim' },
      reason: 'no Completed backup started after the stop',
      retainedAt: NOW.toISOString(),
      deletionRequestedAt: '2026-12-02T09:00:00Z',
      previousReclaimPolicy: 'Delete',
    });
  });

  test('holds the PV to apply again: same storage, Retain, no claimRef, status, uid or controller annotations', () => {
    const pv = JSON.parse(object.data['persistentvolume.json'] ?? '') as Record<string, unknown>;
    expect(pv).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1', labels: { creator: 'Wutong', service_id: SID }, annotations: { note: 'kept' } },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/wtdata/pv-1' }, persistentVolumeReclaimPolicy: 'Retain' },
    });
  });

  test('holds the claim to bind to it by volumeName, with the PVC\'s own name and labels', () => {
    expect(JSON.parse(object.data['persistentvolumeclaim.json'] ?? '')).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'manual1-gr3a9f-0', namespace: 'shop', labels: { creator: 'Wutong', service_id: SID } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: 'pv-1' },
    });
  });

  test('names stay valid ConfigMap names for the longest PV names, and distinct', () => {
    const long = `pv-${'x'.repeat(249)}`;
    expect(recordName(long).length).toBeLessThanOrEqual(253);
    expect(recordName(long)).not.toBe(recordName(`${long.slice(0, -1)}y`));
  });

  test('a ConfigMap that is not a record reads as none', () => {
    expect(readRetainedRecord({ metadata: { name: 'x' }, data: { 'record.json': 'not json' } })).toBeUndefined();
    expect(readRetainedRecord({ metadata: { name: 'x' }, data: {} })).toBeUndefined();
  });
});
