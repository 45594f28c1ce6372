import pino from 'pino';
import { AlreadyExists, type VeleroCache, type VeleroChange, type VeleroStore } from '../../../src/velero/velero-ports.js';
import { ComponentRegistry, type WorkloadSummary } from '../../../src/components/component-registry.js';
import { readUpgradeHold, upgradeHoldValue, type UpgradeHold } from '../../../src/components/upgrade-hold.js';
import { upgradeHoldLoop, type UpgradeHoldDeps } from '../../../src/controller/upgrade-hold-loop.js';
import type { EventRecorder } from '../../../src/kube/event-recorder.js';
import type { WorkloadPatcher } from '../../../src/kube/workload-patcher.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';
import type { VeleroObject } from '../../../src/velero/velero-resources.js';
import { viewBackup, type BackupView } from '../../../src/velero/velero-views.js';
import { backupComponent } from '../../../src/velero/velero-scope.js';
import { claimSummary, podRecord } from '../components/summaries.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

const SID = '0123456789abcdef0123456789abcdef';
const KEY = 'backup.wutong.io/upgrade-hold';
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr1234', tenant_name: 'acme', tenant_env_name: 'prod' };
/** 6 hex of sha256("shop"): the namespace's tag in the name the controller derives. */
const TAG = '8d9001';
const HOLD: UpgradeHold = { state: 'held', heldAt: '2026-12-02T08:00:00Z', backup: `${SID}-${TAG}-upgrade-20261202080000`, reason: 'image mysql:8.0.36 → mysql:8.0.37', partition: 0 };

/** A Backup as the API server holds it: labelled with the service_id, scoped to `namespace`. */
function rawBackup(name: string, phase: string, over: { namespace?: string; trigger?: string; created?: string } = {}): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace: 'velero',
      uid: `u-${name}`,
      resourceVersion: '3',
      creationTimestamp: over.created ?? '2026-12-01T00:00:00Z',
      labels: { 'wutong.io/service_id': SID, ...(over.trigger ? { 'backup.wutong.io/trigger': over.trigger } : {}) },
    },
    spec: { includedNamespaces: [over.namespace ?? 'shop'] },
    status: { phase },
  };
}

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

