import { claimSummary, podRecord, workloadSummary } from '../components/summaries.js';
import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroChange, type VeleroStore } from '../../../src/velero/velero-ports.js';
import { ComponentRegistry, type ClaimSummary, type PodRecord, type WorkloadSummary } from '../../../src/components/component-registry.js';
import type { ControllerDeps } from '../../../src/controller/controller-deps.js';
import { scheduleLoop } from '../../../src/controller/schedule-loop.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';
import { viewSchedule, type ScheduleView } from '../../../src/velero/velero-views.js';
import type { VeleroObject, VeleroResource } from '../../../src/velero/velero-resources.js';
import { componentKey } from '../../../src/components/component-key.js';
import { scheduleName } from '../../../src/velero/object-names.js';
import { scheduleComponent } from '../../../src/velero/velero-scope.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ORPHAN = 'ffffffffffffffffffffffffffffffff';
/** The component's own Schedule: `<sid>-<namespace tag>-schedule`. */
const OURS = scheduleName({ namespace: 'acme-prod', serviceId: SID });
const THEIRS = scheduleName({ namespace: 'mallory-dev', serviceId: SID });
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c', tenant_name: 'acme', tenant_env_name: 'prod' };
const log = pino({ level: 'silent' });

const policyText = (schedule: string) => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: db
    profile: mysql
    protection: { schedule: "${schedule}", keep: 3 }
