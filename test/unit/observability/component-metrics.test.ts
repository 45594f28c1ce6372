import { reportComponentCoverage, type CoveredComponent } from '../../../src/observability/component-metrics.js';
import { registry } from '../../../src/observability/metrics.js';
import { VELERO_LABEL } from '../../../src/velero/velero-labels.js';
import { componentKey } from '../../../src/components/component-key.js';
import type { BackupView, ScheduleView } from '../../../src/velero/velero-views.js';

const ID_A = 'a'.repeat(32);
const ID_B = 'b'.repeat(32);
const ID_C = 'c'.repeat(32);
const meta = (name: string, serviceId: string, creationTimestamp: string) => ({
  name,
  namespace: 'velero',
  uid: name,
  resourceVersion: '1',
  creationTimestamp,
  labels: { [VELERO_LABEL.serviceId]: serviceId },
  annotations: {},
});
const component = (serviceId: string, alias: string, state: CoveredComponent['state']): CoveredComponent => ({
  key: componentKey('shop', serviceId),
  serviceId,
  namespace: 'shop',
  ref: { tenantName: 'acme', tenantEnvName: 'prod', serviceAlias: alias },
  state,
});
const schedule = (serviceId: string, paused: boolean): ScheduleView => ({
  metadata: meta(`${serviceId}-schedule`, serviceId, '2026-01-01T00:00:00Z'),
  spec: { schedule: '0 3 * * *', paused, template: {} },
  status: {},
});
const backup = (serviceId: string, name: string, phase: string, start: string, end: string): BackupView => ({
  metadata: meta(name, serviceId, start),
  spec: {},
  status: { phase, startTimestamp: start, completionTimestamp: end },
});

// By component (namespace, service_id), as the caches answer.
const [A, B, C] = [componentKey('shop', ID_A), componentKey('shop', ID_B), componentKey('shop', ID_C)];
const schedules: Record<string, ScheduleView[]> = { [A]: [schedule(ID_A, false)], [B]: [schedule(ID_B, true)], [C]: [] };
const backups: Record<string, BackupView[]> = {
  [A]: [backup(ID_A, 'a1', 'Completed', '2026-01-05T03:00:00Z', '2026-01-05T03:20:00Z'), backup(ID_A, 'a2', 'Failed', '2026-01-06T03:00:00Z', '2026-01-06T03:01:00Z')],
  [B]: [],
  [C]: [backup(ID_C, 'c1', 'Completed', '2026-01-05T03:00:00Z', '2026-01-05T03:20:00Z')],
};

/** The exposition's samples of one metric, as label sets with values. */
async function samples(name: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const text = await registry.getSingleMetricAsString(name);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const [, labelText = '', value = ''] = /^[^{]+\{(.*)\} (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
      return { labels, value: Number(value) };
    });
}

const labelsOf = (serviceId: string, alias: string) => ({ namespace: 'shop', service_id: serviceId, service_alias: alias, tenant_name: 'acme', tenant_env_name: 'prod' });

// Runs first (declared before the describe whose beforeAll wires a source).
test('standalone, nothing wired: the gauges export no series', async () => {
  expect(await samples('wutong_backup_component_paused')).toEqual([]);
  expect(await samples('wutong_backup_protected_components')).toEqual([]);
});

describe('with a cluster: one protected running component (last backup failed), one protected stopped (paused), one unprotected', () => {
  beforeAll(() => {
    reportComponentCoverage({
      components: () => [component(ID_A, 'db', 'running'), component(ID_B, 'cache', 'stopped'), component(ID_C, 'web', 'running')],
      backupsOf: (key) => ({ schedules: schedules[key] ?? [], backups: backups[key] ?? [], podVolumeBackupsOf: () => [] }),
      now: () => new Date('2026-01-06T12:00:00Z'),
    });
  });

  test('the last success time is exported per protected component, by its Wutong names', async () => {
    expect(await samples('wutong_backup_component_last_success_timestamp_seconds')).toEqual([
      { labels: labelsOf(ID_A, 'db'), value: Date.parse('2026-01-05T03:20:00Z') / 1000 },
    ]);
  });

  test('the last status is the newest backup\'s phase, one series with value 1', async () => {
    expect(await samples('wutong_backup_component_last_backup_status')).toEqual([{ labels: { ...labelsOf(ID_A, 'db'), status: 'Failed' }, value: 1 }]);
  });

  test('the due time is exported for the running component only (the paused one is not expected to back up)', async () => {
    // Next run after Jan 5th 03:20 is Jan 6th 03:00, plus 12 h of grace.
    expect(await samples('wutong_backup_component_backup_due_timestamp_seconds')).toEqual([
      { labels: labelsOf(ID_A, 'db'), value: Date.parse('2026-01-06T15:00:00Z') / 1000 },
    ]);
  });

  test('paused is 0 or 1 for every protected component, and the unprotected one has no series at all', async () => {
    const paused = await samples('wutong_backup_component_paused');
    expect(paused).toEqual(expect.arrayContaining([{ labels: labelsOf(ID_A, 'db'), value: 0 }, { labels: labelsOf(ID_B, 'cache'), value: 1 }]));
    expect(paused).toHaveLength(2);
    const all = await registry.metrics();
    expect(all).not.toContain(ID_C);
  });

  test('protected components are counted by state', async () => {
    expect(await samples('wutong_backup_protected_components')).toEqual(
      expect.arrayContaining([
        { labels: { state: 'running' }, value: 1 },
        { labels: { state: 'stopped' }, value: 1 },
      ]),
    );
    expect(await samples('wutong_backup_protected_components')).toHaveLength(2);
  });
});
