// The tenant boundary, end to end, as a tenant would try it: the shipped
// installation under its ServiceAccount, tenant A's protected component in
// her tenant env, and tenant B (admin of her own namespace only, granted the
// backup API's resources there) forging, with nothing but ordinary objects in
// her own namespace and her own token, everything that names A's component:
// a Deployment, a PVC and a pod carrying A's service_id, alias and tenant
// labels, an upgrade-hold record naming A's Backup, a run mark. Then B calls
// every route, on her own path and on A's. A's Schedule, finalizers, holder,
// backups, restores and Events stay as they were; nothing of A's is listed,
// downloaded, deleted, restored or named to B; the console (a cluster-wide
// grant) still serves A. Then A stops (the backup on stop copies A's data
// from A's namespace) and is deleted.
import { jest } from '@jest/globals';
import { apiRequest, waitForServiceAccountToken, type ApiResponse } from './cluster/cluster.js';
import { backupApiClient, type ApiAnswer, type CallOptions } from './support/backup-api-client.js';
import { consoleClusterRole, startBackupApiTestbed, type BackupApiTestbed, type VeleroObjectJson } from './support/backup-api-testbed.js';
import { claimOf, RAN_UNTIL, runComponent, stopComponent, type ClaimJson } from './support/component-life.js';
import { clusterInfo, createNamespace, deleteNamespace, tenantEnvOf } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { claimNameOf, DATA_GUARD_FINALIZER, deleteWutongComponent, wutongLabels, type WutongComponent } from './support/wutong-component.js';

jest.setTimeout(600_000);

const SID = 'a11ce0a11ce0a11ce0a11ce0a11ce0a1';
const ALIAS = 'grshared';
const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: databases
    profile: mysql
    match: { image: '^mysql:' }
    protection: { schedule: '@daily', backupOnStop: true, backupBeforeUpgrade: true, deletionHoldLimit: 30s }
`;

let bed: BackupApiTestbed;
let a: WutongComponent;
let bNamespace: string;
let bToken: string;
let strangerToken: string;
let aBackup: string;
const made: WutongComponent[] = [];
const info = clusterInfo();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const consoleBinding = `wutong-backup-console-everywhere-${process.pid}`;

interface ObjectJson {
  metadata: { name: string; namespace?: string; resourceVersion?: string; finalizers?: string[]; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
interface EventJson {
  metadata: { name: string };
  message?: string;
  reason?: string;
  involvedObject: { kind?: string; name?: string; namespace?: string };
  source?: { component?: string };
}

function expectOk(res: ApiResponse, what: string, status = 201): void {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.body.slice(0, 300)}`);
}

/** As tenant B: her own ServiceAccount token, against the API server. */
const asB = (method: string, path: string, body?: unknown): Promise<ApiResponse> => apiRequest({ ...info, token: bToken }, method, path, body);

