import { claimSummary, podRecord, workloadSummary } from '../components/summaries.js';
import pino from 'pino';
import type { VeleroCache, VeleroChange, VeleroStore } from '../../../src/velero/velero-ports.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import { announcement, backupAnnouncementLoop } from '../../../src/controller/backup-announcement-loop.js';
import type { ControllerDeps } from '../../../src/controller/controller-deps.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import type { ObjectReference } from '../../../src/kube/object-reference.js';
import type { PolicyStore } from '../../../src/policy/policy-store.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from '../../../src/velero/velero-labels.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';
import { backupComponent } from '../../../src/velero/velero-scope.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

const SID = 'a'.repeat(32);
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'db', tenant_name: 'acme', tenant_env_name: 'prod' };
const NOW = new Date('2026-03-10T12:00:00Z');

/** A Backup as the API server stores it (raw JSON), in the given phase. */
function rawBackup(name: string, phase: string, over: { completionTimestamp?: string; announced?: string; serviceId?: string; failureReason?: string; namespace?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name,
      namespace: 'velero',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: '2026-03-10T11:00:00Z',
      labels: { [VELERO_LABEL.serviceId]: over.serviceId ?? SID, [VELERO_LABEL.scheduleName]: `${SID}-schedule` },
      annotations: over.announced ? { [VELERO_ANNOTATION.announcedPhase]: over.announced } : {},
    },
    spec: { includedNamespaces: [over.namespace ?? 'acme-prod'] },
    status: { phase, startTimestamp: '2026-03-10T11:00:00Z', ...(over.completionTimestamp && { completionTimestamp: over.completionTimestamp }), ...(over.failureReason && { failureReason: over.failureReason }) },
  };
}

/**
 * Plays the Velero namespace of the API server for the loop: Backups by name,
 * merge patches of their annotations with increasing resourceVersions, and
 * the change feed the watch-backed cache gives. Only what the loop calls.
 */
function veleroStandIn() {
  const stored = new Map<string, Record<string, unknown>>();
  const listeners = new Set<(c: VeleroChange) => void>();
  let version = 1;
  const view = (name: string): BackupView | undefined => viewBackup(stored.get(name));
  const put = (raw: Record<string, unknown>): void => {
    const meta = raw.metadata as { name: string; resourceVersion: string };
    meta.resourceVersion = String(++version);
    stored.set(meta.name, raw);
    const component = backupComponent(viewBackup(raw)!);
    for (const l of listeners) l({ resource: 'backups', name: meta.name, ...(component ? { component } : {}) });
  };
  const patches: string[] = [];
  const cache = {
    backup: view,
    // As the real cache: by label and scope (velero-scope.ts).
    backupsOf: (key: string) => [...stored.keys()].map(view).filter((b): b is BackupView => b !== undefined && backupComponent(b) === key),
    podVolumeBackupsOf: () => [],
    remember: () => undefined,
    subscribe(listener: (c: VeleroChange) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    synced: () => true,
  } as Partial<VeleroCache> as VeleroCache;
  const store = {
    patch(_resource: string, name: string, patch: Record<string, unknown>) {
      const raw = structuredClone(stored.get(name));
      if (!raw) return Promise.reject(new Error(`no Backup ${name}`));
      const meta = raw.metadata as { annotations: Record<string, string> };
      Object.assign(meta.annotations, (patch.metadata as { annotations: Record<string, string> }).annotations);
      patches.push(`${name}=${meta.annotations[VELERO_ANNOTATION.announcedPhase]}`);
      put(raw);
      return Promise.resolve(raw);
    },
  } as Partial<VeleroStore> as VeleroStore;
  return { cache, store, put, patches };
}

function harness(registry = runningComponent()) {
  const velero = veleroStandIn();
  const events: string[] = [];
  /** Where each Event went: the namespace of its object. */
  const namespaces: string[] = [];
  const recorder: EventRecorder = {
    record(o: ObjectReference, type, reason, message) {
      namespaces.push(o.namespace);
      events.push(`${o.kind}/${o.name} ${type} ${reason}: ${message}`);
      return Promise.resolve();
    },
  };
  const deps: ControllerDeps = {
    registry,
    componentsSynced: () => true,
    cache: velero.cache,
    store: velero.store,
    policy: {} as PolicyStore,
    events: recorder,
    settings: { veleroNamespace: 'velero', storageLocation: 'default' },
    now: () => NOW,
    log: pino({ level: 'silent' }),
  };
  const start = () => {
    const loop = backupAnnouncementLoop(deps);
    const unwatch = loop.watch();
    loop.queue.start();
    for (const key of loop.keys()) loop.queue.add(key);
    return { loop, stop: () => (unwatch(), loop.queue.stop()) };
  };
  return { velero, events, namespaces, start };
}

const TENANTS = { 'acme-prod': ['acme', 'prod'], 'mallory-dev': ['mallory', 'dev'] } as const;

function runningComponent(): ComponentRegistry {
  const registry = new ComponentRegistry(tenantDirectory(TENANTS));
  registry.upsert(workloadSummary({ kind: 'StatefulSet', namespace: 'acme-prod', name: 'db', uid: 'u-sts', labels, replicas: 1, template: { labels, containers: [] } }));
  registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'acme-prod', name: 'data-db-0', uid: 'u-pvc', labels, phase: 'Bound', finalizers: [] }));
  registry.upsert(podRecord({ kind: 'Pod', namespace: 'acme-prod', name: 'db-0', uid: 'u-pod', labels, phase: 'Running', ready: true }));
  return registry;
}

