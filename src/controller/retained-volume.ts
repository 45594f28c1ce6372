// A PV kept because no backup covered its component's last run (pure): how
// its PV is patched, and the record an operator restores from. Wutong's
// delete also deletes the PV object by label, and a deleted PV object is gone
// even with Retain (only the storage behind it stays), so the record lives in
// a ConfigMap of this project's namespace: the PV manifest without its
// claimRef and status (applying it makes the PV again, Available), a claim
// manifest bound to it by volumeName, and who, what, why and when.
import { createHash } from 'node:crypto';
import type { ClaimSummary, ComponentSnapshot } from '../components/component-registry.js';
import { describeComponent } from '../components/component.js';
import { PROTECTION_ANNOTATION, PROTECTION_LABEL } from '../components/protection-keys.js';
import { isObject } from '../is-object.js';

type Json = Record<string, unknown>;
const objectAt = (value: unknown): Json => (isObject(value) ? value : {});
const stringAt = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** What the guard reads of a PV before it changes it. */
export interface VolumeFacts {
  name: string;
  resourceVersion: string;
  reclaimPolicy: string;
  claimRef?: { namespace?: string; name?: string; uid?: string };
  /** PROTECTION_ANNOTATION.retained, when a pass already marked it. */
  retained?: string;
  retainedLabel?: string;
  /** The object as read, for the record. */
  raw: Json;
}

export function volumeFacts(raw: unknown): VolumeFacts | undefined {
  if (!isObject(raw)) return undefined;
  const meta = objectAt(raw.metadata);
  const spec = objectAt(raw.spec);
  const name = stringAt(meta.name);
  if (!name) return undefined;
  const ref = isObject(spec.claimRef) ? spec.claimRef : undefined;
  const retained = stringAt(objectAt(meta.annotations)[PROTECTION_ANNOTATION.retained]);
  const retainedLabel = stringAt(objectAt(meta.labels)[PROTECTION_LABEL.retainedVolume]);
  return {
    name,
    resourceVersion: stringAt(meta.resourceVersion) ?? '',
    // The API server defaults it (Retain for static PVs, the StorageClass's for provisioned ones): absent means unread.
    reclaimPolicy: stringAt(spec.persistentVolumeReclaimPolicy) ?? '',
    ...(ref ? { claimRef: { namespace: stringAt(ref.namespace), name: stringAt(ref.name), uid: stringAt(ref.uid) } } : {}),
    ...(retained !== undefined ? { retained } : {}),
    ...(retainedLabel !== undefined ? { retainedLabel } : {}),
    raw,
  };
}

/** The value of PROTECTION_ANNOTATION.retained on a kept PV: when, for which claim, and the reclaim policy to put back to release it. */
export interface RetainedMark {
  at: string;
  claim: string;
  previousReclaimPolicy: string;
}

export function readRetainedMark(value: string | undefined): RetainedMark | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!isObject(parsed) || typeof parsed.at !== 'string' || typeof parsed.claim !== 'string' || typeof parsed.previousReclaimPolicy !== 'string') return undefined;
    return { at: parsed.at, claim: parsed.claim, previousReclaimPolicy: parsed.previousReclaimPolicy };
  } catch {
    return undefined;
  }
}

export type RetainPlan =
  /** The PV does not exist (any more): nothing of this claim's is left to keep. */
  | { kind: 'gone' }
  /** The PV is bound to another claim (its claimRef uid is not this PVC's): not ours to keep. */
  | { kind: 'mismatch'; boundTo: string }
  /** `patch`: the JSON merge patch still needed (undefined: already Retain and marked). */
  | { kind: 'retain'; patch: Json | undefined; mark: RetainedMark };

const claimKey = (claim: Pick<ClaimSummary, 'namespace' | 'name'>): string => `${claim.namespace}/${claim.name}`;

/** How to keep this claim's PV: idempotent, so a pass after a crash finds only what is left to do. */
export function retainPlan(claim: ClaimSummary, pv: VolumeFacts | undefined, serviceId: string, now: Date): RetainPlan {
  if (pv === undefined) return { kind: 'gone' };
  const ref = pv.claimRef;
  if (ref?.uid !== claim.uid) return { kind: 'mismatch', boundTo: ref ? `${ref.namespace ?? ''}/${ref.name ?? ''} (uid ${ref.uid ?? 'none'})` : 'no claim' };
  const earlier = readRetainedMark(pv.retained);
  const mark: RetainedMark = earlier ?? { at: now.toISOString(), claim: claimKey(claim), previousReclaimPolicy: pv.reclaimPolicy };
  if (earlier && pv.reclaimPolicy === 'Retain' && pv.retainedLabel === serviceId) return { kind: 'retain', patch: undefined, mark };
  return {
    kind: 'retain',
    mark,
    patch: {
      // Decided on this version: a PV changed meanwhile (the binder releasing it, say) answers 409 and is read again.
      metadata: {
        resourceVersion: pv.resourceVersion,
        annotations: { [PROTECTION_ANNOTATION.retained]: JSON.stringify(mark) },
        labels: { [PROTECTION_LABEL.retainedVolume]: serviceId },
      },
      spec: { persistentVolumeReclaimPolicy: 'Retain' },
    },
  };
}

