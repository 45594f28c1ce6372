import { apiRequest, type ApiResponse } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';

/**
 * Plays the kubelet of one Node (no kubelet can run here): registers the Node
 * as Ready, runs the pods it is told to (binds them through pods/binding and
 * reports them Running and Ready through pods/status), and completes their
 * deletion the way a kubelet does: a pod with a deletionTimestamp is removed
 * (DELETE with gracePeriodSeconds 0) once its grace period has passed. It
 * never touches pods it was not told to run. It polls rather than watches:
 * a test helper that never misses an event is worth more than its latency.
 */
export interface KubeletStandIn {
  nodeName: string;
  /** Runs every pod, present and future, in `namespace` that matches `labelSelector` (e.g. "app=db"). */
  runPods(namespace: string, labelSelector: string): void;
  stop(): Promise<void>;
}

export interface PodJson {
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

const POLL_MS = 250;

function ok(res: ApiResponse, what: string, also: number[] = []): ApiResponse {
  if ((res.status < 200 || res.status > 299) && !also.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

export async function startKubeletStandIn(nodeName: string): Promise<KubeletStandIn> {
  const info = clusterInfo();
  const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  ok(await apiRequest(info, 'POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' } },
  }), `registering Node ${nodeName}`, [409]);
  const readyCondition = (): Record<string, string> => ({ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet stand-in', lastHeartbeatTime: now(), lastTransitionTime: now() });
  ok(await apiRequest(info, 'PATCH', `/api/v1/nodes/${nodeName}/status`, {
    status: { conditions: [readyCondition()], addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], capacity: { cpu: '8', memory: '32Gi', pods: '110' }, allocatable: { cpu: '8', memory: '32Gi', pods: '110' } },
  }, 'application/merge-patch+json'), `reporting Node ${nodeName} Ready`);

  const told: { namespace: string; labelSelector: string }[] = [];
  const deleting = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let ip = 2;

  const run = async (pod: PodJson): Promise<void> => {
    const { name, namespace } = pod.metadata ?? {};
    if (!name || !namespace) return;
    const base = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (!pod.spec?.nodeName) {
      ok(await apiRequest(info, 'POST', `${base}/binding`, {
        apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      }), `binding ${namespace}/${name}`, [409]);
    }
    const t = now();
    const conditions = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: t }));
    ok(await apiRequest(info, 'PATCH', `${base}/status`, {
      status: {
        phase: 'Running',
        conditions,
        hostIP: '127.0.0.1',
        podIP: `10.244.0.${ip++ % 250}`,
        startTime: t,
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
          name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } },
        })),
      },
    }, 'application/strategic-merge-patch+json'), `reporting ${namespace}/${name} Running`, [404]);
  };

  const finishDeletion = (pod: PodJson): void => {
    const { name, namespace, uid, deletionTimestamp } = pod.metadata ?? {};
    if (!name || !namespace || !uid || !deletionTimestamp || deleting.has(uid)) return;
    // deletionTimestamp is when the grace period ends: the kubelet has stopped the containers by then.
    const wait = Math.max(0, Date.parse(deletionTimestamp) - Date.now());
    deleting.set(uid, setTimeout(() => {
      void apiRequest(info, 'DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
        apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid },
      }).catch(() => deleting.delete(uid));
    }, wait));
  };

  const tick = async (): Promise<void> => {
    const mine = await apiRequest(info, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`);
    for (const pod of (mine.json as { items?: PodJson[] } | undefined)?.items ?? []) {
      if (pod.metadata?.deletionTimestamp) finishDeletion(pod);
      else if (pod.status?.phase !== 'Running') await run(pod);
    }
    for (const { namespace, labelSelector } of told) {
      const res = await apiRequest(info, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`);
      for (const pod of (res.json as { items?: PodJson[] } | undefined)?.items ?? []) {
        if (!pod.spec?.nodeName && !pod.metadata?.deletionTimestamp) await run(pod);
      }
    }
  };

  let loop: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    loop = new Promise((resolve) => setTimeout(() => {
      tick().catch(() => undefined).finally(() => {
        resolve();
        schedule();
      });
    }, POLL_MS));
  };
  schedule();

  return {
    nodeName,
    runPods(namespace, labelSelector) {
      told.push({ namespace, labelSelector });
    },
    async stop() {
      stopped = true;
      await loop;
      for (const timer of deleting.values()) clearTimeout(timer);
      await apiRequest(info, 'DELETE', `/api/v1/nodes/${nodeName}`).catch(() => undefined);
    },
  };
}
