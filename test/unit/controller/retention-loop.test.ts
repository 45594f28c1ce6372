import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroChange, type VeleroStore } from '../../../src/velero/velero-ports.js';
import { componentKey } from '../../../src/components/component-key.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import type { ControllerDeps } from '../../../src/controller/controller-deps.js';
import { retentionLoop } from '../../../src/controller/retention-loop.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import type { PolicyStore } from '../../../src/policy/policy-store.js';
import { scheduleName } from '../../../src/velero/object-names.js';
import type { VeleroObject, VeleroResource } from '../../../src/velero/velero-resources.js';
import { backupComponent, restoreComponent, scheduleComponent } from '../../../src/velero/velero-scope.js';
import {
  viewBackup,
  viewDeleteBackupRequest,
  viewPodVolumeBackup,
  viewRestore,
  viewSchedule,
  type BackupView,
  type DeleteBackupRequestView,
  type RestoreView,
  type ScheduleView,
  type BackupStorageLocationView,
} from '../../../src/velero/velero-views.js';
import { restoreRequestObject, readRestoreRequest, type RestoreRequestRecord, type RestoreStage } from '../../../src/restore/restore-request.js';
import type { ComponentLock } from '../../../src/components/component-lock.js';
import { claimSummary } from '../components/summaries.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

// Retention deletes a component's completed backups beyond its Schedule's
// keep. A component is (namespace, service_id): a Schedule, Backup or
// Restore labelled with the same service_id but scoped to another namespace
// is another component's, and never counts for (or is deleted by) this one's
// retention.

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const A = componentKey('acme-prod', SID);
const B = componentKey('mallory-dev', SID);
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr0a1b2c', tenant_name: 'acme', tenant_env_name: 'prod' };

type Raw = Record<string, unknown> & { metadata: Record<string, unknown> };

/** Velero's namespace as the API server holds it, and a cache over it that answers as the real one (label and scope). */
class VeleroStandIn {
  readonly objects: Record<VeleroResource, Map<string, Raw>> = {
    backups: new Map(), restores: new Map(), schedules: new Map(), podvolumebackups: new Map(), podvolumerestores: new Map(),
    deletebackuprequests: new Map(), downloadrequests: new Map(), backupstoragelocations: new Map(),
  };
  readonly created: string[] = [];
  readonly patched: string[] = [];
  /** BackupStorageLocations by name, as the cache's view would have them. */
  readonly locations = new Map<string, BackupStorageLocationView>();
  readonly listeners = new Set<(change: VeleroChange) => void>();

  put(resource: VeleroResource, raw: Raw): void {
    this.objects[resource].set(String(raw.metadata.name), raw);
  }
  backups(): BackupView[] {
    return [...this.objects.backups.values()].map(viewBackup).filter((v): v is BackupView => v !== undefined);
  }
  restores(): RestoreView[] {
    return [...this.objects.restores.values()].map(viewRestore).filter((v): v is RestoreView => v !== undefined);
  }
  schedules(): ScheduleView[] {
    return [...this.objects.schedules.values()].map(viewSchedule).filter((v): v is ScheduleView => v !== undefined);
  }
  requests(): DeleteBackupRequestView[] {
    return [...this.objects.deletebackuprequests.values()].map(viewDeleteBackupRequest).filter((v): v is DeleteBackupRequestView => v !== undefined);
  }
  readonly backupOf = (name: string): BackupView | undefined => this.backups().find((b) => b.metadata.name === name);

