import type { ComponentRef, WorkloadKind } from './component.js';
import type { ComponentObjects, LabelledObject, PodSummary } from './resolve-component.js';
import { WUTONG_LABEL } from './wutong-labels.js';

export type RegistryKind = WorkloadKind | 'PersistentVolumeClaim' | 'Pod';

/** What the registry keeps of any object it is fed: enough to place it, never the whole object. */
export interface ObjectSummary {
  kind: RegistryKind;
  namespace: string;
  name: string;
  uid: string;
  labels: Readonly<Record<string, string>>;
  /** Only our own (backup.wutong.io/*, PROTECTION_PREFIX): what the controller wrote and reads back, never a whole map. */
  annotations: Readonly<Record<string, string>>;
  /** For writes with a precondition: a patch of what the controller decided on, not of a newer object. */
  resourceVersion: string;
  deletionTimestamp?: string;
}

export interface WorkloadSummary extends ObjectSummary {
  kind: WorkloadKind;
  /** spec.replicas, 1 when unset (the API server's default). */
  replicas: number;
  /** What protection rules match on: a stopped component has no template any more. */
  template: { labels: Readonly<Record<string, string>>; containers: ReadonlyArray<{ name: string; image: string }> };
}

export interface ClaimSummary extends ObjectSummary {
  kind: 'PersistentVolumeClaim';
  phase: string;
  volumeName?: string;
  finalizers: readonly string[];
  /** spec.accessModes: whether a holder pod may mount it beside another pod. */
  accessModes: readonly string[];
  creationTimestamp: string;
}

export interface PodRecord extends ObjectSummary {
  kind: 'Pod';
  phase: string;
  ready: boolean;
}

export type Summary = WorkloadSummary | ClaimSummary | PodRecord;

/**
 * running: at least one running pod; stopped: live PVCs and no running pod
 * (what a Wutong stop leaves); deleted: no live PVC, so nothing to protect
 * (Wutong deleted it, or it never had data).
 */
export type ComponentState = 'running' | 'stopped' | 'deleted';

export interface ComponentSnapshot {
  serviceId: string;
  namespace: string;
  /** From the tenant_name / tenant_env_name / service_alias labels ('' when absent). */
  ref: ComponentRef;
  /** The workload's pod template labels, else a pod's, else a PVC's: what protection rules match on. */
  labels: Readonly<Record<string, string>>;
  workload?: WorkloadSummary;
  claims: ClaimSummary[];
  pods: PodRecord[];
  /** Phase Running and not being deleted: what file-system backup reads volumes through. */
  runningPods: string[];
  state: ComponentState;
}

const SERVICE_ID = /^[0-9a-f]{32}$/;

