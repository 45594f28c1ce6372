// Backup before upgrade, end to end: the shipped installation under its
// ServiceAccount (one replica, so it leads), the real kube-controller-manager
// StatefulSet and Deployment controllers (which honour partition and paused),
// the kubelet stand-in running the pods, the Velero stand-in running the
// Backups. What a platform team would see with kubectl when Wutong upgrades a
// protected component.
import { namespaceTag } from '../../src/velero/object-names.js';
import { jest } from '@jest/globals';
import { apiRequest } from './cluster/cluster.js';
import { replicaMetrics, startBackupApiTestbed, type BackupApiTestbed, type VeleroObjectJson } from './support/backup-api-testbed.js';
import { clusterInfo } from './support/kube.js';
import { setShippedPolicy } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import { wutongLabels } from './support/wutong-component.js';

jest.setTimeout(600_000);

const HOLD_KEY = 'backup.wutong.io/upgrade-hold';
const LIMIT_S = 20;
const POLICY = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: upgrade-db
    profile: mysql
    match: { labels: { upgrade-test: protected } }
    protection: { schedule: "@daily", backupBeforeUpgrade: true, upgradeHoldLimit: ${LIMIT_S}s }
`;

interface Part {
  serviceId: string;
  alias: string;
  kind: 'StatefulSet' | 'Deployment';
  replicas: number;
  protectedLabel: boolean;
  claims: boolean;
}
/** A protected 2-replica StatefulSet with a claim template: the one the issue's proof is about. */
const DB: Part = { serviceId: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f70', alias: 'gr1hold', kind: 'StatefulSet', replicas: 2, protectedLabel: true, claims: true };
/** The same, but no rule protects it. */
const PLAIN: Part = { serviceId: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f71', alias: 'gr1plain', kind: 'StatefulSet', replicas: 1, protectedLabel: false, claims: true };
/** Protected, but a Deployment without PVCs: nothing to back up. */
const STATELESS: Part = { serviceId: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f72', alias: 'gr1web', kind: 'Deployment', replicas: 1, protectedLabel: true, claims: false };
/** A protected Deployment with a PVC volume: held with spec.paused. */
const DEPLOYED: Part = { serviceId: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f73', alias: 'gr1dep', kind: 'Deployment', replicas: 1, protectedLabel: true, claims: true };

let bed: BackupApiTestbed;
let namespace: string;

interface WorkloadJson {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    replicas?: number;
    paused?: boolean;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    template: { spec: { containers: { name: string; image: string }[] } };
  };
  status?: { currentRevision?: string; updateRevision?: string; updatedReplicas?: number; readyReplicas?: number; replicas?: number };
}
interface PodJson {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status?: { phase?: string };
}
interface EventJson {
  reason: string;
  type: string;
  message: string;
  source?: { component?: string };
}

const pathOf = (p: Part, name = p.alias): string => `/apis/apps/v1/namespaces/${namespace}/${p.kind === 'StatefulSet' ? 'statefulsets' : 'deployments'}/${name}`;

/** The workload as Wutong's worker builds it from its database: complete, without anything another party added. */
function wutongWorkload(p: Part, image: string): Record<string, unknown> {
  const labels = { ...wutongLabels({ serviceId: p.serviceId, alias: p.alias, tenant: 'acme', env: 'prod' }), ...(p.protectedLabel ? { 'upgrade-test': 'protected' } : {}) };
  const volumeMounts = p.claims ? [{ name: 'manual1001', mountPath: '/var/lib/mysql' }] : [];
  const podSpec = {
    // The kubelet stand-in ends a deleted pod after its grace period: short, so each replaced pod takes a second.
    terminationGracePeriodSeconds: 1,
    containers: [{ name: p.alias, image, volumeMounts }],
    ...(p.kind === 'Deployment' && p.claims ? { volumes: [{ name: 'manual1001', persistentVolumeClaim: { claimName: `${p.alias}-data` } }] } : {}),
  };
  const spec: Record<string, unknown> = {
    replicas: p.replicas,
    selector: { matchLabels: { service_id: p.serviceId } },
    template: { metadata: { labels }, spec: podSpec },
  };
  if (p.kind === 'StatefulSet') {
    spec.serviceName = p.alias;
    spec.updateStrategy = { type: 'RollingUpdate' };
    if (p.claims) spec.volumeClaimTemplates = [{ metadata: { name: 'manual1001', labels: { ...labels, volume_name: 'data' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }];
  }
  return { apiVersion: 'apps/v1', kind: p.kind, metadata: { name: p.alias, namespace, labels }, spec };
}

async function get(p: Part): Promise<WorkloadJson> {
  const res = await apiRequest(clusterInfo(), 'GET', pathOf(p));
  if (res.status !== 200) throw new Error(`GET ${p.kind} ${p.alias}: ${res.status} ${res.body.slice(0, 200)}`);
  return res.json as WorkloadJson;
}

/** A PUT of the whole workload, as Wutong's worker (and `kubectl replace`) sends it; answers the stored object, the webhook's patch applied. */
async function put(p: Part, body: Record<string, unknown>, dryRun = false): Promise<WorkloadJson> {
  const res = await apiRequest(clusterInfo(), 'PUT', pathOf(p) + (dryRun ? '?dryRun=All' : ''), body);
  if (res.status !== 200) throw new Error(`PUT ${p.kind} ${p.alias}: ${res.status} ${res.body.slice(0, 300)}`);
  return res.json as WorkloadJson;
}

/** An image change the way `kubectl set image` does it: the stored object with one field changed (our annotation and partition kept). */
async function setImage(p: Part, image: string): Promise<WorkloadJson> {
  const current = await get(p);
  current.spec.template.spec.containers[0]!.image = image;
  return put(p, current as unknown as Record<string, unknown>);
}

interface HoldJson {
  state: string;
  heldAt: string;
  backup: string;
  reason: string;
  outcome?: string;
  releasedAt?: string;
  partition?: number | null;
  paused?: boolean;
}
const holdOf = (w: WorkloadJson): HoldJson | undefined => {
  const value = w.metadata.annotations?.[HOLD_KEY];
  return value === undefined ? undefined : (JSON.parse(value) as HoldJson);
};
const partitionOf = (w: WorkloadJson): number => w.spec.updateStrategy?.rollingUpdate?.partition ?? 0;

async function podsOf(p: Part): Promise<PodJson[]> {
  const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`service_id=${p.serviceId}`)}`);
  return (res.json as { items: PodJson[] }).items;
}

