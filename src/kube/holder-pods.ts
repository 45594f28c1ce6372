import type { HolderPodReader, HolderPods, LiveClaim } from '../holder/holder-ports.js';
import { viewHolderPod } from '../holder/holder-view.js';
import { isObject } from '../is-object.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';

const podsPath = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;

/** A holder pod by name: a GET. */
export function kubeHolderPodReader(http: KubeHttp, timeoutMs: number): HolderPodReader {
  return {
    async get(namespace, name) {
      const response = await http.send('GET', `${podsPath(namespace)}/${encodeURIComponent(name)}`, undefined, timeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get pod ${namespace}/${name}`);
      return viewHolderPod(response.body);
    },
  };
}

/** Holder pods and the PVCs they mount, over KubeHttp; every call bounded by timeoutMs. */
export function kubeHolderPods(http: KubeHttp, timeoutMs: number): HolderPods {
  return {
    ...kubeHolderPodReader(http, timeoutMs),
    async claimsOf(namespace, serviceId) {
      const selector = `${WUTONG_LABEL.creator}=${WUTONG_CREATOR},${WUTONG_LABEL.serviceId}=${serviceId}`;
      const answer = (await http.getJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`, { labelSelector: selector }, timeoutMs)) as { items?: unknown[] };
      return (answer.items ?? []).flatMap((item): LiveClaim[] => {
        const meta = isObject(item) && isObject(item.metadata) ? item.metadata : {};
        const labels = isObject(meta.labels) ? Object.fromEntries(Object.entries(meta.labels).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
        if (typeof meta.name !== 'string' || typeof meta.uid !== 'string') return [];
        return [{ name: meta.name, uid: meta.uid, labels, ...(typeof meta.deletionTimestamp === 'string' ? { deletionTimestamp: meta.deletionTimestamp } : {}) }];
      });
    },
    async create(pod) {
      const meta = (pod.metadata ?? {}) as { namespace?: string; name?: string };
      const response = await http.send('POST', podsPath(meta.namespace ?? ''), pod, timeoutMs);
      if (response.status === 201 || response.status === 200) return 'created';
      if (response.status === 409) return 'exists';
      throw unexpectedAnswer(response, `create holder pod ${meta.namespace ?? ''}/${meta.name ?? ''}`);
    },
    async remove(namespace, name, uid) {
      // The uid precondition: never delete a newer holder of the same name that replaced this one.
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } };
      const response = await http.send('DELETE', `${podsPath(namespace)}/${encodeURIComponent(name)}`, body, timeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete holder pod ${namespace}/${name}`);
    },
  };
}