function objectKey(kind: RegistryKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function refKey(labels: Readonly<Record<string, string>>): string {
  return [labels[WUTONG_LABEL.tenantName] ?? '', labels[WUTONG_LABEL.tenantEnvName] ?? '', labels[WUTONG_LABEL.serviceAlias] ?? ''].join('/');
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Every Wutong component the watches have seen, keyed by service_id and
 * built from the labels Wutong puts on its workloads, PVCs and pods, so a
 * stopped component (PVCs only) is still known. Pure: the watches feed it,
 * the API reads from it and the controller reacts to its changes; it keeps
 * a summary per object, never the object.
 */
export class ComponentRegistry {
  readonly #objects = new Map<string, Summary>();
  /** service_id → object keys (only objects with a valid service_id). */
  readonly #byServiceId = new Map<string, Set<string>>();
  /** tenant/env/alias → object keys (every object, as the API's label-selected lists would find them). */
  readonly #byRef = new Map<string, Set<string>>();
  readonly #listeners = new Set<(serviceId: string) => void>();

  upsert(summary: Summary): void {
    const key = objectKey(summary.kind, summary.namespace, summary.name);
    const before = this.#objects.get(key);
    if (before) this.#unindex(key, before);
    this.#objects.set(key, summary);
    this.#index(key, summary);
    this.#notify(before, summary);
  }

  remove(kind: RegistryKind, namespace: string, name: string): void {
    const key = objectKey(kind, namespace, name);
    const before = this.#objects.get(key);
    if (!before) return;
    this.#unindex(key, before);
    this.#objects.delete(key);
    this.#notify(before, undefined);
  }

  get(serviceId: string): ComponentSnapshot | undefined {
    const keys = this.#byServiceId.get(serviceId);
    if (!keys) return undefined;
    return snapshotOf(serviceId, [...keys].map((k) => this.#objects.get(k)).filter((s): s is Summary => s !== undefined));
  }

  all(): ComponentSnapshot[] {
    const out: ComponentSnapshot[] = [];
    for (const serviceId of this.#byServiceId.keys()) {
      const snapshot = this.get(serviceId);
      if (snapshot) out.push(snapshot);
    }
    return out;
  }

  serviceIds(): string[] {
    return [...this.#byServiceId.keys()];
  }

  get size(): number {
    return this.#byServiceId.size;
  }

  /** What the API's four label-selected lists would return for this route (resolve-component.ts decides). */
  objectsOf(ref: ComponentRef): ComponentObjects {
    const keys = this.#byRef.get([ref.tenantName, ref.tenantEnvName, ref.serviceAlias].join('/')) ?? new Set<string>();
    const objects = [...keys].map((k) => this.#objects.get(k)).filter((s): s is Summary => s !== undefined);
    const labelled = (s: Summary): LabelledObject => ({
      metadata: { name: s.name, namespace: s.namespace, labels: s.labels, ...(s.deletionTimestamp ? { deletionTimestamp: s.deletionTimestamp } : {}) },
    });
    return {
      workloads: objects.filter((s): s is WorkloadSummary => s.kind === 'StatefulSet' || s.kind === 'Deployment').map((s) => ({ ...labelled(s), kind: s.kind })),
      volumeClaims: objects.filter((s) => s.kind === 'PersistentVolumeClaim').map(labelled),
      pods: objects.filter((s): s is PodRecord => s.kind === 'Pod').map((s): PodSummary => ({ ...labelled(s), phase: s.phase })),
    };
  }

  /** Called synchronously after every change, with the service_id of each component it touched (both, when an object's label moved). */
  subscribe(listener: (serviceId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #index(key: string, summary: Summary): void {
    const serviceId = summary.labels[WUTONG_LABEL.serviceId];
    if (serviceId !== undefined && SERVICE_ID.test(serviceId)) addTo(this.#byServiceId, serviceId, key);
    addTo(this.#byRef, refKey(summary.labels), key);
  }

  #unindex(key: string, summary: Summary): void {
    const serviceId = summary.labels[WUTONG_LABEL.serviceId];
    if (serviceId !== undefined) removeFrom(this.#byServiceId, serviceId, key);
    removeFrom(this.#byRef, refKey(summary.labels), key);
  }

  #notify(before: Summary | undefined, after: Summary | undefined): void {
    const touched = new Set<string>();
    for (const s of [before, after]) {
      const serviceId = s?.labels[WUTONG_LABEL.serviceId];
      if (serviceId !== undefined && SERVICE_ID.test(serviceId)) touched.add(serviceId);
    }
    for (const serviceId of touched) for (const listener of this.#listeners) listener(serviceId);
  }
}

function snapshotOf(serviceId: string, objects: readonly Summary[]): ComponentSnapshot | undefined {
  if (objects.length === 0) return undefined;
  const live = objects.filter((o) => o.deletionTimestamp === undefined);
  const workloads = objects.filter((o): o is WorkloadSummary => o.kind === 'StatefulSet' || o.kind === 'Deployment').sort(byName);
  const workload = workloads.find((w) => w.deletionTimestamp === undefined);
  const claims = objects.filter((o): o is ClaimSummary => o.kind === 'PersistentVolumeClaim').sort(byName);
  const pods = objects.filter((o): o is PodRecord => o.kind === 'Pod').sort(byName);
  const runningPods = pods.filter((p) => p.phase === 'Running' && p.deletionTimestamp === undefined).map((p) => p.name);
  const liveClaims = claims.filter((c) => c.deletionTimestamp === undefined).length;
  const state: ComponentState = runningPods.length > 0 ? 'running' : liveClaims > 0 ? 'stopped' : 'deleted';
  const first = workload ?? live[0] ?? objects[0];
  const labels = workload?.template.labels ?? pods.find((p) => p.deletionTimestamp === undefined)?.labels ?? first?.labels ?? {};
  const refLabels = first?.labels ?? {};
  return {
    serviceId,
    namespace: first?.namespace ?? '',
    ref: {
      tenantName: refLabels[WUTONG_LABEL.tenantName] ?? '',
      tenantEnvName: refLabels[WUTONG_LABEL.tenantEnvName] ?? '',
      serviceAlias: refLabels[WUTONG_LABEL.serviceAlias] ?? '',
    },
    labels,
    ...(workload ? { workload } : {}),
    claims,
    pods,
    runningPods,
    state,
  };
}
