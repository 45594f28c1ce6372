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
 * Four label-selected lists across namespaces, in parallel: Wutong puts a
 * component in its tenant environment's namespace, which the console's
 * route does not name. Live reads, not a cache of every pod in the cluster:
 * the guards (running pods, stopped) must see the state of now, and a
 * component's objects are a handful.
 */
export function kubeComponentReader(http: KubeHttp, timeoutMs: number): ComponentReader {
  const list = async (path: string, labelSelector: string): Promise<ListedItem[]> => {
    const answer = (await http.getJson(path, { labelSelector }, timeoutMs)) as { items?: ListedItem[] };
    return answer.items ?? [];
  };
  return {
    async read(ref) {
      const selector = [
        `${WUTONG_LABEL.creator}=${WUTONG_CREATOR}`,
        `${WUTONG_LABEL.tenantName}=${ref.tenantName}`,
        `${WUTONG_LABEL.tenantEnvName}=${ref.tenantEnvName}`,
        `${WUTONG_LABEL.serviceAlias}=${ref.serviceAlias}`,
      ].join(',');
      const [statefulSets, deployments, claims, pods] = await Promise.all([
        list('/apis/apps/v1/statefulsets', selector),
        list('/apis/apps/v1/deployments', selector),
        list('/api/v1/persistentvolumeclaims', selector),
        list('/api/v1/pods', selector),
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
    read: (ref) => (synced() ? Promise.resolve(registry.objectsOf(ref)) : live.read(ref)),
  };
}
