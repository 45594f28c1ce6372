import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroChange, type VeleroStore } from '../../../src/api/use-cases/ports.js';
import { ComponentRegistry, type WorkloadSummary } from '../../../src/components/component-registry.js';
import { readUpgradeHold, upgradeHoldValue, type UpgradeHold } from '../../../src/components/upgrade-hold.js';
import { upgradeHoldLoop, type UpgradeHoldDeps } from '../../../src/controller/upgrade-hold-loop.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import type { WorkloadPatcher } from '../../../src/kube/workload-patcher.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';
import type { VeleroObject } from '../../../src/velero/velero-resources.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';
import { claimSummary, podRecord } from '../components/summaries.js';

const SID = '0123456789abcdef0123456789abcdef';
const KEY = 'backup.wutong.io/upgrade-hold';
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr1234', tenant_name: 'acme', tenant_env_name: 'prod' };
const HOLD: UpgradeHold = { state: 'held', heldAt: '2026-12-02T08:00:00Z', backup: `${SID}-upgrade-20261202080000`, reason: 'image mysql:8.0.36 → mysql:8.0.37', partition: 0 };

const policy = (backupBeforeUpgrade: boolean) =>
  loadPolicy(
    `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: db
    profile: mysql
    protection: { schedule: "@daily", ttl: 7d, backupBeforeUpgrade: ${backupBeforeUpgrade}, upgradeHoldLimit: 10m }
`,
    'policy.yaml',
    1,
  );

function statefulSet(hold: UpgradeHold | undefined, resourceVersion = '10'): WorkloadSummary {
  return {
    kind: 'StatefulSet',
    namespace: 'shop',
    name: 'gr1234',
    uid: 'u-sts',
    labels,
    resourceVersion,
    annotations: hold ? { [KEY]: upgradeHoldValue(hold) } : {},
    replicas: 2,
    template: { labels, containers: [{ name: 'mysql', image: 'mysql:8.0.37' }] },
    rollout: { kind: 'StatefulSet', rollingUpdate: true, partition: 2 },
  };
}