test('a Backup that starts and completes is told twice on the workload, and never again on resyncs', async () => {
  const { velero, events, start } = harness();
  const { loop, stop } = start();
  velero.put(rawBackup('b1', 'InProgress'));
  await loop.queue.idle();
  velero.put(rawBackup('b1', 'Completed', { completionTimestamp: '2026-03-10T11:30:00Z', announced: 'InProgress' }));
  await loop.queue.idle();
  // A resync has nothing to queue: every Backup's news was told.
  expect([...loop.keys()]).toEqual([]);
  loop.queue.add('b1');
  await loop.queue.idle();
  stop();
  expect(events).toEqual([
    `StatefulSet/db Normal BackupStarted: Backup b1 started by Schedule ${SID}-schedule`,
    'StatefulSet/db Normal BackupCompleted: Backup b1 completed',
  ]);
  expect(velero.patches).toEqual(['b1=InProgress', 'b1=Completed']);
});

test('after a restart, what the annotation says was told is not told again, and what was not is', async () => {
  const { velero, events, start } = harness();
  velero.put(rawBackup('told', 'Completed', { completionTimestamp: '2026-03-10T11:30:00Z', announced: 'Completed' }));
  velero.put(rawBackup('half', 'Completed', { completionTimestamp: '2026-03-10T11:50:00Z', announced: 'InProgress' }));
  const { loop, stop } = start();
  await loop.queue.idle();
  stop();
  expect(events).toEqual(['StatefulSet/db Normal BackupCompleted: Backup half completed']);
});

test('a Backup that had finished more than an hour before it was first seen (Velero backup sync) is not told', async () => {
  const { velero, events, start } = harness();
  velero.put(rawBackup('synced-from-storage', 'Completed', { completionTimestamp: '2026-03-10T10:59:00Z' }));
  velero.put(rawBackup('recent', 'Completed', { completionTimestamp: '2026-03-10T11:01:00Z' }));
  const { loop, stop } = start();
  await loop.queue.idle();
  stop();
  expect(events).toEqual(['StatefulSet/db Normal BackupCompleted: Backup recent completed']);
  expect(velero.patches).toEqual(['recent=Completed']);
});

