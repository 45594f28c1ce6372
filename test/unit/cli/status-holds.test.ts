import { age, formatStatusJson } from '../../../src/cli/status-command.js';
import { formatUpgradeHolds, upgradeHoldRows } from '../../../src/cli/status-holds.js';
import { ComponentRegistry, type WorkloadSummary } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';
import { upgradeHoldValue, type UpgradeHold } from '../../../src/components/upgrade-hold.js';
import type { ClusterSnapshot } from '../../../src/kube/cluster-snapshot.js';
import type { BackupView } from '../../../src/velero/velero-views.js';

const NOW = new Date('2026-12-02T08:05:00Z');
const ids = { db: 'a'.repeat(32), web: 'b'.repeat(32) };
const labels = (alias: keyof typeof ids) => ({ creator: 'Wutong', service_id: ids[alias], service_alias: alias, tenant_name: 'acme', tenant_env_name: 'prod' });
const hold = (alias: keyof typeof ids, state: UpgradeHold['state']): UpgradeHold => ({
  state,
  heldAt: '2026-12-02T08:00:00Z',
  backup: `${ids[alias]}-upgrade-20261202080000`,
  reason: 'image mysql:8.0.36 → mysql:8.0.37',
  partition: null,
});
const workload = (alias: keyof typeof ids, h: UpgradeHold): WorkloadSummary => ({
  kind: 'StatefulSet',
  namespace: 'acme-prod',
  name: alias,
  uid: alias,
  labels: labels(alias),
  resourceVersion: '1',
  annotations: { 'backup.wutong.io/upgrade-hold': upgradeHoldValue(h) },
  replicas: 2,
  template: { labels: labels(alias), containers: [] },
  rollout: { kind: 'StatefulSet', rollingUpdate: true, partition: 2 },
});

function snapshot(): ClusterSnapshot {
  const registry = new ComponentRegistry(tenantDirectory());
  registry.upsert(workload('db', hold('db', 'held')));
  registry.upsert(workload('web', { ...hold('web', 'released'), outcome: 'completed' }));
  const running: BackupView = {
    metadata: { name: hold('db', 'held').backup, namespace: 'velero', uid: 'x', resourceVersion: '1', creationTimestamp: '2026-12-02T08:00:01Z', labels: {}, annotations: {} },
    spec: {},
    status: { phase: 'InProgress' },
  };
  return { registry, backupsOf: (key) => ({ schedules: [], backups: key === componentKey('acme-prod', ids.db) ? [running] : [], podVolumeBackupsOf: () => [] }), retainedVolumes: [], storageLocations: [] };
}

test('status lists the held rollouts (not the released ones): workload, how long, the Backup and its phase', () => {
  const rows = upgradeHoldRows(snapshot());
  expect(rows).toEqual([
    {
      component: 'acme/prod/db',
      serviceId: ids.db,
      namespace: 'acme-prod',
      workload: 'StatefulSet/db',
      heldAt: '2026-12-02T08:00:00Z',
      backup: `${ids.db}-upgrade-20261202080000`,
      backupPhase: 'InProgress',
      reason: 'image mysql:8.0.36 → mysql:8.0.37',
    },
  ]);
  const text = formatUpgradeHolds(rows, NOW, age);
  expect(text.split('\n').filter(Boolean)).toEqual([
    expect.stringMatching(/^HELD ROLLOUT\s+NAMESPACE\s+WORKLOAD\s+HELD FOR\s+BACKUP\s+PHASE\s+CHANGE$/),
    expect.stringMatching(new RegExp(`^acme/prod/db\\s+acme-prod\\s+StatefulSet/db\\s+5m\\s+${ids.db}-upgrade-20261202080000\\s+InProgress\\s+image mysql:8.0.36 → mysql:8.0.37$`)),
    '1 rollout held for a backup',
  ]);
  expect(JSON.parse(formatStatusJson([], rows))).toEqual({ components: [], upgradeHolds: rows, retainedVolumes: [], storageLocations: [] });
});

test('nothing held: no section at all', () => {
  expect(formatUpgradeHolds([], NOW, age)).toBe('');
});
