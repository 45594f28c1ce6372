import type { LabelledObject, PodSummary } from '../components/resolve-component.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import type { KubeHttp } from './kube-http.js';

import type { ComponentReader } from '../api/use-cases/ports.js';
import type { ComponentRegistry } from '../components/component-registry.js';

interface ListedItem {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

/**
 * Four label-selected lists in the tenant env's namespace, in parallel.
 * Never across namespaces: the namespace comes from the tenant env's own
 * labels (tenancy/), and a service_alias label anywhere else is somebody
 * else's claim. Live reads, not a cache of every pod in the cluster: the
 * guards (running pods, stopped) must see the state of now, and a
 * component's objects are a handful.
 */
export function kubeComponentReader(http: KubeHttp, timeoutMs: number): ComponentReader {
  const list = async (path: string, labelSelector: string): Promise<ListedItem[]> => {
    const answer = (await http.getJson(path, { labelSelector }, timeoutMs)) as { items?: ListedItem[] };
    return answer.items ?? [];
  };
  return {
    async read(namespace, serviceAlias) {
      const selector = [`${WUTONG_LABEL.creator}=${WUTONG_CREATOR}`, `${WUTONG_LABEL.serviceAlias}=${serviceAlias}`].join(',');
      const ns = encodeURIComponent(namespace);
      const [statefulSets, deployments, claims, pods] = await Promise.all([
        list(`/apis/apps/v1/namespaces/${ns}/statefulsets`, selector),
        list(`/apis/apps/v1/namespaces/${ns}/deployments`, selector),
        list(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, selector),
        list(`/api/v1/namespaces/${ns}/pods`, selector),
      ]);
      return {
        workloads: [
          ...statefulSets.map((o) => ({ ...labelled(o), kind: 'StatefulSet' as const })),
          ...deployments.map((o) => ({ ...labelled(o), kind: 'Deployment' as const })),
        ],
        volumeClaims: claims.map(labelled),
        pods: pods.map((o): PodSummary => ({ ...labelled(o), phase: o.status?.phase ?? '' })),
      };
    },
  };
}

function labelled(item: ListedItem): LabelledObject {
  return {
    metadata: {
      name: item.metadata?.name ?? '',
      namespace: item.metadata?.namespace ?? '',
      labels: item.metadata?.labels ?? {},
      ...(item.metadata?.deletionTimestamp ? { deletionTimestamp: item.metadata.deletionTimestamp } : {}),
    },
  };
}

/**
 * Reads from the registry the component watches keep, once they have
 * listed: no API call per request (four cluster-wide lists were most of a
 * records request's time). Until then, and so right after a start, live.
 * The watch lags the cluster by milliseconds; the guards it feeds (running
 * pods, stopped) are about states that last seconds to hours.
 */
export function registryComponentReader(registry: ComponentRegistry, synced: () => boolean, live: ComponentReader): ComponentReader {
  return {
    read: (namespace, serviceAlias) => (synced() ? Promise.resolve(registry.objectsIn(namespace, serviceAlias)) : live.read(namespace, serviceAlias)),
  };
}