test('a failed Backup of a stopped component is a Warning on its PVC, with Velero\'s reason', async () => {
  const registry = new ComponentRegistry(tenantDirectory(TENANTS));
  registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'acme-prod', name: 'data-db-0', uid: 'u-pvc', labels, phase: 'Bound', finalizers: [] }));
  const { velero, events, start } = harness(registry);
  const { loop, stop } = start();
  velero.put(rawBackup('b2', 'PartiallyFailed', { completionTimestamp: '2026-03-10T11:59:00Z', failureReason: 'pod volume backup failed' }));
  await loop.queue.idle();
  stop();
  expect(events).toEqual(['PersistentVolumeClaim/data-db-0 Warning BackupFailed: Backup b2 ended PartiallyFailed: pod volume backup failed (velero backup describe b2 --details)']);
});

test('a Backup of a component the registry does not know is not told, and nothing is written', async () => {
  const { velero, events, start } = harness();
  const { loop, stop } = start();
  velero.put(rawBackup('other', 'InProgress', { serviceId: 'f'.repeat(32) }));
  await loop.queue.idle();
  stop();
  expect(events).toEqual([]);
  expect(velero.patches).toEqual([]);
});

test('a Backup is told only on the component its scope and label name: never on another namespace\'s with the same service_id', async () => {
  const registry = runningComponent();
  // Tenant B forges a workload and a PVC with A's labels in her own namespace.
  registry.upsert(workloadSummary({ kind: 'Deployment', namespace: 'mallory-dev', name: 'forged', uid: 'u-forged', labels, replicas: 0, template: { labels, containers: [] } }));
  registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace: 'mallory-dev', name: 'forged-data', uid: 'u-forged-pvc', labels, phase: 'Bound', finalizers: [] }));
  const { velero, events, namespaces, start } = harness(registry);
  const { loop, stop } = start();
  velero.put(rawBackup('a1', 'Completed', { completionTimestamp: '2026-03-10T11:30:00Z' }));
  await loop.queue.idle();
  // A's Backup (scoped to acme-prod): told on A's workload, in A's namespace, and nowhere in B's.
  expect(events).toEqual(['StatefulSet/db Normal BackupCompleted: Backup a1 completed']);
  expect(namespaces).toEqual(['acme-prod']);
  // A Backup labelled with A's service_id but scoped to B's namespace is B's: it is never told on A's workload.
  velero.put(rawBackup('b1', 'Completed', { completionTimestamp: '2026-03-10T11:40:00Z', namespace: 'mallory-dev' }));
  // One labelled with A's service_id whose scope is every namespace is nobody's: not told at all.
  velero.put({ ...rawBackup('wide', 'Completed', { completionTimestamp: '2026-03-10T11:45:00Z' }), spec: { includedNamespaces: ['*'] } });
  await loop.queue.idle();
  for (const key of loop.keys()) loop.queue.add(key);
  await loop.queue.idle();
  stop();
  expect(events.slice(1)).toEqual(['Deployment/forged Normal BackupCompleted: Backup b1 completed']);
  expect(namespaces.slice(1)).toEqual(['mallory-dev']);
  expect(velero.patches).toEqual(['a1=Completed', 'b1=Completed']);
});

describe('announcement (the decision alone)', () => {
  const b = (phase: string, over: Parameters<typeof rawBackup>[2] = {}): BackupView => viewBackup(rawBackup('x', phase, over))!;
  test.each(['New', '', 'Finalizing', 'WaitingForPluginOperations', 'Deleting'])('phase "%s" is not news', (phase) => {
    expect(announcement(b(phase), 0, NOW)).toBeUndefined();
  });
  test('a finished Backup already told is not told again, whatever it says next', () => {
    expect(announcement(b('Failed', { announced: 'Completed' }), 0, NOW)).toBeUndefined();
  });
  test('FailedValidation and Failed are BackupFailed warnings; Completed names the size', () => {
    expect(announcement(b('FailedValidation'), 0, NOW)).toMatchObject({ type: 'Warning', reason: 'BackupFailed' });
    expect(announcement(b('Failed'), 0, NOW)).toMatchObject({ type: 'Warning', reason: 'BackupFailed' });
    expect(announcement(b('Completed'), 83_000_000, NOW)?.message).toBe('Backup x completed: 83 MB of volume data');
  });
});