/** The backup API, on the testbed's replica, with `token`. */
async function api(token: string, method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer> {
  const client = backupApiClient(bed.replicas[0]!.apiUrl, bed.caPem);
  try {
    return await client.call(method, path, { ...options, token });
  } finally {
    client.close();
  }
}

async function aSchedules(): Promise<VeleroObjectJson[]> {
  return (await bed.veleroObjects('schedules', `wutong.io/service_id=${SID}`)).filter((s) => JSON.stringify((s.spec.template as { includedNamespaces?: string[] }).includedNamespaces) === JSON.stringify([a.namespace]));
}

async function eventsIn(namespace: string): Promise<EventJson[]> {
  const res = await apiRequest(info, 'GET', `/api/v1/namespaces/${namespace}/events`);
  return ((res.json as { items: EventJson[] }).items ?? []).filter((e) => e.source?.component === 'wutong-backup');
}

/** What of A a forgery could have changed: her Schedules, her PVC's guard and marks, her backups, restores, deletion requests, holders and Events. */
async function aState(): Promise<Record<string, unknown>> {
  const claim = await claimOf(a);
  // A's by scope: B's own backups carry the same service_id label (her forgery is her component).
  const backups = (await bed.veleroObjects('backups', `wutong.io/service_id=${SID}`)).filter((b) => JSON.stringify(b.spec.includedNamespaces) === JSON.stringify([a.namespace]));
  const holders = await apiRequest(info, 'GET', `/api/v1/namespaces/${a.namespace}/pods?labelSelector=backup.wutong.io%2Fholder`);
  return {
    schedules: (await aSchedules()).map((s) => ({ name: s.metadata.name, spec: s.spec, labels: s.metadata.labels, annotations: s.metadata.annotations })),
    claim: { finalizers: claim?.metadata.finalizers, annotations: claim?.metadata.annotations },
    backups: backups.map((b) => b.metadata.name).sort(),
    restores: (await bed.veleroObjects('restores')).map((r) => r.metadata.name).sort(),
    deleteRequests: (await bed.veleroObjects('deletebackuprequests')).map((d) => d.metadata.name).sort(),
    holders: ((holders.json as { items: ObjectJson[] }).items ?? []).map((p) => p.metadata.name),
    events: (await eventsIn(a.namespace)).map((e) => e.metadata.name).sort(),
  };
}

beforeAll(async () => {
  // A's env named apart from her namespace, so an answer that echoes the route's env is not mistaken for one naming the namespace.
  bed = await startBackupApiTestbed({ suite: 'tenancy', serviceId: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', alias: 'grtenbed', replicaCount: 1, env: 'alpha-prod' });
  await setShippedPolicy(POLICY);
  // Tenant A's protected component: running on its own PV, guarded, with its policy Schedule.
  a = (await runComponent(bed, { alias: ALIAS, serviceId: SID, made, ready: (claim: ClaimJson) => claim.metadata.finalizers?.includes(DATA_GUARD_FINALIZER) === true && claim.metadata.annotations?.[RAN_UNTIL] === 'running' })).c;
  await eventually(async () => ((await aSchedules()).length === 1 ? true : undefined), "A's policy Schedule", 30_000, 250);
  // The console, granted everywhere (the README's ClusterRoleBinding): it still serves A whatever B does.
  expectOk(
    await apiRequest(info, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: consoleBinding },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: (consoleClusterRole().metadata as { name: string }).name },
      subjects: [{ kind: 'ServiceAccount', name: 'wutong-console', namespace: bed.consoleNamespace }],
    }),
    'console ClusterRoleBinding',
  );
  const backup = await bed.call('POST', `${a.path}/backup`, { body: { desc: "A's own", operator: 'alice' } });
  expect(backup.status).toBe(200);
  aBackup = (backup.json as { bean: { backup_id: string } }).bean.backup_id;
  await eventually(async () => ((await bed.veleroObjects('backups')).find((b) => b.metadata.name === aBackup)?.status?.phase === 'Completed' ? true : undefined), "A's backup Completed", 60_000, 250);
  // Its Event told, so A's Events hold still from here on.
  await eventually(async () => ((await eventsIn(a.namespace)).some((e) => e.reason === 'BackupCompleted' && (e.message ?? '').includes(aBackup)) ? true : undefined), "A's BackupCompleted Event", 30_000, 250);

  // Tenant B: a tenant env of her own, admin of that namespace only, and the backup API's resources there.
  bNamespace = await createNamespace(bed.core, 'tenancy-b', { tenant: { name: 'beta' } });
  expectOk(await apiRequest(info, 'POST', `/api/v1/namespaces/${bNamespace}/serviceaccounts`, { metadata: { name: 'mallory' } }), 'B ServiceAccount');
  for (const role of ['admin', (consoleClusterRole().metadata as { name: string }).name]) {
    expectOk(
      await apiRequest(info, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${bNamespace}/rolebindings`, {
        metadata: { name: `mallory-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'mallory', namespace: bNamespace }],
      }),
      `B RoleBinding ${role}`,
    );
  }
  bToken = await waitForServiceAccountToken(info, bNamespace, 'mallory');
  // Someone with no grant at all.
  expectOk(await apiRequest(info, 'POST', `/api/v1/namespaces/${bed.consoleNamespace}/serviceaccounts`, { metadata: { name: 'stranger' } }), 'stranger ServiceAccount');
  strangerToken = await waitForServiceAccountToken(info, bed.consoleNamespace, 'stranger');
});