async function start(p: Part): Promise<void> {
  bed.kubelet.runPods(namespace, `service_id=${p.serviceId}`);
  if (p.kind === 'Deployment' && p.claims) {
    const labels = wutongLabels({ serviceId: p.serviceId, alias: p.alias, tenant: 'acme', env: 'prod' });
    const pvc = await apiRequest(clusterInfo(), 'POST', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, {
      metadata: { name: `${p.alias}-data`, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    if (pvc.status !== 201) throw new Error(`creating PVC: ${pvc.status} ${pvc.body.slice(0, 200)}`);
  }
  const res = await apiRequest(clusterInfo(), 'POST', pathOf(p, '').replace(/\/$/, ''), wutongWorkload(p, 'mysql:8.0.36'));
  if (res.status !== 201) throw new Error(`creating ${p.kind} ${p.alias}: ${res.status} ${res.body.slice(0, 300)}`);
  await rolledOut(p, 'mysql:8.0.36');
}

/** Every pod of the workload runs `image` and is Running, and the controller says the rollout is complete. */
async function rolledOut(p: Part, image: string, timeoutMs = 120_000): Promise<void> {
  await eventually(async () => {
    const pods = (await podsOf(p)).filter((pod) => !pod.metadata.deletionTimestamp);
    const w = await get(p);
    const done =
      pods.length === p.replicas &&
      pods.every((pod) => pod.spec.containers[0]?.image === image && pod.status?.phase === 'Running') &&
      (p.kind === 'Deployment' || (w.status?.currentRevision === w.status?.updateRevision && pods.every((pod) => pod.metadata.labels?.['controller-revision-hash'] === w.status?.currentRevision)));
    return done ? true : undefined;
  }, `${p.kind} ${p.alias} rolled out on ${image}`, timeoutMs, 250);
}

async function events(p: Part): Promise<EventJson[]> {
  const selector = encodeURIComponent(`involvedObject.kind=${p.kind},involvedObject.name=${p.alias}`);
  const res = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${namespace}/events?fieldSelector=${selector}`);
  return (res.json as { items: EventJson[] }).items.filter((e) => e.source?.component === 'wutong-backup');
}

const eventWith = (p: Part, reason: string): Promise<EventJson> =>
  eventually(async () => (await events(p)).find((e) => e.reason === reason), `Event ${reason} on ${p.kind} ${p.alias}`, 60_000, 250);

const upgradeBackups = (p: Part): Promise<VeleroObjectJson[]> => bed.veleroObjects('backups', `wutong.io/service_id=${p.serviceId},backup.wutong.io/trigger=upgrade`);

const metrics = (): Promise<string> => replicaMetrics(bed);

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'upgrade-hold', serviceId: 'e1f2a3b4c5d6e7f8091a2b3c4d5e6f7f', alias: 'gr1bed', replicaCount: 1, beforeReplicas: () => setShippedPolicy(POLICY) });
  namespace = bed.component.namespace;
  for (const p of [DB, PLAIN, STATELESS, DEPLOYED]) await start(p);
  // The API server loads webhook configurations asynchronously: a dry-run image change shows when the hold's webhook answers.
  await eventually(async () => {
    const probe = await get(DB);
    probe.spec.template.spec.containers[0]!.image = 'mysql:probe';
    return holdOf(await put(DB, probe as unknown as Record<string, unknown>, true)) ? true : undefined;
  }, 'the workload webhook to answer', 30_000, 250);
});

afterAll(async () => {
  await bed?.stop();
});

describe('a protected 2-replica StatefulSet upgraded', () => {
  let oldRevision: string;
  let heldBackup: string;

  test('an image change is held: partition = replicas, both pods stay on the old revision while the Backup runs', async () => {
    bed.velero.holdBackups(true);
    oldRevision = (await get(DB)).status?.currentRevision ?? '';
    const stored = await setImage(DB, 'mysql:8.0.37');
    expect(partitionOf(stored)).toBe(2);
    const hold = holdOf(stored);
    expect(hold).toMatchObject({ state: 'held', reason: 'image mysql:8.0.36 → mysql:8.0.37' });
    // Created without a partition: unset, or 0 where the API server defaulted it.
    expect([null, 0]).toContain(hold?.partition);
    heldBackup = hold!.backup;
    expect(heldBackup).toMatch(new RegExp(`^${DB.serviceId}-${namespaceTag(namespace)}-upgrade-\\d{14}$`));
    // The controller takes the Backup of the still-running old version.
    const [backup] = await eventually(async () => {
      const found = await upgradeBackups(DB);
      return found.length === 1 && found[0]?.status?.phase === 'InProgress' ? found : undefined;
    }, 'the upgrade Backup InProgress', 30_000, 250);
    expect(backup?.metadata.name).toBe(heldBackup);
    expect(backup?.metadata.annotations?.['wutong.io/desc']).toBe('before upgrade: image mysql:8.0.36 → mysql:8.0.37');
    await eventWith(DB, 'UpgradeHeld');
    // Five seconds of the StatefulSet controller seeing a new revision it may not roll out.
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      const w = await get(DB);
      expect(w.status?.updateRevision).not.toBe(oldRevision);
      expect(w.status?.currentRevision).toBe(oldRevision);
      const pods = await podsOf(DB);
      expect(pods.map((p) => p.metadata.labels?.['controller-revision-hash'])).toEqual([oldRevision, oldRevision]);
      expect(pods.every((p) => p.spec.containers[0]?.image === 'mysql:8.0.36')).toBe(true);
    }
  });

  test('Wutong\'s full re-apply during the hold (no annotation, no partition) keeps it; a second image change starts no second Backup', async () => {
    const before = holdOf(await get(DB));
    const reapplied = await put(DB, wutongWorkload(DB, 'mysql:8.0.37'));
    expect(holdOf(reapplied)).toEqual(before);
    expect(partitionOf(reapplied)).toBe(2);
    const changedAgain = await put(DB, wutongWorkload(DB, 'mysql:8.0.38'));
    expect(holdOf(changedAgain)?.backup).toBe(heldBackup);
    expect(partitionOf(changedAgain)).toBe(2);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await upgradeBackups(DB)).map((b) => b.metadata.name)).toEqual([heldBackup]);
    expect((await podsOf(DB)).every((p) => p.metadata.labels?.['controller-revision-hash'] === oldRevision)).toBe(true);
  });

  test('once the Backup has Completed the partition is the user\'s again and the rollout finishes, pod by pod', async () => {
    bed.velero.holdBackups(false);
    const released = await eventually(async () => {
      const w = await get(DB);
      return holdOf(w)?.state === 'released' ? w : undefined;
    }, 'the hold released', 60_000, 250);
    expect(holdOf(released)).toMatchObject({ outcome: 'completed', backup: heldBackup });
    // The re-apply sent no partition: unset is what the user (Wutong) has, and the API server defaults it to 0.
    expect(partitionOf(released)).toBe(0);
    const [backup] = await upgradeBackups(DB);
    expect(backup?.status?.phase).toBe('Completed');
    await rolledOut(DB, 'mysql:8.0.38');
    const told = await eventWith(DB, 'UpgradeReleased');
    expect(told.type).toBe('Normal');
    expect(told.message).toContain(`Backup ${heldBackup} completed`);
  });

  test('a failed Backup releases the rollout at once, with a Warning', async () => {
    bed.velero.failNextBackup('Failed', 'stand-in: object store unreachable', /-upgrade-/);
    const stored = await setImage(DB, 'mysql:8.0.39');
    expect(partitionOf(stored)).toBe(2);
    const backup = holdOf(stored)!.backup;
    expect(backup).not.toBe(heldBackup);
    const warning = await eventWith(DB, 'UpgradeBackupFailed');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(`Backup ${backup} ended Failed: stand-in: object store unreachable`);
    expect(holdOf(await get(DB))).toMatchObject({ state: 'released', outcome: 'failed' });
    await rolledOut(DB, 'mysql:8.0.39');
  });

  test(`a Backup that does not finish releases the rollout at the bound (${LIMIT_S}s), with a Warning; the Backup goes on`, async () => {
    bed.velero.holdBackups(true);
    const stored = await setImage(DB, 'mysql:8.0.40');
    const heldAt = Date.parse(holdOf(stored)!.heldAt);
    const warning = await eventWith(DB, 'UpgradeHoldExpired');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(`after the hold limit of ${LIMIT_S}s`);
    const released = await get(DB);
    expect(holdOf(released)).toMatchObject({ state: 'released', outcome: 'expired' });
    const releasedAt = Date.parse(holdOf(released)?.releasedAt ?? '');
    // Not before the bound, and promptly after it.
    expect(releasedAt - heldAt).toBeGreaterThanOrEqual(LIMIT_S * 1000);
    expect(releasedAt - heldAt).toBeLessThan((LIMIT_S + 10) * 1000);
    await rolledOut(DB, 'mysql:8.0.40');
    expect((await upgradeBackups(DB)).find((b) => b.metadata.name === holdOf(released)!.backup)?.status?.phase).toBe('InProgress');
    bed.velero.holdBackups(false);
  });

  test('the metrics count each way a hold ended, and no hold is left', async () => {
    const text = await eventually(async () => {
      const body = await metrics();
      return /^wutong_backup_upgrade_holds 0$/m.test(body) ? body : undefined;
    }, 'no held rollout on /metrics', 30_000, 500);
    expect(text).toMatch(/^wutong_backup_upgrade_hold_releases_total\{outcome="completed"\} [1-9]/m);
    expect(text).toMatch(/^wutong_backup_upgrade_hold_releases_total\{outcome="failed"\} 1$/m);
    expect(text).toMatch(/^wutong_backup_upgrade_hold_releases_total\{outcome="expired"\} 1$/m);
  });
});

test('an unprotected StatefulSet and a protected Deployment without PVCs are never touched', async () => {
  const plain = await setImage(PLAIN, 'mysql:8.0.37');
  expect(plain.metadata.annotations?.[HOLD_KEY]).toBeUndefined();
  expect(partitionOf(plain)).toBe(0);
  const stateless = await setImage(STATELESS, 'mysql:8.0.37');
  expect(stateless.metadata.annotations?.[HOLD_KEY]).toBeUndefined();
  expect(stateless.spec.paused).toBeUndefined();
  await rolledOut(PLAIN, 'mysql:8.0.37');
  await rolledOut(STATELESS, 'mysql:8.0.37');
  expect(await upgradeBackups(PLAIN)).toEqual([]);
  expect(await upgradeBackups(STATELESS)).toEqual([]);
  expect(await events(PLAIN)).not.toContainEqual(expect.objectContaining({ reason: 'UpgradeHeld' }));
});

test('a protected Deployment with a PVC is held with spec.paused and unpaused once its Backup has Completed', async () => {
  const stored = await setImage(DEPLOYED, 'mysql:8.0.37');
  expect(stored.spec.paused).toBe(true);
  expect(holdOf(stored)).toMatchObject({ state: 'held', paused: false });
  const released = await eventually(async () => {
    const w = await get(DEPLOYED);
    return holdOf(w)?.state === 'released' ? w : undefined;
  }, 'the Deployment released', 60_000, 250);
  expect(holdOf(released)).toMatchObject({ outcome: 'completed' });
  // paused is omitempty: false reads as absent.
  expect(released.spec.paused ?? false).toBe(false);
  await rolledOut(DEPLOYED, 'mysql:8.0.37');
  await eventWith(DEPLOYED, 'UpgradeReleased');
});
