import type { TenantEnv, TenantNamespaces } from '../tenancy/tenant-directory.js';
import type { ComponentRef, WorkloadKind } from './component.js';
import { componentKey, identityOf, type ComponentKey } from './component-key.js';
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
  /** How its rollout is held and released (upgrade holds): a StatefulSet's strategy and partition, a Deployment's paused. */
  rollout: WorkloadRollout;
}

export type WorkloadRollout =
  /** partition: spec.updateStrategy.rollingUpdate.partition, null when unset; only RollingUpdate honours one. */
  | { kind: 'StatefulSet'; rollingUpdate: boolean; partition: number | null }
  | { kind: 'Deployment'; paused: boolean };

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
  key: ComponentKey;
  serviceId: string;
  namespace: string;
  /** Tenant and env from the namespace's labels (tenants cannot write them), the alias from the objects' service_alias label ('' when absent). */
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

function aliasKey(namespace: string, serviceAlias: string): string {
  return `${namespace}/${serviceAlias}`;
}

function keyOfSummary(summary: Summary): ComponentKey | undefined {
  const serviceId = summary.labels[WUTONG_LABEL.serviceId];
  return serviceId !== undefined && SERVICE_ID.test(serviceId) && summary.namespace !== '' ? componentKey(summary.namespace, serviceId) : undefined;
}

function addTo<K>(index: Map<K, Set<string>>, key: K, value: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K>(index: Map<K, Set<string>>, key: K, value: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Every Wutong component the watches have seen, keyed by (namespace,
 * service_id) and built from the labels Wutong puts on its workloads, PVCs
 * and pods, so a stopped component (PVCs only) is still known. Only objects
 * in tenant env namespaces (the TenantDirectory: namespace labels) make
 * components: a service_id label is a claim its namespace's tenant makes
 * about her own objects, so the same service_id in two namespaces is two
 * components, never merged. Pure: the watches feed it, the API reads from
 * it and the controller reacts to its changes; it keeps a summary per
 * object, never the object.
 */
export class ComponentRegistry {
  readonly #objects = new Map<string, Summary>();
  /** (namespace, service_id) → object keys (only objects with a valid service_id). */
  readonly #byComponent = new Map<ComponentKey, Set<string>>();
  /** namespace/alias → object keys (every object, as the API's label-selected lists in that namespace would find them). */
  readonly #byAlias = new Map<string, Set<string>>();
  readonly #listeners = new Set<(key: ComponentKey) => void>();

  constructor(readonly tenants: TenantNamespaces) {
    // A namespace that becomes (or stops being) a tenant env makes (or unmakes) every component in it.
    tenants.subscribe((namespace) => {
      for (const key of this.#byComponent.keys()) if (key.startsWith(`${namespace}/`)) this.#emit(key);
    });
  }

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

  /** The component, when its namespace is a tenant env and any object of it is known. */
  get(key: ComponentKey): ComponentSnapshot | undefined {
    const keys = this.#byComponent.get(key);
    if (!keys) return undefined;
    const { namespace, serviceId } = identityOf(key);
    const env = this.tenants.envOf(namespace);
    if (!env) return undefined;
    return snapshotOf(key, serviceId, env, [...keys].map((k) => this.#objects.get(k)).filter((s): s is Summary => s !== undefined));
  }

  all(): ComponentSnapshot[] {
    const out: ComponentSnapshot[] = [];
    for (const key of this.#byComponent.keys()) {
      const snapshot = this.get(key);
      if (snapshot) out.push(snapshot);
    }
    return out;
  }

  /** Every component in a tenant env namespace. */
  keys(): ComponentKey[] {
    return [...this.#byComponent.keys()].filter((key) => this.tenants.isTenantNamespace(identityOf(key).namespace));
  }

  get size(): number {
    return this.keys().length;
  }

  /** What label-selected lists in `namespace` would return for this alias (resolve-component.ts decides); nothing outside a tenant env. */
  objectsIn(namespace: string, serviceAlias: string): ComponentObjects {
    if (!this.tenants.isTenantNamespace(namespace)) return { workloads: [], volumeClaims: [], pods: [] };
    const keys = this.#byAlias.get(aliasKey(namespace, serviceAlias)) ?? new Set<string>();
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

  /** Called synchronously after every change, with the key of each component it touched (both, when an object's label moved). */
  subscribe(listener: (key: ComponentKey) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #index(key: string, summary: Summary): void {
    const component = keyOfSummary(summary);
    if (component) addTo(this.#byComponent, component, key);
    addTo(this.#byAlias, aliasKey(summary.namespace, summary.labels[WUTONG_LABEL.serviceAlias] ?? ''), key);
  }

  #unindex(key: string, summary: Summary): void {
    const component = keyOfSummary(summary);
    if (component) removeFrom(this.#byComponent, component, key);
    removeFrom(this.#byAlias, aliasKey(summary.namespace, summary.labels[WUTONG_LABEL.serviceAlias] ?? ''), key);
  }

  #notify(before: Summary | undefined, after: Summary | undefined): void {
    const touched = new Set<ComponentKey>();
    for (const s of [before, after]) {
      const key = s ? keyOfSummary(s) : undefined;
      if (key) touched.add(key);
    }
    for (const key of touched) this.#emit(key);
  }

  #emit(key: ComponentKey): void {
    for (const listener of this.#listeners) listener(key);
  }
}

function snapshotOf(key: ComponentKey, serviceId: string, env: TenantEnv, objects: readonly Summary[]): ComponentSnapshot | undefined {
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
  return {
    key,
    serviceId,
    namespace: first?.namespace ?? '',
    ref: { ...env, serviceAlias: first?.labels[WUTONG_LABEL.serviceAlias] ?? '' },
    labels,
    ...(workload ? { workload } : {}),
    claims,
    pods,
    runningPods,
    state,
  };
}
