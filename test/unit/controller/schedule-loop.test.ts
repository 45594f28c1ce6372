import { claimSummary, podRecord, workloadSummary } from '../components/summaries.js';
import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroChange, type VeleroStore } from '../../../src/api/use-cases/ports.js';
import { ComponentRegistry, type ClaimSummary, type PodRecord, type WorkloadSummary } from '../../../src/components/component-registry.js';
import type { ControllerDeps } from '../../../src/controller/controller-deps.js';
import { scheduleLoop } from '../../../src/controller/schedule-loop.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';
import { viewSchedule, type ScheduleView } from '../../../src/velero/velero-views.js';
import type { VeleroObject, VeleroResource } from '../../../src/velero/velero-resources.js';

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ORPHAN = 'ffffffffffffffffffffffffffffffff';
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c', tenant_name: 'acme', tenant_env_name: 'prod' };
const log = pino({ level: 'silent' });

const policyText = (schedule: string) => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: db
    profile: mysql
    protection: { schedule: "${schedule}", keep: 3 }
`;

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
      const spec = { ...(held.spec as object), ...((patch as { spec?: object }).spec ?? {}) };
      this.put({ ...held, spec });
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
    schedulesOf: (serviceId) => this.views().filter((v) => v.metadata.labels['wutong.io/service_id'] === serviceId && !this.unseen.has(v.metadata.name)),
    scheduleServiceIds: () => [...new Set(this.views().map((v) => v.metadata.labels['wutong.io/service_id'] ?? ''))],
    deleteRequestsFor: () => [],
    storageLocation: () => undefined,
    remember: (resource, raw) => {
      const view = viewSchedule(raw);
      if (view) for (const l of this.#listeners) l({ resource, name: view.metadata.name, serviceId: view.metadata.labels['wutong.io/service_id'] ?? '' });
    },
    forget: () => undefined,
    subscribe: (listener) => {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    },
    synced: () => this.listed,
  };
}

function runningComponent(registry: ComponentRegistry): void {
  const workload: WorkloadSummary = workloadSummary({
    kind: 'StatefulSet', namespace: 'acme-prod', name: 'gr0a1b2c', uid: 'u-sts', labels, replicas: 1,
    template: { labels, containers: [{ name: 'db', image: 'mysql:8.0' }] },
  });
  const claim: ClaimSummary = claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'acme-prod', name: 'data-gr0a1b2c-0', uid: 'u-pvc', labels, phase: 'Bound', finalizers: [] });
  const pod: PodRecord = podRecord({ kind: 'Pod', namespace: 'acme-prod', name: 'gr0a1b2c-0', uid: 'u-pod', labels, phase: 'Running', ready: true });
  registry.upsert(workload);
  registry.upsert(claim);
  registry.upsert(pod);
}

function setup() {
  const velero = new VeleroStandIn();
  const registry = new ComponentRegistry();
  const events: string[] = [];
  const recorder: EventRecorder = {
    record: (object, _type, reason) => Promise.resolve(void events.push(`${object.kind}/${object.name} ${reason}`)),
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
  const loop = scheduleLoop(deps, 60_000);
  const unwatch = loop.watch();
  return { velero, registry, events, state, policy, loop, unwatch };
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
    t.velero.put({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: `${ORPHAN}-schedule`, labels: { 'wutong.io/service_id': ORPHAN, 'backup.wutong.io/schedule-source': 'policy' } }, spec: { schedule: '0 3 * * *', template: {} } });
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
    expect(t.velero.writes.sort()).toEqual([`create ${SID}-schedule`, `delete ${ORPHAN}-schedule`]);
    expect(t.events).toEqual(['StatefulSet/gr0a1b2c ScheduleCreated']);
    t.loop.queue.stop();
    t.unwatch();
  });

  test('does not create a second Schedule next to a region-API one the cache has not seen yet', async () => {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    t.velero.put({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: SID, labels: { 'wutong.io/service_id': SID } }, spec: { schedule: '0 1 * * *', template: {} } });
    t.velero.unseen.add(SID);
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes).toEqual([]);
    t.loop.queue.stop();
    t.unwatch();
  });

  test('follows the component: stopped pauses, running again resumes; a policy change updates; gone deletes', async () => {
    const t = setup();
    t.velero.listed = true;
    t.state.componentsListed = true;
    runningComponent(t.registry);
    t.loop.queue.start();
    for (const key of t.loop.keys()) t.loop.queue.add(key);
    await t.loop.queue.idle();
    expect(t.velero.writes).toEqual([`create ${SID}-schedule`]);
    // Wutong's stop: workload and pods go, the PVC stays.
    t.registry.remove('Pod', 'acme-prod', 'gr0a1b2c-0');
    t.registry.remove('StatefulSet', 'acme-prod', 'gr0a1b2c');
    await t.loop.queue.idle();
    expect(t.velero.writes.slice(1)).toEqual([`patch ${SID}-schedule {"paused":true}`]);
    // While stopped the rule that made it still protects it: nothing is deleted.
    t.policy.replace(loadPolicy(policyText('0 4 * * *'), 'policy', 2));
    await t.loop.queue.idle();
    expect(t.velero.objects.get(`${SID}-schedule`)?.spec).toMatchObject({ schedule: '0 4 * * *', paused: true });
    runningComponent(t.registry);
    await t.loop.queue.idle();
    expect(t.velero.writes.at(-1)).toBe(`patch ${SID}-schedule {"paused":false}`);
    // Wutong's delete: the PVC goes too.
    for (const [kind, name] of [['Pod', 'gr0a1b2c-0'], ['StatefulSet', 'gr0a1b2c'], ['PersistentVolumeClaim', 'data-gr0a1b2c-0']] as const) t.registry.remove(kind, 'acme-prod', name);
    await t.loop.queue.idle();
    expect(t.velero.writes.at(-1)).toBe(`delete ${SID}-schedule`);
    expect(t.velero.objects.size).toBe(0);
    t.loop.queue.stop();
    t.unwatch();
  });
});
