import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
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

/**
 * Starts the component: a StatefulSet with one replica and a claim template
 * (labelled like Wutong's, volume named manual<id>), whose pod the
 * controller-manager creates and the kubelet stand-in runs.
 */
export async function startWutongComponent(apps: AppsV1Api, core: CoreV1Api, c: WutongComponent): Promise<void> {
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
            containers: [{ name: c.alias, image: 'mysql:8.0.36', volumeMounts: [{ name: 'manual1001', mountPath: '/var/lib/mysql' }] }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'manual1001', labels: { ...labels, volume_name: 'data', reclaim_policy: 'Retain' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
  });
  await eventually(async () => {
    const pods = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` });
    return pods.items.length === 1 && pods.items[0]?.status?.phase === 'Running' ? true : undefined;
  }, `component ${c.alias} running`, 90_000);
}

/** What Wutong's stop does (worker/appm/controller/stop.go): delete the workload, then every pod at once; the PVCs stay. */
export async function stopWutongComponent(apps: AppsV1Api, core: CoreV1Api, c: WutongComponent): Promise<void> {
  await apps.deleteNamespacedStatefulSet({ namespace: c.namespace, name: c.alias });
  const pods = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` });
  for (const pod of pods.items) await core.deleteNamespacedPod({ namespace: c.namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
  await eventually(async () => {
    const left = await core.listNamespacedPod({ namespace: c.namespace, labelSelector: `service_id=${c.serviceId}` });
    return left.items.length === 0 ? true : undefined;
  }, `component ${c.alias} stopped`, 60_000);
}