function harness(options: { backupBeforeUpgrade?: boolean; existing?: string; now?: string } = {}) {
  const registry = new ComponentRegistry();
  registry.upsert(statefulSet(HOLD));
  registry.upsert(claimSummary({ namespace: 'shop', name: 'manual1001-gr1234-0', uid: 'u-pvc', labels }));
  registry.upsert(podRecord({ namespace: 'shop', name: 'gr1234-0', uid: 'u-pod', labels }));
  const backups = new Map<string, BackupView>();
  const listeners = new Set<(c: VeleroChange) => void>();
  const created: VeleroObject[] = [];
  const live = new Map<string, Record<string, unknown>>();
  if (options.existing) live.set(HOLD.backup, { metadata: { name: HOLD.backup, namespace: 'velero', uid: 'b', resourceVersion: '3', labels: { 'wutong.io/service_id': SID } }, status: { phase: options.existing } });
  const cache = {
    backup: (name: string) => backups.get(name),
    schedulesOf: () => [],
    remember(_resource: string, raw: unknown) {
      const view = viewBackup(raw);
      if (view) backups.set(view.metadata.name, view);
    },
    subscribe(listener: (c: VeleroChange) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    synced: () => true,
  } as Partial<VeleroCache> as VeleroCache;
  const store = {
    get: (_resource: string, name: string) => Promise.resolve(live.get(name)),
    create(object: VeleroObject) {
      if (live.has(object.metadata.name)) return Promise.reject(new AlreadyExists(object.metadata.name));
      created.push(object);
      const raw = { ...object, metadata: { ...object.metadata, uid: 'b', resourceVersion: '2' }, status: {} };
      live.set(object.metadata.name, raw);
      return Promise.resolve(raw);
    },
  } as Partial<VeleroStore> as VeleroStore;
  const events: string[] = [];
  const recorder: EventRecorder = {
    record(o, type, reason, message) {
      events.push(`${o.kind}/${o.name} ${type} ${reason}: ${message}`);
      return Promise.resolve();
    },
  };
  const patches: Array<{ patch: Record<string, unknown>; resourceVersion: string }> = [];
  const workloads: WorkloadPatcher = {
    patch(_kind, _namespace, _name, patch, resourceVersion) {
      patches.push({ patch, resourceVersion });
      return Promise.resolve('patched');
    },
  };
  const store_ = new PolicyStore(policy(options.backupBeforeUpgrade ?? true));
  let now = new Date(options.now ?? '2026-12-02T08:00:05Z');
  const deps: UpgradeHoldDeps = {
    registry,
    componentsSynced: () => true,
    cache,
    store,
    policy: store_,
    events: recorder,
    settings: { veleroNamespace: 'velero', storageLocation: 'default' },
    now: () => now,
    log: pino({ level: 'silent' }),
    workloads,
  };
  const loop = upgradeHoldLoop(deps, 300_000);
  const run = async (): Promise<void> => {
    loop.queue.start();
    for (const key of loop.keys()) loop.queue.add(key);
    await loop.queue.idle();
  };
  const setPhase = (phase: string): void => {
    const raw = live.get(HOLD.backup)!;
    raw.status = { phase };
    cache.remember('backups', raw);
  };
  return { registry, created, events, patches, run, loop, setPhase, policyStore: store_, at: (iso: string) => (now = new Date(iso)) };
}

test('a held component: one Backup of the old version, labelled as the upgrade\'s, with an UpgradeHeld Event; nothing released yet', async () => {
  const h = harness();
  await h.run();
  await h.run();
  h.loop.queue.stop();
  expect(h.created).toHaveLength(1);
  const backup = h.created[0]!;
  expect(backup.metadata).toMatchObject({
    name: HOLD.backup,
    namespace: 'velero',
    labels: { 'wutong.io/service_id': SID, 'wutong.io/backup-ttl': '7d', 'backup.wutong.io/trigger': 'upgrade' },
    annotations: { 'wutong.io/desc': `before upgrade: ${HOLD.reason}`, 'wutong.io/creator': 'wutong-backup' },
  });
  expect(backup.spec).toMatchObject({ includedNamespaces: ['shop'], labelSelector: { matchLabels: { service_id: SID } } });
  expect(h.events).toEqual([expect.stringMatching(/^StatefulSet\/gr1234 Normal UpgradeHeld: held the rollout of StatefulSet shop\/gr1234 \(image mysql:8\.0\.36 → mysql:8\.0\.37\) for Backup /)]);
  expect(h.patches).toEqual([]);
});

test('a Backup a previous leader made is adopted (live GET), not made again', async () => {
  const h = harness({ existing: 'InProgress' });
  await h.run();
  h.loop.queue.stop();
  expect(h.created).toEqual([]);
  expect(h.events).toEqual([]);
});

test('Completed: one patch with the decision\'s resourceVersion gives the partition back and marks the record released', async () => {
  const h = harness();
  await h.run();
  h.setPhase('Completed');
  h.at('2026-12-02T08:01:00Z');
  await h.run();
  h.loop.queue.stop();
  expect(h.patches).toHaveLength(1);
  const [{ patch, resourceVersion }] = h.patches as [{ patch: { metadata: { annotations: Record<string, string> }; spec: unknown }; resourceVersion: string }];
  expect(resourceVersion).toBe('10');
  expect(patch.spec).toEqual({ updateStrategy: { rollingUpdate: { partition: 0 } } });
  expect(readUpgradeHold(patch.metadata.annotations[KEY])).toEqual({ ...HOLD, state: 'released', outcome: 'completed', releasedAt: '2026-12-02T08:01:00Z' });
  expect(h.events.at(-1)).toBe(`StatefulSet/gr1234 Normal UpgradeReleased: released the rollout of StatefulSet shop/gr1234 (${HOLD.reason}): Backup ${HOLD.backup} completed, 1m after the hold`);
});

test('Failed: released at once with a Warning', async () => {
  const h = harness({ existing: 'Failed' });
  await h.run();
  h.loop.queue.stop();
  expect(h.created).toEqual([]);
  expect(h.patches).toHaveLength(1);
  expect(h.events).toEqual([expect.stringMatching(/^StatefulSet\/gr1234 Warning UpgradeBackupFailed: .* WITHOUT a backup: Backup \S+ ended Failed/)]);
});

test('the bound passed while the Backup runs: released with UpgradeHoldExpired, the Backup left alone', async () => {
  const h = harness({ existing: 'InProgress', now: '2026-12-02T08:10:00Z' });
  await h.run();
  h.loop.queue.stop();
  expect(h.patches).toHaveLength(1);
  expect(h.events).toEqual([expect.stringMatching(/Warning UpgradeHoldExpired: .*is still InProgress after the hold limit of 10m/)]);
});

test('a policy edit that drops backupBeforeUpgrade releases the hold without a backup', async () => {
  const h = harness({ backupBeforeUpgrade: false });
  await h.run();
  h.loop.queue.stop();
  expect(h.created).toEqual([]);
  expect(h.patches).toHaveLength(1);
  expect(h.events).toEqual([expect.stringContaining('Normal UpgradeReleased: released the rollout of StatefulSet shop/gr1234 without a backup: the component is no longer protected')]);
});

test('a released record is no work: no key, no Backup, no patch', async () => {
  const h = harness();
  h.registry.upsert(statefulSet({ ...HOLD, state: 'released', outcome: 'completed' }, '11'));
  await h.run();
  h.loop.queue.stop();
  expect([...h.loop.keys()]).toEqual([]);
  expect(h.created).toEqual([]);
  expect(h.patches).toEqual([]);
});