  readonly store: VeleroStore = {
    list: (resource, selector) => {
      const [key, value] = selector.split('=');
      return Promise.resolve([...this.objects[resource].values()].filter((raw) => (raw.metadata.labels as Record<string, string> | undefined)?.[key ?? ''] === value));
    },
    get: (resource, name) => Promise.resolve(this.objects[resource].get(name)),
    create: (object: VeleroObject) => {
      const resource: VeleroResource = object.kind === 'DeleteBackupRequest' ? 'deletebackuprequests' : 'backups';
      if (this.objects[resource].has(object.metadata.name)) return Promise.reject(new AlreadyExists(object.metadata.name));
      const named = typeof object.spec.backupName === 'string' ? object.spec.backupName : object.metadata.name;
      this.created.push(`${object.kind} ${named}`);
      const raw = { ...structuredClone(object), metadata: { ...structuredClone(object.metadata), uid: `u-${object.metadata.name}` } } as Raw;
      this.put(resource, raw);
      return Promise.resolve(raw);
    },
    // A JSON merge patch of metadata.annotations, refused (409, as the API server) when its resourceVersion is not the object's.
    patch: (resource, name, patch) => {
      const raw = this.objects[resource].get(name);
      const meta = (patch as { metadata?: { resourceVersion?: string; annotations?: Record<string, string> } }).metadata ?? {};
      if (!raw) return Promise.reject(new Error('404'));
      const current = typeof raw.metadata.resourceVersion === 'string' ? raw.metadata.resourceVersion : '';
      if (meta.resourceVersion !== undefined && meta.resourceVersion !== current) return Promise.reject(new Error('409 Conflict'));
      const version = Number(current || 0) + 1;
      raw.metadata = { ...raw.metadata, resourceVersion: String(version), annotations: { ...(raw.metadata.annotations as Record<string, string> | undefined), ...meta.annotations } };
      this.patched.push(`${resource}/${name}`);
      return Promise.resolve(raw);
    },
    remove: () => Promise.reject(new Error('not used')),
  };