afterAll(async () => {
  await apiRequest(info, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${consoleBinding}`).catch(() => undefined);
  if (bNamespace) await deleteNamespace(bed.core, bNamespace);
  for (const c of made) await apiRequest(info, 'DELETE', `/api/v1/persistentvolumes?labelSelector=${encodeURIComponent(`service_id=${c.serviceId}`)}`).catch(() => undefined);
  await bed?.stop();
});

describe('B forges A in her own namespace', () => {
  let before: Record<string, unknown>;

  beforeAll(async () => {
    before = await aState();
    // Everything carries A's service_id, alias, tenant and env labels: claims B may write on her own objects.
    const labels = wutongLabels({ serviceId: SID, alias: ALIAS, tenant: a.tenant, env: a.env });
    const hold = JSON.stringify({ state: 'held', heldAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), backup: aBackup, reason: 'forged', partition: null });
    const template = {
      metadata: { labels },
      spec: { containers: [{ name: ALIAS, image: 'mysql:8.0.36', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'forged-data' } }] },
    };
    // Her RoleBindings reach the API server's authorizer within a moment: the first create waits for them.
    const pvc = {
      metadata: { name: 'forged-data', labels: { ...labels, volume_name: 'data' }, annotations: { [RAN_UNTIL]: '2001-01-01T00:00:00Z' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
    expectOk(await eventually(async () => {
      const res = await asB('POST', `/api/v1/namespaces/${bNamespace}/persistentvolumeclaims`, pvc);
      return res.status === 403 ? undefined : res;
    }, 'B may create in her namespace', 30_000, 250), 'B forged PVC');
    expectOk(
      await asB('POST', `/apis/apps/v1/namespaces/${bNamespace}/deployments`, {
        metadata: { name: ALIAS, labels, annotations: { 'backup.wutong.io/upgrade-hold': hold } },
        spec: { replicas: 0, selector: { matchLabels: { service_id: SID } }, template },
      }),
      'B forged Deployment',
    );
    expectOk(await asB('POST', `/api/v1/namespaces/${bNamespace}/pods`, { metadata: { name: `${ALIAS}-0`, labels }, spec: template.spec }), 'B forged pod');
    // Time for every loop to have reacted (they react to the watches within a second) and a little more.
    await sleep(8_000);
  });

  test("A's Schedule, PVC guard and marks, backups, restores, deletion requests, holders and Events are as they were", async () => {
    expect(await aState()).toEqual(before);
  });

  test("B's objects are her own component: nothing the controller writes in her namespace names A's objects", async () => {
    const names = [a.namespace, ...((before.schedules as Array<{ name: string }>).map((s) => s.name)), claimNameOf(a), aBackup];
    for (const e of await eventsIn(bNamespace)) {
      for (const name of names) expect(`${e.reason}: ${e.message}`).not.toContain(name);
    }
    // Whatever the controller made for her forgery (her Schedule, the backup her forged upgrade hold asked for) backs up her namespace only.
    for (const b of await bed.veleroObjects('backups', `wutong.io/service_id=${SID}`)) expect([[a.namespace], [bNamespace]]).toContainEqual(b.spec.includedNamespaces);
    for (const b of (await bed.veleroObjects('backups', `wutong.io/service_id=${SID}`)).filter((x) => x.metadata.labels?.['backup.wutong.io/trigger'])) {
      expect(b.spec.includedNamespaces).toEqual([bNamespace]);
    }
    for (const s of await bed.veleroObjects('schedules', `wutong.io/service_id=${SID}`)) {
      const scope = (s.spec.template as { includedNamespaces?: string[] }).includedNamespaces;
      expect([[a.namespace], [bNamespace]]).toContainEqual(scope);
    }
  });

  test('on her own path with A\'s alias, B reaches only her forgery: none of A\'s backups is listed, downloaded, deleted or restored', async () => {
    const { tenant, env } = tenantEnvOf(bNamespace, 'beta');
    const own = `/v2/tenants/${tenant}/envs/${env}/services/${ALIAS}`;
    const records = await api(bToken, 'GET', `${own}/backup/records`);
    expect(records.status).toBe(200);
    expect(records.text).not.toContain(aBackup);
    const download = await api(bToken, 'GET', `${own}/backup/${aBackup}/download`, { headers: { accept: 'application/json' } });
    expect(download.status).toBe(404);
    const removed = await api(bToken, 'DELETE', `${own}/backup/${aBackup}`);
    expect(removed.status).toBe(404);
    const restore = await api(bToken, 'POST', `${own}/restore`, { body: { backup_id: aBackup } });
    expect(restore.status).toBe(404);
    const restores = await api(bToken, 'GET', `${own}/restore/records`);
    expect(restores.status).toBe(200);
    expect(restores.json).toEqual({ list: [] });
    // Her schedule is hers: writing it leaves A's as it was.
    const schedule = await api(bToken, 'PUT', `${own}/backup/schedule`, { body: { cron: '0 4 * * *' } });
    expect([200, 404]).toContain(schedule.status);
    expect(await aState()).toEqual(before);
    expect((await bed.veleroObjects('deletebackuprequests')).filter((d) => d.metadata.labels?.['velero.io/backup-name'] === aBackup)).toEqual([]);
  });

  test("on A's path, B and a caller with no grant get 403 on every route, and no answer names A's namespace, service_id or backups", async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/backup/records'],
      ['POST', '/backup', { desc: 'x' }],
      ['GET', '/backup/schedule'],
      ['POST', '/backup/schedule', { cron: '0 3 * * *' }],
      ['PUT', '/backup/schedule', { cron: '0 3 * * *' }],
      ['DELETE', '/backup/schedule'],
      ['GET', `/backup/${aBackup}/download`],
      ['DELETE', `/backup/${aBackup}`],
      ['POST', '/restore', { backup_id: aBackup }],
      ['GET', '/restore/records'],
      ['DELETE', `/restore/${aBackup}`],
    ];
    for (const token of [bToken, strangerToken]) {
      for (const [method, tail, body] of routes) {
        const answer = await api(token, method, `${a.path}${tail}`, body === undefined ? {} : { body });
        expect({ route: `${method} ${tail}`, status: answer.status }).toEqual({ route: `${method} ${tail}`, status: 403 });
        expect(answer.text).not.toContain(a.namespace);
        expect(answer.text).not.toContain(SID);
      }
      // A tenant env that does not exist: 403 as well, not 404, to whoever may not look cluster-wide.
      const unknown = await api(token, 'GET', `/v2/tenants/nobody/envs/nowhere/services/${ALIAS}/backup/records`);
      expect(unknown.status).toBe(403);
    }
    expect(await aState()).toEqual(before);
  });

  test('the console, granted cluster-wide, still serves A: her records and her Schedule, not ambiguous for B\'s forgeries', async () => {
    const records = await bed.call('GET', `${a.path}/backup/records`);
    expect(records.status).toBe(200);
    expect((records.json as { list: Array<{ backup_id: string }> }).list.map((r) => r.backup_id)).toEqual([aBackup]);
    const schedule = await bed.call('GET', `${a.path}/backup/schedule`);
    expect(schedule.status).toBe(200);
    expect((schedule.json as { bean: { schedule_id: string } }).bean.schedule_id).toBe((before.schedules as Array<{ name: string }>)[0]?.name);
    // Unknown env: the cluster-wide console may learn it does not exist.
    expect((await bed.call('GET', `/v2/tenants/nobody/envs/nowhere/services/${ALIAS}/backup/records`)).status).toBe(404);
  });
});

describe('A stops, then is deleted, with B\'s forgeries in place', () => {
  test('the backup on stop copies A\'s data through a holder in A\'s namespace, scoped to A\'s namespace', async () => {
    const stoppedAt = await stopComponent(bed, a);
    const stamp = stoppedAt.replace(/[-:T]/g, '').slice(0, 14);
    const stopBackup = await eventually(async () => {
      const found = (await bed.veleroObjects('backups', `wutong.io/service_id=${SID},backup.wutong.io/trigger=stop`)).find((b) => b.metadata.name.endsWith(`-stop-${stamp}`) && JSON.stringify(b.spec.includedNamespaces) === JSON.stringify([a.namespace]));
      return found?.status?.phase === 'Completed' ? found : undefined;
    }, "A's backup on stop Completed", 90_000, 250);
    expect(stopBackup.spec.includedNamespaces).toEqual([a.namespace]);
    const pvbs = (await bed.veleroObjects('podvolumebackups', `velero.io/backup-name=${stopBackup.metadata.name}`)) as unknown as Array<{ spec: { pod: { namespace: string } } }>;
    expect(pvbs.length).toBeGreaterThan(0);
    for (const pvb of pvbs) expect(pvb.spec.pod.namespace).toBe(a.namespace);
    // Nothing of B's was made a holder, and no Backup of B's namespace was taken for A's stop.
    const bHolders = await apiRequest(info, 'GET', `/api/v1/namespaces/${bNamespace}/pods?labelSelector=backup.wutong.io%2Fholder`);
    expect((bHolders.json as { items: unknown[] }).items).toEqual([]);
  });

  test("Wutong's delete of A: A's Schedule goes, B's component and its Schedule (if any) stay, and B's objects keep nothing of A's alive", async () => {
    const bSchedulesBefore = (await bed.veleroObjects('schedules', `wutong.io/service_id=${SID}`)).filter((s) => JSON.stringify((s.spec.template as { includedNamespaces?: string[] }).includedNamespaces) === JSON.stringify([bNamespace]));
    await deleteWutongComponent(a);
    await eventually(async () => ((await aSchedules()).length === 0 ? true : undefined), "A's Schedule deleted with A", 60_000, 250);
    await eventually(async () => ((await claimOf(a)) === undefined ? true : undefined), "A's PVC gone (covered by the backup on stop)", 60_000, 250);
    const bSchedulesAfter = (await bed.veleroObjects('schedules', `wutong.io/service_id=${SID}`)).filter((s) => JSON.stringify((s.spec.template as { includedNamespaces?: string[] }).includedNamespaces) === JSON.stringify([bNamespace]));
    expect(bSchedulesAfter.map((s) => s.metadata.name)).toEqual(bSchedulesBefore.map((s) => s.metadata.name));
    const forged = await apiRequest(info, 'GET', `/api/v1/namespaces/${bNamespace}/persistentvolumeclaims/forged-data`);
    expect(forged.status).toBe(200);
  });
});
