import { jest } from '@jest/globals';
import { scrapeReplica } from './support/metrics-reader.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { kubeHttp } from '../../src/kube/kube-http.js';
import { podMetadataPatcher } from '../../src/kube/pod-metadata-patcher.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { apiRequest } from './cluster/cluster.js';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './support/kubelet-stand-in.js';
import { wutongMysqlPod } from './support/pods.js';
import { installShipped, setShippedPolicy, shippedUser, type ShippedInstall } from './support/shipped-install.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';

jest.setTimeout(300_000);

const PODS = 6;
const RATE = 2;
const APP = 'orders-db';
const PRE = 'pre.hook.backup.velero.io/';
// The backfill is the controller's.
const USER = shippedUser('controller');
const SHIPPED_POLICY = readFileSync(join(PACKAGE_ROOT, 'manifests', 'base', 'policy.yaml'), 'utf8');

let core: CoreV1Api;
let install: ShippedInstall;
let kubelet: KubeletStandIn;
let namespace: string;
/** Labelled backup.wutong.io/inject=false: the shipped webhook configuration's namespaceSelector leaves it out. */
let optedOut: string;
let replica: WebhookProcess;
let replicaCa: string;

async function statefulSetPods(): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${APP}` })).items;
}

function metrics(): Promise<string> {
  return scrapeReplica(replica, replicaCa);
}

async function patchedCounter(): Promise<number> {
  const line = /^wutong_backup_backfill_patched_total (\d+)$/m.exec(await metrics());
  if (!line) throw new Error('wutong_backup_backfill_patched_total is not exposed');
  return Number(line[1]);
}

async function backfillEvents(): Promise<{ pod: string; message: string }[]> {
  const list = await core.listNamespacedEvent({ namespace });
  return list.items
    .filter((e) => e.reason === 'PodBackfilled')
    .map((e) => {
      expect(e.involvedObject.kind).toBe('Pod');
      expect(e.type).toBe('Normal');
      return { pod: e.involvedObject.name ?? '', message: e.message ?? '' };
    });
}

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

/** When the API server received each successful patch of a pod in this namespace by the installed ServiceAccount. */
function podPatchTimes(): number[] {
  return readFileSync(clusterInfo().auditLogPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.user.username === USER &&
        e.verb === 'patch' &&
        e.objectRef?.resource === 'pods' &&
        !e.objectRef.subresource &&
        e.objectRef.namespace === namespace &&
        e.responseStatus?.code === 200,
    )
    .map((e) => Date.parse(e.requestReceivedTimestamp))
    .sort((a, b) => a - b);
}

const wantsHooks = (p: V1Pod): boolean =>
  p.metadata?.annotations?.[`${PRE}container`] === 'gr3a9f1c' && p.metadata.annotations['backup.velero.io/backup-volumes'] === 'data';

beforeAll(async () => {
  ({ core } = clients());
  // Installed, but no replica runs yet: the webhook is down, and under
  // failurePolicy Ignore the API server admits pods without it.
  install = await installShipped('base');
  namespace = await createNamespace(core, 'backfill');
  kubelet = await startKubeletStandIn(`node-backfill-${process.pid}`);
  kubelet.runPods(namespace, `app=${APP}`);
  optedOut = await createNamespace(core, 'backfill-optout');
  await core.patchNamespace({ name: optedOut, body: [{ op: 'add', path: '/metadata/labels/backup.wutong.io~1inject', value: 'false' }] });
  kubelet.runPods(optedOut, `app=${APP}`);
  const loner = wutongMysqlPod('opted-out-db');
  loner.metadata!.labels!.app = APP;
  await core.createNamespacedPod({ namespace: optedOut, body: loner });
  const template = wutongMysqlPod('unused');
  delete template.metadata!.name;
  template.metadata!.labels!.app = APP;
  template.spec!.volumes = template.spec!.volumes!.filter((v) => v.name !== 'data');
  await adminKubeConfig()
    .makeApiClient(AppsV1Api)
    .createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: APP },
        spec: {
          serviceName: APP,
          replicas: PODS,
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: APP } },
          template,
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    });
});

afterAll(async () => {
  // No pod of this file may outlive it: the next file's replicas would backfill them to their own policy.
  await adminKubeConfig().makeApiClient(AppsV1Api).deleteNamespacedStatefulSet({ namespace, name: APP }).catch(() => undefined);
  for (const ns of [namespace, optedOut]) {
    if (ns) await core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
  await deleteNamespace(core, namespace);
  await deleteNamespace(core, optedOut);
  await kubelet?.stop();
  await install?.uninstall();
});

describe('the installed system backfills running pods', () => {
  let uids: Map<string, string>;

  test(`${PODS} pods the StatefulSet controller created while the webhook was down run without hooks`, async () => {
    const pods = await eventually(async () => {
      const list = await statefulSetPods();
      return list.length === PODS && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
    }, `${PODS} Running StatefulSet pods`, 120_000);
    for (const pod of pods) {
      expect(pod.metadata?.annotations?.[`${PRE}container`]).toBeUndefined();
      expect(pod.metadata?.annotations?.['backup.velero.io/backup-volumes']).toBeUndefined();
    }
    uids = new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  });

  test(`once the system runs, every pod gets the webhook's annotations in place, at most BACKFILL_RATE=${RATE} patches a second, each counted and announced`, async () => {
    expect(uids.size).toBe(PODS);
    [replica] = (await install.startReplicas(1, { BACKFILL_RATE: String(RATE) })) as [WebhookProcess];
    replicaCa = (await install.storedCa()).toString();

    const pods = await eventually(async () => {
      const list = await statefulSetPods();
      return list.length === PODS && list.every(wantsHooks) ? list : undefined;
    }, 'every pod backfilled', 90_000, 250);
    // The same pods, patched where they run: none was recreated.
    expect(new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]))).toEqual(uids);
    for (const pod of pods) expect(pod.status?.phase).toBe('Running');

    // Exactly one patch per pod, however many times the watch and the sweep saw each of them.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await patchedCounter()).toBe(PODS);
    const times = await eventually(() => {
      const t = podPatchTimes();
      return Promise.resolve(t.length >= PODS ? t : undefined);
    }, 'the patches in the audit log', 20_000, 250);
    expect(times).toHaveLength(PODS);
    // A bucket of RATE tokens refilled at RATE per second: the last of 6 patches comes (6 - 2) / 2 = 2 s after the first, at the earliest.
    const spanMs = times[times.length - 1]! - times[0]!;
    expect(spanMs).toBeGreaterThanOrEqual(((PODS - RATE) / RATE) * 1000 - 100);

    const events = await eventually(async () => {
      const e = await backfillEvents();
      return e.length >= PODS ? e : undefined;
    }, 'a PodBackfilled Event per pod', 20_000, 250);
    expect(new Set(events.map((e) => e.pod))).toEqual(new Set(uids.keys()));
    for (const e of events) expect(e.message).toContain(`added backup.velero.io/backup-volumes`);

    // The Wutong pod in the namespace that opted out of the webhook runs, and is left as it is.
    const loner = await core.readNamespacedPod({ namespace: optedOut, name: 'opted-out-db' });
    expect(loner.status?.phase).toBe('Running');
    expect(loner.metadata?.annotations?.[`${PRE}container`]).toBeUndefined();
  });

  test('a policy change (a longer MySQL pre-backup timeout) reaches the running pods without restarting them', async () => {
    const before = await statefulSetPods();
    expect(before.map((p) => p.metadata?.annotations?.[`${PRE}timeout`])).not.toContain('2h');
    const edited = SHIPPED_POLICY.replace('  - name: mysql\n    profile: mysql\n', '  - name: mysql\n    profile: mysql\n    backup: { pre: { timeout: 2h } }\n');
    expect(edited).not.toBe(SHIPPED_POLICY);
    await setShippedPolicy(edited);

    const pods = await eventually(async () => {
      const list = await statefulSetPods();
      return list.length === PODS && list.every((p) => p.metadata?.annotations?.[`${PRE}timeout`] === '2h') ? list : undefined;
    }, 'every pod with the new timeout', 90_000, 250);
    expect(new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]))).toEqual(uids);
    for (const pod of pods) expect(wantsHooks(pod)).toBe(true);

    await new Promise((r) => setTimeout(r, 3_000));
    expect(await patchedCounter()).toBe(2 * PODS);
    const updates = await eventually(async () => {
      const e = (await backfillEvents()).filter((event) => event.message.includes(`updated ${PRE}timeout`));
      return e.length >= PODS ? e : undefined;
    }, 'a PodBackfilled Event per pod for the update', 20_000, 250);
    expect(new Set(updates.map((e) => e.pod))).toEqual(new Set(uids.keys()));
  });

  test('with the system running, a pod admitted while the webhook is unreachable is backfilled from the pod watch, long before any resync', async () => {
    install.service.setBackends([]);
    const late = wutongMysqlPod('late-db');
    // Not the StatefulSet's selector: it would adopt the pod.
    late.metadata!.labels!.app = 'late-db';
    kubelet.runPods(namespace, 'app=late-db');
    const created = await core.createNamespacedPod({ namespace, body: late });
    expect(created.metadata?.annotations?.[`${PRE}container`]).toBeUndefined();
    // CONTROLLER_RESYNC is 5 minutes and the policy did not change: only the watch can have queued it.
    const patched = await eventually(async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'late-db' });
      return pod.status?.phase === 'Running' && pod.metadata?.annotations?.[`${PRE}container`] === 'gr3a9f1c' ? pod : undefined;
    }, 'the late pod backfilled', 30_000, 250);
    expect(patched.metadata?.uid).toBe(created.metadata?.uid);
    expect(patched.metadata?.annotations?.[`${PRE}timeout`]).toBe('2h');
    install.service.setBackends([replica.port]);
    // Out of the way of the next test's count of patches.
    await core.deleteNamespacedPod({ namespace, name: 'late-db', gracePeriodSeconds: 0 });
    await eventually(async () => ((await core.listNamespacedPod({ namespace, labelSelector: 'app=late-db' })).items.length === 0 ? true : undefined), 'the late pod gone', 30_000);
  });

  test('stopped in the middle of a pass and started again, the system finishes it and patches no pod twice', async () => {
    await replica.stop();
    const editedAt = Date.now();
    await setShippedPolicy(SHIPPED_POLICY.replace('  - name: mysql\n    profile: mysql\n', '  - name: mysql\n    profile: mysql\n    backup: { pre: { timeout: 3h } }\n'));
    const at3h = async (): Promise<number> => (await statefulSetPods()).filter((p) => p.metadata?.annotations?.[`${PRE}timeout`] === '3h').length;
    // One patch every 2 s: time enough to stop it half-way.
    const [slow] = (await install.startReplicas(1, { BACKFILL_RATE: '0.5' })) as [WebhookProcess];
    await eventually(async () => ((await at3h()) >= 2 ? true : undefined), 'two pods patched by the first run', 60_000, 100);
    await slow.stop();
    const before = await at3h();
    expect(before).toBeLessThan(PODS);

    [replica] = (await install.startReplicas(1, { BACKFILL_RATE: '20' })) as [WebhookProcess];
    const pods = await eventually(async () => {
      const list = await statefulSetPods();
      return list.length === PODS && list.every((p) => p.metadata?.annotations?.[`${PRE}timeout`] === '3h') ? list : undefined;
    }, 'every pod with the 3h timeout', 90_000, 250);
    expect(new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]))).toEqual(uids);
    await new Promise((r) => setTimeout(r, 3_000));
    // The second run patched exactly what the first left, and the API server saw one patch per pod in all.
    expect(await patchedCounter()).toBe(PODS - before);
    const since = await eventually(() => {
      const t = podPatchTimes().filter((time) => time >= editedAt);
      return Promise.resolve(t.length >= PODS ? t : undefined);
    }, 'the patches of both runs in the audit log', 20_000, 250);
    expect(since).toHaveLength(PODS);
  });
});

