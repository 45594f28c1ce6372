import { jest } from '@jest/globals';
import { getMetrics } from './support/metrics-reader.js';
import { apiRequest } from './cluster/cluster.js';
import { replicaMetrics, startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { eventually } from './support/wait.js';

jest.setTimeout(300_000);

/**
 * What a platform team sees of one protected component, with the shipped
 * installation running under its ServiceAccount (one replica, so it leads):
 * `kubectl describe` of the StatefulSet shows BackupStarted and
 * BackupCompleted, the Backup carries the phase that was told, and /metrics
 * has the component's coverage. The Velero stand-in runs the Backup.
 */
let bed: BackupApiTestbed;

interface EventJson {
  reason: string;
  type: string;
  message: string;
  firstTimestamp?: string;
  involvedObject: { kind: string; name: string };
  source?: { component?: string };
}

async function eventsOnWorkload(): Promise<EventJson[]> {
  const { component } = bed;
  const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${component.namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.kind=StatefulSet,involvedObject.name=${component.alias}`)}`);
  return (res.json as { items: EventJson[] }).items.filter((e) => e.source?.component === 'wutong-backup');
}

const metrics = (): Promise<string> => replicaMetrics(bed);

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'coverage', serviceId: 'd4e5f60718293a4b5c6d7e8f90a1b2c3', alias: 'gr0cover', replicaCount: 1 });
});

afterAll(async () => {
  await bed?.stop();
});

test('a backup of a protected component is told on its StatefulSet, once per phase, and its coverage is on /metrics', async () => {
  const { component, call } = bed;
  expect((await call('POST', `${component.path}/backup/schedule`, { body: { cron: '0 3 * * *', ttl: '30d', desc: 'nightly', operator: 'carol' } })).status).toBe(200);
  const taken = await call('POST', `${component.path}/backup`, { body: { desc: 'before the upgrade', operator: 'alice' } });
  expect(taken.status).toBe(200);
  const backupId = (taken.json as { bean: { backup_id: string } }).bean.backup_id;

  const told = await eventually(async () => {
    const events = await eventsOnWorkload();
    return events.some((e) => e.reason === 'BackupCompleted') ? events : undefined;
  }, 'a BackupCompleted Event on the StatefulSet', 120_000);
  // The API server lists Events by name (`<workload>.<random>`), not by time: put them in phase order, then check the times agree.
  // The same holds for the count after the restart below, which compares reasons as a set.
  const PHASES = ['BackupStarted', 'BackupCompleted'];
  told.sort((a, b) => PHASES.indexOf(a.reason) - PHASES.indexOf(b.reason));
  expect(Date.parse(told[0]?.firstTimestamp ?? '')).toBeLessThanOrEqual(Date.parse(told[1]?.firstTimestamp ?? ''));
  expect(told.map((e) => [e.type, e.reason, e.message.split(':')[0]])).toEqual([
    ['Normal', 'BackupStarted', `Backup ${backupId} started`],
    ['Normal', 'BackupCompleted', `Backup ${backupId} completed`],
  ]);

  const [stored] = await bed.veleroObjects('backups', `wutong.io/service_id=${component.serviceId}`);
  expect(stored?.metadata.annotations?.['backup.wutong.io/announced-phase']).toBe('Completed');

  const labels = `namespace="${component.namespace}",service_id="${component.serviceId}",service_alias="${component.alias}",tenant_name="${component.tenant}",tenant_env_name="${component.env}"`;
  const text = await eventually(async () => {
    const body = await metrics();
    return body.includes(`wutong_backup_component_last_backup_status{${labels},status="Completed"} 1`) ? body : undefined;
  }, 'the component on /metrics', 30_000);
  expect(text).toMatch(new RegExp(`^wutong_backup_component_last_success_timestamp_seconds\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} \\d+`, 'm'));
  expect(text).toContain(`wutong_backup_component_paused{${labels}} 0`);
  expect(text).toMatch(/^wutong_backup_protected_components\{state="running"\} 1$/m);
  // Who may read them: the scraper's token (the overlay's ClusterRole). Without one, or with a token not granted /metrics, nothing is named.
  const anonymous = await getMetrics(bed.replicas[0]!.url, bed.caPem, undefined);
  expect(anonymous.status).toBe(401);
  expect(anonymous.body).not.toContain(component.serviceId);
  const asConsole = await getMetrics(bed.replicas[0]!.url, bed.caPem, bed.consoleToken);
  expect(asConsole.status).toBe(403);
  expect(asConsole.body).not.toContain(component.serviceId);

  // Resyncs and restarts read the annotation: nothing is told twice.
  await bed.replicas[0]!.stop();
  const [again] = await bed.install.startReplicas(1);
  try {
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await eventsOnWorkload()).map((e) => e.reason).sort()).toEqual(['BackupCompleted', 'BackupStarted']);
  } finally {
    await again?.stop();
  }
});