function harness(options: { backupBeforeUpgrade?: boolean; existing?: string; now?: string; hold?: UpgradeHold; others?: Record<string, unknown>[] } = {}) {
  const registry = new ComponentRegistry(tenantDirectory({ shop: ['acme', 'prod'] }));
  registry.upsert(statefulSet(options.hold ?? HOLD));
  registry.upsert(claimSummary({ namespace: 'shop', name: 'manual1001-gr1234-0', uid: 'u-pvc', labels }));
  registry.upsert(podRecord({ namespace: 'shop', name: 'gr1234-0', uid: 'u-pod', labels }));
  const backups = new Map<string, BackupView>();
  const listeners = new Set<(c: VeleroChange) => void>();
  const created: VeleroObject[] = [];
  const live = new Map<string, Record<string, unknown>>();
  if (options.existing) live.set(HOLD.backup, rawBackup(HOLD.backup, options.existing));
  // Other Backups already there, listed by the cache too.
  for (const raw of options.others ?? []) {
    const view = viewBackup(raw)!;
    live.set(view.metadata.name, raw);
    backups.set(view.metadata.name, view);
  }
  const cache = {
    backup: (name: string) => backups.get(name),
    // As the real cache: by label and scope (velero-scope.ts).
    backupsOf: (key: string) => [...backups.values()].filter((b) => backupComponent(b) === key),
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
      const raw = { ...object, metadata: { ...object.metadata, uid: 'b', resourceVersion: '2', creationTimestamp: now.toISOString() }, status: {} };
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
  /** The phase of a Backup the controller created, as its watch event would bring it. */
  const setPhaseOf = (name: string, phase: string): void => {
    const raw = live.get(name)!;
    raw.status = { phase };
    cache.remember('backups', raw);
  };
  return { registry, created, events, patches, run, loop, setPhase, setPhaseOf, policyStore: store_, at: (iso: string) => (now = new Date(iso)) };
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

// The record is an annotation on the tenant's workload: it may say when the hold began, never which Backup the controller makes or trusts.

test('a record naming another Backup (the victim\'s, Completed) is not believed: the controller makes and waits for its own derived name', async () => {
  const victims = rawBackup('victim-backup-20261201000000-beef', 'Completed', { namespace: 'acme-prod' });
  const h = harness({ hold: { ...HOLD, backup: 'victim-backup-20261201000000-beef' }, others: [victims] });
  await h.run();
  expect(h.created.map((b) => b.metadata.name)).toEqual([HOLD.backup]);
  expect(h.created[0]?.spec).toMatchObject({ includedNamespaces: ['shop'] });
  // Not released on the strength of the victim's Completed Backup.
  expect(h.patches).toEqual([]);
  expect(h.events).toEqual([expect.stringContaining(`for Backup ${HOLD.backup};`)]);
  expect(h.events.join('\n')).not.toContain('victim');
  // Its own Backup completing releases it; the record keeps what the webhook wrote, so the webhook lets the release through.
  h.setPhase('Completed');
  h.at('2026-12-02T08:01:00Z');
  h.loop.queue.add([...h.loop.keys()][0]!);
  await h.loop.queue.idle();
  h.loop.queue.stop();
  expect(h.patches).toHaveLength(1);
  const [{ patch }] = h.patches as unknown as [{ patch: { metadata: { annotations: Record<string, string> } } }];
  expect(readUpgradeHold(patch.metadata.annotations[KEY])).toMatchObject({ state: 'released', outcome: 'completed', heldAt: HOLD.heldAt, backup: 'victim-backup-20261201000000-beef' });
  expect(h.events.at(-1)).toContain(`Backup ${HOLD.backup} completed`);
});

test('a record naming a Backup that does not exist never makes the controller create one by that name', async () => {
  const h = harness({ hold: { ...HOLD, backup: 'a-name-of-my-choosing' } });
  await h.run();
  await h.run();
  h.loop.queue.stop();
  expect(h.created.map((b) => b.metadata.name)).toEqual([HOLD.backup]);
});

test('a Backup with the derived name but scoped to another namespace is not trusted: its Completed releases nothing', async () => {
  const h = harness({ others: [rawBackup(HOLD.backup, 'Completed', { namespace: 'elsewhere' })] });
  await h.run();
  h.loop.queue.stop();
  expect(h.patches).toEqual([]);
  expect(h.events.join('\n')).not.toContain('UpgradeReleased');
});

test('a heldAt in the future is no hold the webhook wrote: released at once as expired, with a Warning, and no Backup made', async () => {
  const h = harness({ hold: { ...HOLD, heldAt: '2027-06-01T00:00:00Z' } });
  await h.run();
  h.loop.queue.stop();
  expect(h.created).toEqual([]);
  expect(h.patches).toHaveLength(1);
  expect(h.events).toEqual([expect.stringMatching(/Warning UpgradeHoldExpired: /)]);
  // The release names the record's own hold, so the webhook lets it through.
  const [{ patch }] = h.patches as unknown as [{ patch: { metadata: { annotations: Record<string, string> } } }];
  expect(readUpgradeHold(patch.metadata.annotations[KEY])).toMatchObject({ state: 'released', outcome: 'expired', heldAt: '2027-06-01T00:00:00Z' });
});

test('a heldAt within clock skew ahead is a hold: its Backup is named by it', async () => {
  const h = harness({ hold: { ...HOLD, heldAt: '2026-12-02T08:00:30Z' } });
  await h.run();
  h.loop.queue.stop();
  expect(h.created.map((b) => b.metadata.name)).toEqual([`${SID}-${TAG}-upgrade-20261202080030`]);
});

describe('at most six controller-made Backups of a component per hour', () => {
  const hourOf = (minutes: number[], options: { trigger?: string; namespace?: string } = { trigger: 'stop' }) =>
    minutes.map((m, i) => rawBackup(`earlier-${i}`, 'Completed', { ...options, created: new Date(Date.parse('2026-12-02T07:05:00Z') + m * 60_000).toISOString() }));

  test('six in the last hour: the upgrade Backup is deferred, until the oldest of them is an hour old', async () => {
    // 07:05, 07:15 … 07:55: the oldest ages out at 08:05, within the hold limit (08:10).
    const h = harness({ others: hourOf([0, 10, 20, 30, 40, 50]) });
    await h.run();
    expect(h.created).toEqual([]);
    expect(h.patches).toEqual([]);
    h.at('2026-12-02T08:04:59Z');
    await h.run();
    expect(h.created).toEqual([]);
    expect(h.patches).toEqual([]);
    h.at('2026-12-02T08:05:00Z');
    await h.run();
    h.loop.queue.stop();
    expect(h.created.map((b) => b.metadata.name)).toEqual([HOLD.backup]);
  });

  test('Backups without the trigger label (scheduled, the console\'s) and another namespace\'s do not count', async () => {
    const h = harness({ others: [...hourOf([0, 10, 20, 30, 40, 50], {}), ...hourOf([1, 11, 21, 31, 41, 51], { trigger: 'upgrade', namespace: 'elsewhere' }).map((raw, i) => ({ ...raw, metadata: { ...(raw.metadata as object), name: `theirs-${i}` } }))] });
    await h.run();
    h.loop.queue.stop();
    expect(h.created.map((b) => b.metadata.name)).toEqual([HOLD.backup]);
  });
});
