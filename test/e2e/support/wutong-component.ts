import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { apiRequest } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';
import { eventually } from './wait.js';

/** A Wutong component as its worker makes it: a StatefulSet, its pods and PVCs, all carrying Wutong's labels. */
export interface WutongComponent {
  serviceId: string;
  alias: string;
  tenant: string;
  env: string;
  namespace: string;
  /** The API's path prefix for it. */
  path: string;
}

export function wutongLabels(c: Omit<WutongComponent, 'path' | 'namespace'>): Record<string, string> {
  return {
    creator: 'Wutong',
    service_id: c.serviceId,
    service_alias: c.alias,
    tenant_name: c.tenant,
    tenant_env_name: c.env,
    app_id: '7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f',
  };
}

/** What the component's one container runs and where its claim is mounted (default: MySQL's image on a pretend node). */
export interface WutongWorkload {
  image: string;
  /** Literal env values of the container (Wutong writes them from its database). */
  env?: Record<string, string>;
  mountPath: string;
  /** The claim template's StorageClass (a data-bearing node's provisioner); unset: the cluster's default (none here). */
  storageClassName?: string;
  /** spec.readinessGates condition types: the pod is Ready only once each condition is True (whoever writes them); the start then waits for Running only. */
  readinessGates?: string[];
}

export const MYSQL_WORKLOAD: WutongWorkload = { image: 'mysql:8.0.36', mountPath: '/var/lib/mysql' };

/**
 * Starts the component: a StatefulSet with one replica and a claim template
 * (labelled like Wutong's, volume named manual<id>), whose pod the
 * controller-manager creates and the kubelet stand-in runs. On a data-bearing
 * node "running" is also Ready: the database answers.
 */
export async function startWutongComponent(apps: AppsV1Api, core: CoreV1Api, c: WutongComponent, workload: WutongWorkload = MYSQL_WORKLOAD): Promise<void> {
  const labels = wutongLabels(c);
  await apps.createNamespacedStatefulSet({
    namespace: c.namespace,
    body: {
      metadata: { name: c.alias, labels },
      spec: {
        replicas: 1,
        serviceName: c.alias,
        selector: { matchLabels: { service_id: c.serviceId } },
        template: {
          metadata: { labels },
          spec: {
            ...(workload.readinessGates ? { readinessGates: workload.readinessGates.map((conditionType) => ({ conditionType })) } : {}),
            containers: [
              {
                name: c.alias,
                image: workload.image,
                ...(workload.env ? { env: Object.entries(workload.env).map(([name, value]) => ({ name, value })) } : {}),
                volumeMounts: [{ name: 'manual1001', mountPath: workload.mountPath }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'manual1001', labels: { ...labels, volume_name: 'data', reclaim_policy: 'Retain' } },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(workload.storageClassName ? { storageClassName: workload.storageClassName } : {}) },
          },
        ],
      },
    },
  });
  await eventually(async () => {
    const pods = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` });
    const pod = pods.items.length === 1 ? pods.items[0] : undefined;
    const ready = workload.readinessGates !== undefined || pod?.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True') === true;
    return pod?.status?.phase === 'Running' && ready ? true : undefined;
  }, `component ${c.alias} running`, 180_000);
}

/** What Wutong's stop does (worker/appm/controller/stop.go): delete the workload, then every pod at once; the PVCs stay. */
export async function stopWutongComponent(apps: AppsV1Api, core: CoreV1Api, c: WutongComponent): Promise<void> {
  await apps.deleteNamespacedStatefulSet({ namespace: c.namespace, name: c.alias });
  const pods = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` });
  for (const pod of pods.items) await core.deleteNamespacedPod({ namespace: c.namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
  // Its own pods: a holder pod the controller starts for the backup on stop the moment the component is down is not one of them.
  await eventually(async () => {
    const left = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId},!backup.wutong.io/holder` });
    return left.items.length === 0 ? true : undefined;
  }, `component ${c.alias} stopped`, 60_000);
}

/** The data guard's finalizer (src/components/protection-keys.ts). */
export const DATA_GUARD_FINALIZER = 'backup.wutong.io/data-guard';

interface ClaimJson {
  metadata: { name: string; namespace: string; resourceVersion: string; finalizers?: string[] };
}

/**
 * What README "Deletion safety" tells an operator uninstalling the project
 * to do: take the data guard's finalizer off every PVC (here, of one
 * namespace), so nothing waits for a controller that will not come back.
 * Test files call it after stopping their replicas, before deleting the
 * namespace.
 */
export async function releaseDataGuards(namespace: string): Promise<void> {
  const info = clusterInfo();
  const list = await apiRequest(info, 'GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`);
  for (const claim of (list.json as { items?: ClaimJson[] } | undefined)?.items ?? []) {
    const finalizers = claim.metadata.finalizers ?? [];
    if (!finalizers.includes(DATA_GUARD_FINALIZER)) continue;
    await apiRequest(info, 'PATCH', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim.metadata.name}`, {
      metadata: { resourceVersion: claim.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== DATA_GUARD_FINALIZER) },
    }, 'application/merge-patch+json');
  }
}

/** The PVC name the StatefulSet controller gives the component's one claim (template manual1001, ordinal 0). */
export const claimNameOf = (c: Pick<WutongComponent, 'alias'>): string => `manual1001-${c.alias}-0`;

/**
 * A PV as Wutong's own provisioner leaves them: labelled creator=Wutong and
 * service_id, no storageClassName, reclaim policy Delete, here a local
 * volume (nothing mounts it: the kubelet is a stand-in), reserved for the
 * component's claim so the controller-manager's PV binder binds the two
 * when the claim appears.
 */
export async function createWutongVolume(c: WutongComponent, name = `pv-${c.alias}-${process.pid}`): Promise<string> {
  const res = await apiRequest(clusterInfo(), 'POST', '/api/v1/persistentvolumes', {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { creator: 'Wutong', service_id: c.serviceId } },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      // Not a hostPath: Velero skips a PVC bound to one (v1.11.1 pkg/podvolume/backupper.go L207-220), and so does its stand-in.
      local: { path: `/wtdata/tenant/${c.serviceId}/${name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }] } },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: c.namespace, name: claimNameOf(c) },
    },
  });
  if (res.status !== 201) throw new Error(`creating PersistentVolume ${name}: ${res.status} ${res.body.slice(0, 200)}`);
  return name;
}

/**
 * What Wutong's delete does after a stop (worker/gc/gc.go): DeleteCollection
 * of the component's PVs and PVCs, selected by creator=Wutong and service_id.
 */
export async function deleteWutongComponent(c: WutongComponent): Promise<void> {
  const info = clusterInfo();
  const selector = encodeURIComponent(`creator=Wutong,service_id=${c.serviceId}`);
  for (const path of ['/api/v1/persistentvolumes', `/api/v1/namespaces/${c.namespace}/persistentvolumeclaims`]) {
    const res = await apiRequest(info, 'DELETE', `${path}?labelSelector=${selector}`);
    if (res.status !== 200) throw new Error(`DeleteCollection ${path}: ${res.status} ${res.body.slice(0, 200)}`);
  }
}