`;

/** RFC 7386 JSON merge patch, as the API server applies VeleroStore.patch: objects merge deeply, null removes. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Plays Velero's Schedules for the loop: a store that records every write
 * and a cache over the same objects (what the real watch-fed cache would
 * hold once listed). Only what the schedule loop uses is implemented.
 */
class VeleroStandIn {
  readonly objects = new Map<string, Record<string, unknown> & { metadata: Record<string, unknown> }>();
  readonly writes: string[] = [];
  listed = false;
  /** Objects the watch has not delivered yet: in the cluster, not in the cache. */
  readonly unseen = new Set<string>();
  readonly #listeners = new Set<(change: VeleroChange) => void>();
  #version = 0;

  put(object: object): void {
    const raw = structuredClone(object) as Record<string, unknown> & { metadata: Record<string, unknown> };
    raw.metadata = { uid: `uid-${String(raw.metadata.name)}`, creationTimestamp: '2026-01-01T00:00:00Z', ...raw.metadata, resourceVersion: String(++this.#version) };
    this.objects.set(String(raw.metadata.name), raw);
  }

  views(): ScheduleView[] {
    return [...this.objects.values()].map((raw) => viewSchedule(raw)).filter((v): v is ScheduleView => v !== undefined);
  }

  readonly store: VeleroStore = {
    list: (_resource: VeleroResource, selector: string) => {
      const serviceId = selector.split('=')[1] ?? '';
      return Promise.resolve(this.views().filter((v) => v.metadata.labels['wutong.io/service_id'] === serviceId).map((v) => this.objects.get(v.metadata.name)));
    },
    get: (_resource: VeleroResource, name: string) => Promise.resolve(this.objects.get(name)),
    create: (object: VeleroObject) => {
      if (this.objects.has(object.metadata.name)) return Promise.reject(new AlreadyExists(object.metadata.name));
      this.writes.push(`create ${object.metadata.name}`);
      this.put(object);
      return Promise.resolve(this.objects.get(object.metadata.name));
    },
    patch: (_resource, name, patch) => {
      const held = this.objects.get(name);
      if (!held) return Promise.reject(new Error(`${name} not found`));
      this.writes.push(`patch ${name} ${JSON.stringify((patch as { spec?: unknown }).spec ?? {})}`);
      this.put(mergePatch(held, patch) as object);
      return Promise.resolve(this.objects.get(name));
    },
    remove: (_resource, name) => {
      this.writes.push(`delete ${name}`);
      return Promise.resolve(this.objects.delete(name));
    },
  };

  readonly cache: VeleroCache = {
    readiness: () => ({ ready: true }),
    backupsOf: () => [],
    backup: () => undefined,
    podVolumeBackupsOf: () => [],
    restoresOf: () => [],
    restore: () => undefined,
    podVolumeRestoresOf: () => [],
    // As the real cache: by label, then by scope (velero-scope.ts).
    schedulesOf: (key) => this.views().filter((v) => scheduleComponent(v) === key && !this.unseen.has(v.metadata.name)),
    scheduleComponents: () => [...new Set(this.views().map(scheduleComponent).filter((k) => k !== undefined))],
    deleteRequestsFor: () => [],
    storageLocation: () => undefined,
    remember: (resource, raw) => {
      const view = viewSchedule(raw);
      const component = view ? scheduleComponent(view) : undefined;
      if (view) for (const l of this.#listeners) l({ resource, name: view.metadata.name, ...(component ? { component } : {}) });
    },
    forget: () => undefined,
    subscribe: (listener) => {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    },
    synced: () => this.listed,
  };
}

function runningComponent(registry: ComponentRegistry, namespace = 'acme-prod', ready = true): void {
  const workload: WorkloadSummary = workloadSummary({
    kind: 'StatefulSet', namespace, name: 'gr0a1b2c', uid: 'u-sts', labels, replicas: 1,
    template: { labels, containers: [{ name: 'db', image: 'mysql:8.0' }] },
  });
  const claim: ClaimSummary = claimSummary({ kind: 'PersistentVolumeClaim', namespace, name: 'data-gr0a1b2c-0', uid: 'u-pvc', labels, phase: 'Bound', finalizers: [] });
  const pod: PodRecord = podRecord({ kind: 'Pod', namespace, name: 'gr0a1b2c-0', uid: 'u-pod', labels, phase: 'Running', ready });
  registry.upsert(workload);
  registry.upsert(claim);
  registry.upsert(pod);
}

function setup(existingNamespaces: readonly string[] = ['acme-prod', 'mallory-dev']) {
  const velero = new VeleroStandIn();
  const registry = new ComponentRegistry(tenantDirectory({ 'acme-prod': ['acme', 'prod'], 'mallory-dev': ['mallory', 'dev'] }));
  const events: string[] = [];
  /** The namespace of each Event's object, in order. */
  const eventNamespaces: string[] = [];
  const recorder: EventRecorder = {
    record: (object, _type, reason) => {
      eventNamespaces.push(object.namespace);
      return Promise.resolve(void events.push(`${object.kind}/${object.name} ${reason}`));
    },
  };
  const state = { componentsListed: false };
  const policy = new PolicyStore(loadPolicy(policyText('0 3 * * *'), 'policy', 1));
  const deps: ControllerDeps = {
    registry,
    componentsSynced: () => state.componentsListed,
    cache: velero.cache,
    store: velero.store,
    policy,
    events: recorder,
    settings: { veleroNamespace: 'velero', storageLocation: 'default' },
    now: () => new Date(),
    log,
  };
  const namespacesAsked: string[] = [];
  const loop = scheduleLoop(deps, 60_000, (name) => {
    namespacesAsked.push(name);
    return Promise.resolve(existingNamespaces.includes(name));
  });
  const unwatch = loop.watch();
  return { velero, registry, events, eventNamespaces, state, policy, loop, unwatch, namespacesAsked };
}

/** Until the queue stays idle past the sync poll: keys parked while unsynced come back within a second. */
async function settle(loop: { queue: { idle(): Promise<void> } }): Promise<void> {
  await loop.queue.idle();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await loop.queue.idle();
}

describe('schedule loop', () => {
  test('acts on nothing until the components and the Velero objects are both listed, then on everything', async () => {
    const t = setup();
    // A Schedule whose component the registry does not hold yet, and a protected component with none.
    t.velero.put({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: `${ORPHAN}-schedule`, labels: { 'wutong.io/service_id': ORPHAN, 'backup.wutong.io/schedule-source': 'policy' } }, spec: { schedule: '0 3 * * *', template: { includedNamespaces: ['acme-prod'] } } });
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await settle(t.loop);
    expect(t.velero.writes).toEqual([]);
    t.velero.listed = true;
    await settle(t.loop);
    expect(t.velero.writes).toEqual([]); // the registry is still half-listed: the orphan may be a component not seen yet
    t.state.componentsListed = true;
    await settle(t.loop);
    expect(t.velero.writes.sort()).toEqual([`create ${OURS}`, `delete ${ORPHAN}-schedule`]);
    expect(t.events).toEqual(['StatefulSet/gr0a1b2c ScheduleCreated']);
    t.loop.queue.stop();
    t.unwatch();
  });

  /** A running A, and a region-API Schedule named after A's service_id, scoped to `namespace`, that the cache has not seen yet; every key reconciled once. */
  async function regionApiScheduleScopedTo(namespace: string): Promise<ReturnType<typeof setup>> {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    t.velero.put({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: SID, labels: { 'wutong.io/service_id': SID } }, spec: { schedule: '0 1 * * *', template: { includedNamespaces: [namespace] } } });
    t.velero.unseen.add(SID);
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    return t;
  }

  test('does not create a second Schedule next to a region-API one the cache has not seen yet', async () => {
    const t = await regionApiScheduleScopedTo('acme-prod');
    expect(t.velero.writes).toEqual([]);
    t.loop.queue.stop();
    t.unwatch();
  });

  test('follows the component: stopped pauses, running again resumes once Ready; a policy change updates; gone deletes', async () => {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes).toEqual([`create ${OURS}`]);
    // Wutong's stop: workload and pods go, the PVC stays.
    t.registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
    t.registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
    await t.loop.queue.idle();
    expect(t.velero.writes.slice(1)).toEqual([`patch ${OURS} {"paused":true}`]);
    // While stopped the rule that made it still protects it: nothing is deleted.
    t.policy.replace(loadPolicy(policyText('0 4 * * *'), 'policy', 2));
    await t.loop.queue.idle();
    expect(t.velero.objects.get(OURS)?.spec).toMatchObject({ schedule: '0 4 * * *', paused: true });
    // Started again: its pod runs but is not Ready (the database still starting): Velero v1.11.1 would back up at once on a resume.
    const writesWhileStopped = t.velero.writes.length;
    runningComponent(t.registry, 'acme-prod', false);
    await t.loop.queue.idle();
    expect(t.velero.writes.slice(writesWhileStopped)).toEqual([]);
    expect(t.velero.objects.get(OURS)?.spec).toMatchObject({ paused: true });
    // The pod's Ready condition turns True: resumed.
    runningComponent(t.registry);
    await t.loop.queue.idle();
    expect(t.velero.writes.at(-1)).toBe(`patch ${OURS} {"paused":false}`);
    // Wutong's delete: the PVC goes too.
    for (const [kind, name] of [['Pod', 'gr0a1b2c-0'], ['StatefulSet', 'gr0a1b2c'], ['PersistentVolumeClaim', 'data-gr0a1b2c-0']] as const) t.registry.remove(kind, 'acme-prod', name);
    await t.loop.queue.idle();
    expect(t.velero.writes.at(-1)).toBe(`delete ${OURS}`);
    expect(t.velero.objects.size).toBe(0);
    t.loop.queue.stop();
    t.unwatch();
  });

  // The tenant boundary (issue 17): a Schedule is a component's by its label and its scope, (namespace, service_id).

  test('a tenant forging A\'s labels in her own namespace never rewrites A\'s Schedule: her objects are her own component', async () => {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes).toEqual([`create ${OURS}`]);
    const before = structuredClone(t.velero.objects.get(OURS));
    // Tenant B: a Deployment with 0 replicas and a PVC in her namespace, carrying A's service_id, alias and tenant labels.
    t.registry.upsert(workloadSummary({ kind: 'Deployment', namespace: 'mallory-dev', name: 'forged', uid: 'u-forged', labels, replicas: 0, template: { labels, containers: [{ name: 'db', image: 'mysql:8.0' }] } }));
    t.registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'mallory-dev', name: 'forged-data', uid: 'u-forged-pvc', labels, phase: 'Bound', finalizers: [] }));
    await t.loop.queue.idle();
    // A's Schedule is exactly as it was; whatever was written is B's own, under her namespace's name.
    expect(t.velero.objects.get(OURS)).toEqual(before);
    expect(t.velero.writes.slice(1)).toEqual([`create ${THEIRS}`]);
    expect(t.velero.objects.get(THEIRS)?.spec).toMatchObject({ paused: true, template: { includedNamespaces: ['mallory-dev'] } });
    expect(t.registry.get(componentKey('acme-prod', SID))?.state).toBe('running');
    // B removes her objects: at most her own Schedule goes, A's stays.
    t.registry.remove('Deployment', 'mallory-dev', 'forged');
    t.registry.remove('PersistentVolumeClaim', 'mallory-dev', 'forged-data');
    await t.loop.queue.idle();
    expect(t.velero.writes.filter((w) => w.includes(OURS))).toEqual([`create ${OURS}`]);
    expect(t.velero.objects.get(OURS)).toEqual(before);
    // Events about A stay on A's workload; B's own component is told in B's namespace only.
    expect(t.events.filter((e) => e.startsWith('StatefulSet/gr0a1b2c'))).toEqual(['StatefulSet/gr0a1b2c ScheduleCreated']);
    expect(t.eventNamespaces.slice(1).every((ns) => ns === 'mallory-dev')).toBe(true);
    t.loop.queue.stop();
    t.unwatch();
  });

  test('a region-API Schedule named after A\'s service_id but scoped to another namespace is not A\'s: A gets its own', async () => {
    const t = await regionApiScheduleScopedTo('mallory-dev');
    expect(t.velero.writes).toEqual([`create ${OURS}`]);
    expect(t.velero.objects.get(SID)?.spec).toEqual({ schedule: '0 1 * * *', template: { includedNamespaces: ['mallory-dev'] } });
    t.loop.queue.stop();
    t.unwatch();
  });

  test('A\'s component going away deletes A\'s Schedule only, never another namespace\'s with the same service_id label; nor does any multi-namespace Schedule count', async () => {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    // A Schedule labelled with the service_id that backs up several namespaces is nobody's component: the sweep leaves it alone.
    t.velero.put({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: 'wide', labels: { 'wutong.io/service_id': SID } }, spec: { schedule: '0 1 * * *', template: { includedNamespaces: ['acme-prod', 'mallory-dev'] } } });
    runningComponent(t.registry);
    runningComponent(t.registry, 'mallory-dev');
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes.sort()).toEqual([`create ${OURS}`, `create ${THEIRS}`].sort());
    expect(OURS).not.toBe(THEIRS);
    for (const [kind, name] of [['Pod', 'gr0a1b2c-0'], ['StatefulSet', 'gr0a1b2c'], ['PersistentVolumeClaim', 'data-gr0a1b2c-0']] as const) t.registry.remove(kind, 'acme-prod', name);
    await t.loop.queue.idle();
    expect(t.velero.writes.at(-1)).toBe(`delete ${OURS}`);
    expect(t.velero.writes.slice(2).filter((w) => !w.includes(OURS))).toEqual([]);
    expect([...t.velero.objects.keys()].sort()).toEqual([THEIRS, 'wide'].sort());
    // The periodic sweep over every Schedule's component changes nothing more.
    const written = t.velero.writes.length;
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes.slice(written)).toEqual([]);
    t.loop.queue.stop();
    t.unwatch();
  });
});

describe('Schedules of namespaces that are no tenant env', () => {
  const scoped = (name: string, namespace: string) => ({
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: { name, labels: { 'wutong.io/service_id': ORPHAN, 'backup.wutong.io/schedule-source': 'api' } },
    spec: { schedule: '0 3 * * *', template: { includedNamespaces: [namespace] } },
  });

  /** Every key once on a synced picture where `namespaces` exist; the Schedules left after. */
  async function sweepWith(namespaces: readonly string[], schedule: object): Promise<{ left: string[]; asked: string[] }> {
    const t = setup(namespaces);
    t.velero.put(schedule);
    t.state.componentsListed = true;
    t.velero.listed = true;
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await settle(t.loop);
    t.unwatch();
    t.loop.queue.stop();
    return { left: t.velero.views().map((v) => v.metadata.name), asked: t.namespacesAsked };
  }

  test('a namespace that exists but is no tenant env (relabelled, or a selector set wrong): its Schedules are left alone', async () => {
    expect(await sweepWith(['acme-prod', 'unlabelled'], scoped('kept-schedule', 'unlabelled'))).toEqual({ left: ['kept-schedule'], asked: ['unlabelled'] });
  });

  test('a namespace that is gone: its Schedules are swept', async () => {
    expect(await sweepWith(['acme-prod'], scoped('orphan-schedule', 'deleted-env'))).toEqual({ left: [], asked: ['deleted-env'] });
  });
});