describe('the pod patcher against the API server', () => {
  const patcher = () => podMetadataPatcher(kubeHttp(adminKubeConfig()), { requestTimeoutMs: 5_000, pageTimeoutMs: 15_000, pageSize: 2 });

  test('lists Running pods page by page (limit and continue), across namespaces, by label', async () => {
    const pages: number[] = [];
    const names: string[] = [];
    await patcher().listRunning(`app=${APP}`, (page) => {
      pages.push(page.length);
      for (const pod of page as V1Pod[]) if (pod.metadata?.namespace === namespace) names.push(pod.metadata.name!);
    });
    expect(names.sort()).toEqual(Array.from({ length: PODS }, (_, i) => `${APP}-${i}`).sort());
    expect(pages.length).toBeGreaterThanOrEqual(PODS / 2);
    expect(Math.max(...pages)).toBeLessThanOrEqual(2);
  });

  test('a patch computed from an older version of the pod is refused as a conflict and changes nothing', async () => {
    const pod = (await patcher().read(namespace, `${APP}-0`)) as V1Pod;
    const stale = pod.metadata!.resourceVersion!;
    const touched = await apiRequest(clusterInfo(), 'PATCH', `/api/v1/namespaces/${namespace}/pods/${APP}-0`, { metadata: { annotations: { 'example.com/touched': 'yes' } } }, 'application/merge-patch+json');
    expect(touched.status).toBe(200);
    const result = await patcher().patch(namespace, `${APP}-0`, { metadata: { resourceVersion: stale, annotations: { 'example.com/backfill': 'no' } } });
    expect(result).toEqual({ outcome: 'conflict' });
    const after = (await patcher().read(namespace, `${APP}-0`)) as V1Pod;
    expect(after.metadata?.annotations?.['example.com/backfill']).toBeUndefined();
  });

  test('a pod that does not exist reads as undefined and patches as gone', async () => {
    expect(await patcher().read(namespace, 'no-such-pod')).toBeUndefined();
    expect(await patcher().patch(namespace, 'no-such-pod', { metadata: { resourceVersion: '1', annotations: { a: 'b' } } })).toEqual({ outcome: 'gone' });
  });
});