const CONFIGMAP_NAME_MAX = 253;

/** The record's ConfigMap name: one per PV, so a retry meets its own record (AlreadyExists) instead of writing a second. */
export function recordName(volumeName: string): string {
  const name = `retained-${volumeName}`;
  if (name.length <= CONFIGMAP_NAME_MAX) return name;
  const hash = createHash('sha256').update(volumeName).digest('hex').slice(0, 10);
  return `${name.slice(0, CONFIGMAP_NAME_MAX - 11)}-${hash}`;
}

/** Keys of a record ConfigMap's data. */
export const RECORD_KEY = { record: 'record.json', volume: 'persistentvolume.json', claim: 'persistentvolumeclaim.json' } as const;

/** What record.json says. */
export interface RetainedRecord {
  volume: string;
  serviceId: string;
  component: string;
  claim: { namespace: string; name: string; uid: string };
  reason: string;
  retainedAt: string;
  deletionRequestedAt: string;
  previousReclaimPolicy: string;
}

// Set by the API server or its controllers: a manifest to apply again must not carry them.
const DROPPED_ANNOTATIONS = new Set(['pv.kubernetes.io/bound-by-controller', 'kubectl.kubernetes.io/last-applied-configuration', PROTECTION_ANNOTATION.retained]);

/** The PV as an operator would apply it again: same storage, no claimRef (so it comes up Available), Retain. */
export function restorableVolume(pv: VolumeFacts): Json {
  const meta = objectAt(pv.raw.metadata);
  const annotations = Object.fromEntries(Object.entries(objectAt(meta.annotations)).filter(([k, v]) => typeof v === 'string' && !DROPPED_ANNOTATIONS.has(k)));
  const spec = Object.fromEntries(Object.entries(objectAt(pv.raw.spec)).filter(([key]) => key !== 'claimRef'));
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pv.name, labels: objectAt(meta.labels), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: { ...spec, persistentVolumeReclaimPolicy: 'Retain' },
  };
}

/** A claim bound to the kept PV by volumeName: what the component's PVC was, so Wutong's StatefulSet adopts it when started again. */
export function restorableClaim(claim: ClaimSummary, pv: VolumeFacts): Json {
  const spec = objectAt(pv.raw.spec);
  const storage = stringAt(objectAt(spec.capacity).storage);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim.name, namespace: claim.namespace, labels: claim.labels },
    spec: {
      accessModes: claim.accessModes.length > 0 ? claim.accessModes : (spec.accessModes ?? []),
      ...(storage ? { resources: { requests: { storage } } } : {}),
      storageClassName: stringAt(spec.storageClassName) ?? '',
      volumeName: pv.name,
    },
  };
}

/** The record ConfigMap for a kept PV. */
export function retainedRecordObject(
  namespace: string,
  component: ComponentSnapshot,
  claim: ClaimSummary,
  pv: VolumeFacts,
  mark: RetainedMark,
  reason: string,
): Json {
  const record: RetainedRecord = {
    volume: pv.name,
    serviceId: component.serviceId,
    component: describeComponent(component.ref),
    claim: { namespace: claim.namespace, name: claim.name, uid: claim.uid },
    reason,
    retainedAt: mark.at,
    deletionRequestedAt: claim.deletionTimestamp ?? '',
    previousReclaimPolicy: mark.previousReclaimPolicy,
  };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: recordName(pv.name),
      namespace,
      labels: { [PROTECTION_LABEL.retainedVolume]: component.serviceId },
    },
    data: {
      [RECORD_KEY.record]: `${JSON.stringify(record, null, 2)}\n`,
      [RECORD_KEY.volume]: `${JSON.stringify(restorableVolume(pv), null, 2)}\n`,
      [RECORD_KEY.claim]: `${JSON.stringify(restorableClaim(claim, pv), null, 2)}\n`,
    },
  };
}

/** record.json of a record ConfigMap as listed; undefined when it is not one. */
export function readRetainedRecord(raw: unknown): (RetainedRecord & { recordName: string }) | undefined {
  if (!isObject(raw)) return undefined;
  const name = stringAt(objectAt(raw.metadata).name);
  const text = stringAt(objectAt(raw.data)[RECORD_KEY.record]);
  if (!name || text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as unknown;
    if (!isObject(r) || typeof r.volume !== 'string' || typeof r.serviceId !== 'string' || !isObject(r.claim)) return undefined;
    const claim = r.claim;
    return {
      recordName: name,
      volume: r.volume,
      serviceId: r.serviceId,
      component: stringAt(r.component) ?? '',
      claim: { namespace: stringAt(claim.namespace) ?? '', name: stringAt(claim.name) ?? '', uid: stringAt(claim.uid) ?? '' },
      reason: stringAt(r.reason) ?? '',
      retainedAt: stringAt(r.retainedAt) ?? '',
      deletionRequestedAt: stringAt(r.deletionRequestedAt) ?? '',
      previousReclaimPolicy: stringAt(r.previousReclaimPolicy) ?? '',
    };
  } catch {
    return undefined;
  }
}