  readonly cache: VeleroCache = {
    readiness: () => ({ ready: true }),
    backupsOf: (key) => this.backups().filter((b) => backupComponent(b) === key),
    backup: (name) => this.backupOf(name),
    podVolumeBackupsOf: (name) =>
      [...this.objects.podvolumebackups.values()].map(viewPodVolumeBackup).filter((v) => v !== undefined && v.metadata.labels['velero.io/backup-name'] === name) as never[],
    restoresOf: (key) => this.restores().filter((r) => restoreComponent(r, this.backupOf) === key),
    restore: (name) => this.restores().find((r) => r.metadata.name === name),
    podVolumeRestoresOf: () => [],
    schedulesOf: (key) => this.schedules().filter((s) => scheduleComponent(s) === key),
    scheduleComponents: () => [...new Set(this.schedules().map(scheduleComponent).filter((k) => k !== undefined))],
    deleteRequestsFor: (name) => this.requests().filter((r) => r.spec.backupName === name),
    storageLocation: (name) => this.locations.get(name),
    remember: () => undefined,
    forget: () => undefined,
    subscribe: (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
    synced: () => true,
  };
}

const schedule = (name: string, namespace: string, keep?: number): Raw => ({
  metadata: { name, namespace: 'velero', uid: `u-${name}`, labels: { 'wutong.io/service_id': SID }, annotations: keep === undefined ? {} : { 'backup.wutong.io/keep': String(keep) } },
  spec: { schedule: '0 3 * * *', template: { includedNamespaces: [namespace] } },
});
/** A Completed Backup with volume data, labelled with SID, scoped to `namespace`, completed `day` days into December. */
const completed = (velero: VeleroStandIn, name: string, namespace: string, day: number): void => {
  const at = `2026-12-${String(day).padStart(2, '0')}T03:20:00Z`;
  velero.put('backups', {
    metadata: { name, namespace: 'velero', uid: `u-${name}`, labels: { 'wutong.io/service_id': SID } },
    spec: { includedNamespaces: [namespace] },
    status: { phase: 'Completed', startTimestamp: at, completionTimestamp: at },
  });
  velero.put('podvolumebackups', { metadata: { name: `${name}-pvb`, namespace: 'velero', labels: { 'velero.io/backup-name': name } }, spec: { volume: 'data' }, status: { phase: 'Completed' } });
};

/** A restore request record of ours (src/restore/) for component A, at `stage`, reading `backupName`. */
function restoreRequest(name: string, backupName: string, stage: RestoreStage): Record<string, unknown> {
  const object = restoreRequestObject(name, {
    restoreName: name,
    component: { namespace: 'acme-prod', serviceId: SID, serviceAlias: 'gr0a1b2c' },
    backupName,
    operator: 'alice',
    requestedAt: '2026-12-09T00:00:00Z',
  }) as { metadata: Record<string, unknown>; data: Record<string, string> };
  object.metadata.uid = `u-${name}`;
  object.data.progress = JSON.stringify({ stage, message: '', since: '2026-12-09T00:00:00Z' });
  return object;
}

function setup(clock = { now: new Date('2026-12-10T00:00:00Z') }) {
  const velero = new VeleroStandIn();
  const records: Record<string, unknown>[] = [];
  const lockTaken: string[] = [];
  const registry = new ComponentRegistry(tenantDirectory({ 'acme-prod': ['acme', 'prod'], 'mallory-dev': ['mallory', 'dev'] }));
  for (const namespace of ['acme-prod', 'mallory-dev']) {
    registry.upsert(claimSummary({ kind: 'PersistentVolumeClaim', namespace, name: 'data-0', uid: `u-${namespace}`, labels }));
  }
  const events: string[] = [];
  const recorder: EventRecorder = { record: (o, _type, reason, message) => Promise.resolve(void events.push(`${o.namespace}/${o.name} ${reason}: ${message}`)) };
  const deps: ControllerDeps = {
    registry,
    componentsSynced: () => true,
    cache: velero.cache,
    store: velero.store,
    policy: {} as PolicyStore,
    events: recorder,
    settings: { veleroNamespace: 'velero', storageLocation: 'default' },
    now: () => clock.now,
    log: pino({ level: 'silent' }),
  };
  const lock: ComponentLock = {
    withLock: (key, work) => {
      lockTaken.push(key);
      return work();
    },
  };
  const retention = {
    ...deps,
    restoreIndex: { of: (key: string) => (key === A ? records.map(readRestoreRequest).filter((r): r is RestoreRequestRecord => r !== undefined) : []) },
    restoreRequests: { list: () => Promise.resolve([...records]) },
    lock,
    deletionBackoff: { baseMs: 60_000, maxMs: 4 * 60_000 },
  };
  const newLoop = (): ReturnType<typeof retentionLoop> => retentionLoop(retention, 60_000);
  let loop = newLoop();
  /** A full pass: every component the loop would look at on a resync, and both components besides. */
  const pass = async (): Promise<void> => {
    loop.queue.start();
    for (const key of new Set([...loop.keys(), A, B])) loop.queue.add(key);
    await loop.queue.idle();
    loop.queue.stop();
  };
  /** A controller restart: a new loop, nothing kept in memory. */
  const restart = (): void => {
    loop = newLoop();
  };
  return { velero, events, get loop() { return loop; }, pass, records, lockTaken, clock, restart };
}

test('another namespace\'s Schedule with the same service_id label and a keep never prunes this component\'s backups', async () => {
  const t = setup();
  // A: a Schedule without keep (TTL only), four backups. B: a Schedule keeping 1 under A's service_id, named as the region API names one.
  t.velero.put('schedules', schedule(scheduleName({ namespace: 'acme-prod', serviceId: SID }), 'acme-prod'));
  t.velero.put('schedules', schedule(SID, 'mallory-dev', 1));
  for (const day of [1, 2, 3, 4]) completed(t.velero, `a-${day}`, 'acme-prod', day);
  completed(t.velero, 'b-1', 'mallory-dev', 1);
  completed(t.velero, 'b-2', 'mallory-dev', 2);
  expect(t.loop.keys()).toEqual([B]);
  await t.pass();
  // Only B's own older backup goes; A's four stay.
  expect(t.velero.created).toEqual(['DeleteBackupRequest b-1']);
  expect(t.events).toEqual(['mallory-dev/data-0 RetentionPruned: deleted 1 of 2 completed backups (keep 1): b-1']);
});

test('this component\'s keep counts only its own backups, and deletes none of another namespace\'s with the same label', async () => {
  const t = setup();
  t.velero.put('schedules', schedule(scheduleName({ namespace: 'acme-prod', serviceId: SID }), 'acme-prod', 2));
  for (const day of [1, 2, 3, 4]) completed(t.velero, `a-${day}`, 'acme-prod', day);
  // B's backups are older and newer than A's: were they counted, A's plan would change.
  for (const day of [5, 6, 7]) completed(t.velero, `b-${day}`, 'mallory-dev', day);
  completed(t.velero, 'b-1', 'mallory-dev', 1);
  // A Backup labelled with SID whose scope is every namespace is nobody's: neither counted nor deleted.
  t.velero.put('backups', { metadata: { name: 'wide', namespace: 'velero', uid: 'u-wide', labels: { 'wutong.io/service_id': SID } }, spec: {}, status: { phase: 'Completed', completionTimestamp: '2026-11-01T00:00:00Z' } });
  expect(t.loop.keys()).toEqual([A]);
  await t.pass();
  expect(t.velero.created.sort()).toEqual(['DeleteBackupRequest a-1', 'DeleteBackupRequest a-2']);
  expect(t.events).toEqual(['acme-prod/data-0 RetentionPruned: deleted 2 of 4 completed backups (keep 2): a-1, a-2']);
});

test('a restore counts for the component its scope names (a region-API one, for its Backup\'s): another namespace\'s restore naming this component\'s backup protects nothing', async () => {
  const t = setup();
  t.velero.put('schedules', schedule(scheduleName({ namespace: 'acme-prod', serviceId: SID }), 'acme-prod', 1));
  for (const day of [1, 2, 3]) completed(t.velero, `a-${day}`, 'acme-prod', day);
  completed(t.velero, 'b-1', 'mallory-dev', 1);
  // A region-API Restore (no includedNamespaces) of A's oldest backup, still running: A's a-1 is protected.
  t.velero.put('restores', { metadata: { name: 'r-a', namespace: 'velero', uid: 'u-r-a', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: 'a-1' }, status: { phase: 'InProgress' } });
  // B's Restore scoped to B's namespace names A's a-2: it is B's, and does not keep A's a-2.
  t.velero.put('restores', { metadata: { name: 'r-b', namespace: 'velero', uid: 'u-r-b', labels: { 'wutong.io/service_id': SID } }, spec: { backupName: 'a-2', includedNamespaces: ['mallory-dev'] }, status: { phase: 'InProgress' } });
  await t.pass();
  expect(t.velero.created).toEqual(['DeleteBackupRequest a-2']);
  expect(t.events).toEqual(['acme-prod/data-0 RetentionPruned: deleted 1 of 3 completed backups (keep 1): a-2; kept beyond keep: a-1 (unfinished restore)']);
});

// Velero v1.11.1 deletes every Restore of a backup it deletes (pkg/controller/backup_deletion_controller.go
// L324-351). Our restore requests reach a Velero Restore only in their Restoring stage: before that the
// record is all there is to see, and its PVCs may already be gone.
test('a restore request of ours that has not finished keeps the backup it reads, though no Velero Restore exists yet', async () => {
  const t = setup();
  t.velero.put('schedules', schedule(scheduleName({ namespace: 'acme-prod', serviceId: SID }), 'acme-prod', 1));
  for (const day of [1, 2, 3]) completed(t.velero, `a-${day}`, 'acme-prod', day);
  t.records.push(restoreRequest('restore-x', 'a-1', 'ReplacingVolumes'), restoreRequest('restore-y', 'a-2', 'Completed'));
  await t.pass();
  expect(t.velero.created).toEqual(['DeleteBackupRequest a-2']);
  expect(t.events).toEqual(['acme-prod/data-0 RetentionPruned: deleted 1 of 3 completed backups (keep 1): a-2; kept beyond keep: a-1 (unfinished restore)']);
  // The decision was made under the API's component lock, so a restore asked for meanwhile counts.
  expect(t.lockTaken).toEqual([A]);
});

// Velero v1.11.1 refuses every DeleteBackupRequest of a backup in a ReadOnly location
// (pkg/controller/backup_deletion_controller.go L199-206) and stops expiring them (gc_controller.go L150-157).
test('a ReadOnly storage location pauses retention: nothing is asked of Velero, one Warning names the location and its mode', async () => {
  const t = setup();
  t.velero.locations.set('default', { metadata: { name: 'default', namespace: 'velero', uid: 'u-bsl', resourceVersion: '1', creationTimestamp: '', labels: {}, annotations: {} }, spec: { accessMode: 'ReadOnly' }, status: { phase: 'Available', lastValidationTime: '2026-12-09T23:59:30Z' } });
  t.velero.put('schedules', schedule(scheduleName({ namespace: 'acme-prod', serviceId: SID }), 'acme-prod', 1));
  for (const day of [1, 2, 3]) {
    completed(t.velero, `a-${day}`, 'acme-prod', day);
    (t.velero.objects.backups.get(`a-${day}`)!.spec as Record<string, unknown>).storageLocation = 'default';
  }
  await t.pass();
  await t.pass();
  expect(t.velero.created).toEqual([]);
  expect(t.events).toHaveLength(1);
  expect(t.events[0]).toMatch(/^acme-prod\/data-0 RetentionPaused: retention paused: BackupStorageLocation velero\/default has accessMode ReadOnly: Velero neither deletes nor expires its backups/);
  // Back to ReadWrite: pruning goes on.
  t.velero.locations.set('default', { ...t.velero.locations.get('default')!, spec: {} });
  await t.pass();
  expect(t.velero.created.sort()).toEqual(['DeleteBackupRequest a-1', 'DeleteBackupRequest a-2']);
});

// Velero v1.11.1 sets Deleting before deleting anything (backup_deletion_controller.go L228-236) and never
// reverts it: a failed deletion leaves the Backup Deleting and the request Processed with its errors (L366-371).
test('a backup stuck in Deleting is asked for again with backoff; the attempts live on the Backup, so a restart neither repeats nor forgets one', async () => {
  const clock = { now: new Date('2026-12-10T00:00:00Z') };
  const t = setup(clock);
  // No Schedule keeps a number: the user deleted it through the API, and that failed.
  t.velero.put('backups', {
    metadata: { name: 'a-1', namespace: 'velero', uid: 'u-a-1', resourceVersion: '7', labels: { 'wutong.io/service_id': SID } },
    spec: { includedNamespaces: ['acme-prod'] },
    status: { phase: 'Deleting' },
  });
  t.velero.put('deletebackuprequests', {
    metadata: { name: 'a-1-delete-0000', namespace: 'velero', uid: 'u-d', creationTimestamp: '2026-12-09T23:59:30Z', labels: { 'velero.io/backup-name': 'a-1', 'wutong.io/service_id': SID } },
    spec: { backupName: 'a-1' },
    status: { phase: 'Processed', errors: ['error deleting backup a-1 from backup storage: connection refused'] },
  });
  expect(t.loop.keys()).toEqual([A]);
  await t.pass();
  // 30 s after the failure, the first wait (1 min) has not passed.
  expect(t.velero.created).toEqual([]);

  clock.now = new Date('2026-12-10T00:00:31Z');
  await t.pass();
  expect(t.velero.created).toEqual(['DeleteBackupRequest a-1']);
  expect(JSON.parse((t.velero.objects.backups.get('a-1')!.metadata.annotations as Record<string, string>)['backup.wutong.io/deletion-retry']!)).toEqual({ attempts: 1, lastAttemptAt: '2026-12-10T00:00:31.000Z' });
  expect(t.events).toEqual(['acme-prod/data-0 DeletionRetried: backup a-1 stuck in Deleting (error deleting backup a-1 from backup storage: connection refused): asked Velero again, attempt 1']);

  // Velero processed the retry, and it failed again (Velero deletes the older requests first, L426-448).
  for (const [name, raw] of t.velero.objects.deletebackuprequests) {
    if (name === 'a-1-delete-0000') t.velero.objects.deletebackuprequests.delete(name);
    else Object.assign(raw, { metadata: { ...raw.metadata, creationTimestamp: '2026-12-10T00:00:32Z' }, status: { phase: 'Processed', errors: ['still refused'] } });
  }
  // A restart right after: the second wait (2 min from the first retry) still holds, nothing is asked twice.
  t.restart();
  clock.now = new Date('2026-12-10T00:02:00Z');
  await t.pass();
  expect(t.velero.created).toHaveLength(1);
  clock.now = new Date('2026-12-10T00:02:32Z');
  await t.pass();
  expect(t.velero.created).toEqual(['DeleteBackupRequest a-1', 'DeleteBackupRequest a-1']);
  expect(JSON.parse((t.velero.objects.backups.get('a-1')!.metadata.annotations as Record<string, string>)['backup.wutong.io/deletion-retry']!)).toMatchObject({ attempts: 2 });
  // The requests of the two attempts have names of their own: a retry of an attempt meets AlreadyExists.
  expect(new Set(t.velero.objects.deletebackuprequests.keys()).size).toBe(2);
});

test('a backup in Deleting whose request Velero has not processed yet is Velero\'s to finish: no retry', async () => {
  const clock = { now: new Date('2026-12-10T05:00:00Z') };
  const t = setup(clock);
  t.velero.put('backups', { metadata: { name: 'a-1', namespace: 'velero', uid: 'u-a-1', resourceVersion: '7', labels: { 'wutong.io/service_id': SID } }, spec: { includedNamespaces: ['acme-prod'] }, status: { phase: 'Deleting' } });
  t.velero.put('deletebackuprequests', {
    metadata: { name: 'a-1-delete-0000', namespace: 'velero', uid: 'u-d', creationTimestamp: '2026-12-09T23:59:30Z', labels: { 'velero.io/backup-name': 'a-1' } },
    spec: { backupName: 'a-1' },
    status: { phase: 'InProgress' },
  });
  await t.pass();
  expect(t.velero.created).toEqual([]);
});
