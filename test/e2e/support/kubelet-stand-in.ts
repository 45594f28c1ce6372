import type { V1Pod } from '@kubernetes/client-node';
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
 *
 * Without options it pretends: no process runs, every pod is reported
 * Running at once, and Ready unless a readiness gate of it is not True
 * (podReadyCondition; the test plays whoever writes the gate's condition). Given a PodHost (the data-bearing node,
 * data-node.ts), the host runs the pods for real and says what their status
 * is; the loop reports it, completes deletions once the host has stopped
 * the containers, and tells the host of pods gone from the API
 * (force-deleted) so it kills them at once, as the kubelet's pod workers do
 * for a pod the API no longer has (kubernetes v1.20 pkg/kubelet/kubelet.go
 * HandlePodRemoves).
 */
export interface KubeletStandIn {
  nodeName: string;
  /** Runs every pod, present and future, in `namespace` that matches `labelSelector` (e.g. "app=db"). */
  runPods(namespace: string, labelSelector: string): void;
  stop(): Promise<void>;
}

export interface PodJson {
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[]; readinessGates?: { conditionType: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * The pod's Ready condition once its containers are ready, as the kubelet
 * generates it (kubernetes v1.20 pkg/kubelet/status/generate.go
 * GeneratePodReadyCondition): True only when the condition of every
 * spec.readinessGates entry is present and "True" (another party, not the
 * kubelet, writes those), else False with reason ReadinessGatesNotReady and
 * the same messages.
 */
export function podReadyCondition(pod: PodJson, t: string): { type: string; status: string; lastTransitionTime: string; reason?: string; message?: string } {
  const conditions = pod.status?.conditions ?? [];
  const unready: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const c = conditions.find((k) => k.type === gate.conditionType);
    if (c === undefined) unready.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') unready.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
  }
  return unready.length === 0
    ? { type: 'Ready', status: 'True', lastTransitionTime: t }
    : { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: unready.join(', '), lastTransitionTime: t };
}

/** What runs the pods of a node that runs them for real (data-pod-host.ts). */
export interface PodHost {
  /** Brings a live pod bound to this node one step on; returns its status as the kubelet reports it. */
  sync(pod: V1Pod): Promise<Record<string, unknown>>;
  /** The pod has a deletionTimestamp: stops its containers; resolves once they have stopped (by the end of the grace period). */
  terminate(pod: V1Pod): Promise<void>;
  /** The pod's deletion completed: cleans up after it. */
  deleted(uid: string): Promise<void>;
  /** Pods of this node the API no longer has (force-deleted): killed at once. */
  forgetAllBut(uids: ReadonlySet<string>): Promise<void>;
  /** The node goes away: every process is killed. */
  killAll(): Promise<void>;
}

export interface KubeletStandInOptions {
  /** Runs the pods for real (the data-bearing node); without it, pods are only reported Running. */
  host?: PodHost;
  /** Labels for the Node beyond kubernetes.io/hostname and kubernetes.io/os. */
  labels?: Record<string, string>;
}

const POLL_MS = 250;

function ok(res: ApiResponse, what: string, also: number[] = []): ApiResponse {
  if ((res.status < 200 || res.status > 299) && !also.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

export async function startKubeletStandIn(nodeName: string, options: KubeletStandInOptions = {}): Promise<KubeletStandIn> {
  const host = options.host;
  const info = clusterInfo();
  const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  ok(await apiRequest(info, 'POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels: { ...options.labels, 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' } },
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
    if (host) return; // the host reports its status on the next tick
    const t = now();
    const conditions = [...['PodScheduled', 'Initialized', 'ContainersReady'].map((type) => ({ type, status: 'True', lastTransitionTime: t })), podReadyCondition(pod, t)];
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

  // A readiness gate's condition changed (someone else writes it): the kubelet generates Ready again on its next sync of the pod.
  const regate = async (pod: PodJson): Promise<void> => {
    const { name, namespace } = pod.metadata ?? {};
    if (!name || !namespace) return;
    const ready = podReadyCondition(pod, now());
    const current = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (current?.status === ready.status && current.reason === ready.reason && current.message === ready.message) return;
    // A strategic merge patch merges into the condition of that type: null removes a reason and message that no longer hold.
    const condition = { ...ready, reason: ready.reason ?? null, message: ready.message ?? null };
    ok(await apiRequest(info, 'PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, { status: { conditions: [condition] } }, 'application/strategic-merge-patch+json'),
      `reporting ${namespace}/${name} Ready ${ready.status}`, [404]);
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

  const reported = new Map<string, string>();
  const hostDeleting = new Set<string>();
  const finishHostDeletion = (runner: PodHost, pod: V1Pod): void => {
    const { name, namespace, uid } = pod.metadata ?? {};
    if (!name || !namespace || !uid || hostDeleting.has(uid)) return;
    hostDeleting.add(uid);
    void runner.terminate(pod)
      .then(() => apiRequest(info, 'DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
        apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid },
      }))
      .then((res) => {
        if (res.status === 200 || res.status === 404 || res.status === 409) return runner.deleted(uid);
        hostDeleting.delete(uid);
        return undefined;
      })
      .catch(() => hostDeleting.delete(uid));
  };
  const syncHost = async (runner: PodHost, pods: V1Pod[]): Promise<void> => {
    await runner.forgetAllBut(new Set(pods.map((p) => p.metadata?.uid ?? '')));
    for (const pod of pods) {
      const { name, namespace, uid } = pod.metadata ?? {};
      if (!name || !namespace || !uid) continue;
      if (pod.metadata?.deletionTimestamp) {
        finishHostDeletion(runner, pod);
        continue;
      }
      const status = JSON.stringify(await runner.sync(pod));
      if (reported.get(uid) === status) continue;
      const res = await apiRequest(info, 'PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, `{"status":${status}}`, 'application/merge-patch+json');
      if (res.status === 200) reported.set(uid, status);
    }
  };

  const tick = async (): Promise<void> => {
    const mine = await apiRequest(info, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`);
    const items = (mine.json as { items?: PodJson[] } | undefined)?.items ?? [];
    if (host) {
      // A failed list is not an empty node: forgetAllBut would kill every pod.
      if (mine.status === 200) await syncHost(host, items as unknown as V1Pod[]);
    } else {
      for (const pod of items) {
        if (pod.metadata?.deletionTimestamp) finishDeletion(pod);
        else if (pod.status?.phase !== 'Running') await run(pod);
        else if (pod.spec?.readinessGates?.length) await regate(pod);
      }
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
      await host?.killAll();
      await apiRequest(info, 'DELETE', `/api/v1/nodes/${nodeName}`).catch(() => undefined);
    },
  };
}
