// One binary, a role per process: the shipped installation run as three
// processes (ROLE=webhook, ROLE=api, ROLE=controller), each with its
// Deployment's environment and under its own ServiceAccount, against the real
// API server. Each does its own part and nothing else: the webhook admits
// pods and keeps no cache of the cluster, the API answers from its caches and
// runs no loop, the controller runs the loops and serves no API (README
// "Roles"; what each may call is test/e2e/rbac.test.ts's).
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { backupApiClient } from './support/backup-api-client.js';
import { startBackupApiTestbed, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { getMetrics, scrapeMetrics } from './support/metrics-reader.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { scheduleName } from '../../src/velero/object-names.js';

jest.setTimeout(300_000);

const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
    protection: { schedule: '@daily' }
`;

let bed: BackupApiTestbed;
const roles: Record<'webhook' | 'api' | 'controller', WebhookProcess> = {} as Record<'webhook' | 'api' | 'controller', WebhookProcess>;

/** VmRSS of a process in KiB (Linux /proc). */
function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

beforeAll(async () => {
  bed = await startBackupApiTestbed({
    suite: 'roles',
    serviceId: 'e01e5e01e5e01e5e01e5e01e5e01e5e0',
    alias: 'grroles',
    // The controller first: it keeps the TLS Secret, which the webhook and api roles only read and wait for.
    replicaEnvs: [{ ROLE: 'controller' }, { ROLE: 'webhook' }, { ROLE: 'api' }],
    beforeReplicas: () => setShippedPolicy(POLICY),
  });
  const [controller, webhook, api] = bed.replicas;
  if (!webhook || !api || !controller) throw new Error('a role process did not start');
  Object.assign(roles, { webhook, api, controller });
});

afterAll(async () => {
  await bed?.stop();
});

test('the webhook role admits pods and keeps no cache of the cluster: no component, tenant or Velero watch, no loop, no backup API', async () => {
  const { webhook } = roles;
  expect(webhook.apiUrl).toBe('');
  // The component's pod was admitted before any role ran; a new one goes through this process.
  await bed.core.deleteNamespacedPod({ namespace: bed.component.namespace, name: `${bed.component.alias}-0` });
  const pod = await eventually(async () => {
    const [p] = (await bed.core.listNamespacedPod({ namespace: bed.component.namespace, labelSelector: `service_id=${bed.component.serviceId}` })).items;
    return p?.metadata?.deletionTimestamp === undefined && p?.metadata?.annotations?.['backup.wutong.io/managed'] ? p : undefined;
  }, 'the recreated pod admitted by the webhook role', 60_000, 250);
  expect(pod.metadata?.annotations?.['pre.hook.backup.velero.io/container']).toBe(bed.component.alias);
  const metrics = await scrapeMetrics(webhook.url, bed.caPem);
  // Gauges the caches feed have no samples here: nothing of the cluster is held.
  expect(metrics).not.toMatch(/^wutong_backup_velero_cache_objects\{/m);
  expect(metrics).not.toMatch(/^wutong_backup_components\{/m);
  expect(webhook.logs.some((l) => l.msg === 'components listed' || l.msg === 'tenant namespaces listed' || String(l.msg).startsWith('leading'))).toBe(false);
  // TLS: the webhook and api roles only read the Secret the controller keeps; neither writes it or caBundle.
  for (const reader of [webhook, roles.api]) {
    expect(reader.logs.some((l) => l.msg === 'caBundle updated' || String(l.msg).startsWith('created the TLS Secret'))).toBe(false);
    expect(reader.logs.some((l) => l.msg === 'serving certificate loaded')).toBe(true);
  }
});

test('the api role answers the console from its caches and runs no controller loop; the controller role leads and keeps the Schedule', async () => {
  const { api, controller } = roles;
  const client = backupApiClient(api.apiUrl, bed.caPem);
  try {
    const records = await client.call('GET', `${bed.component.path}/backup/records`, { token: bed.consoleToken });
    expect(records.status).toBe(200);
  } finally {
    client.close();
  }
  await controller.waitForLog((l) => String(l.msg).startsWith('leading'), 30_000);
  await eventually(async () => ((await bed.veleroObjects('schedules')).some((s) => s.metadata.name === scheduleName(bed.component)) ? true : undefined), 'the policy Schedule made by the controller role', 30_000, 250);
  expect(api.logs.some((l) => String(l.msg).startsWith('leading'))).toBe(false);
  expect(controller.apiUrl).toBe('');
  // Every role serves its probes; only the webhook role answers /mutate.
  expect((await getMetrics(controller.url, bed.caPem, undefined)).status).toBe(401);
});

test('what each role holds: the api and controller roles report their caches, the webhook role has none to report (resident memory printed)', async () => {
  const held = async (p: WebhookProcess): Promise<number> => {
    const text = await scrapeMetrics(p.url, bed.caPem);
    return [...text.matchAll(/^wutong_backup_velero_cache_objects\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  expect(await held(roles.webhook)).toBe(0);
  await eventually(async () => ((await held(roles.api)) > 0 ? true : undefined), 'the api role caching Velero objects', 30_000, 250);
  expect(await held(roles.controller)).toBeGreaterThan(0);
  // The figures at this cluster's size; the webhook role's flat line against a large cluster is `npm run bench`'s to measure.
  const figures = Object.fromEntries(Object.entries(roles).map(([role, p]) => [role, Math.round(rssKiB(p.pid) / 1024)]));
  process.stderr.write(`[roles] VmRSS MiB: ${JSON.stringify(figures)}\n`);
});
