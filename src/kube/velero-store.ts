import { AlreadyExists, type VeleroStore } from '../velero/velero-ports.js';
import type { VeleroObject } from '../velero/velero-resources.js';
import { VELERO_KINDS, veleroPath, type VeleroResource } from '../velero/velero-resources.js';
import { unexpectedAnswer, type KubeHttp, type KubeResponse } from './kube-http.js';

/**
 * Velero objects read and written live through the API server. A non-2xx
 * answer becomes a KubeHttpError carrying the API server's status and
 * message (the route layer turns 403/404/5xx into a 503 that says what is
 * wrong with the installation); a GET or DELETE of something already gone
 * is not an error.
 */
export function kubeVeleroStore(http: KubeHttp, namespace: string, timeoutMs: number): VeleroStore {
  const ok = (response: KubeResponse, what: string): unknown => {
    if (response.status >= 200 && response.status < 300) return response.body;
    throw unexpectedAnswer(response, what);
  };
  return {
    async list(resource, labelSelector) {
      const body = ok(await http.send('GET', veleroPath(namespace, resource), undefined, timeoutMs, { labelSelector }), `list ${resource}`) as { items?: unknown[] };
      return body.items ?? [];
    },
    async get(resource, name) {
      const response = await http.send('GET', veleroPath(namespace, resource, name), undefined, timeoutMs);
      if (response.status === 404 && isNotFoundOfObject(response)) return undefined;
      return ok(response, `get ${resource} ${name}`);
    },
    async create(object: VeleroObject) {
      const resource = resourceOf(object);
      const response = await http.send('POST', veleroPath(namespace, resource), object, timeoutMs);
      if (response.status === 409) throw new AlreadyExists(`${VELERO_KINDS[resource]} ${namespace}/${object.metadata.name}`);
      return ok(response, `create ${resource} ${object.metadata.name}`);
    },
    async patch(resource, name, patch) {
      return ok(await http.send('PATCH', veleroPath(namespace, resource, name), patch, timeoutMs), `patch ${resource} ${name}`);
    },
    async remove(resource, name) {
      const response = await http.send('DELETE', veleroPath(namespace, resource, name), undefined, timeoutMs);
      if (response.status === 404 && isNotFoundOfObject(response)) return false;
      ok(response, `delete ${resource} ${name}`);
      return true;
    },
  };
}

/**
 * A 404 for the object itself carries a Status with details.name; a missing
 * CRD or namespace answers 404 too, but for the collection, and must not be
 * read as "already gone".
 */
function isNotFoundOfObject(response: KubeResponse): boolean {
  const details = (response.body as { details?: { name?: unknown; kind?: unknown } } | undefined)?.details;
  return typeof details?.name === 'string' && details.name !== '';
}

function resourceOf(object: VeleroObject): VeleroResource {
  const found = (Object.entries(VELERO_KINDS) as [VeleroResource, string][]).find(([, kind]) => kind === object.kind);
  if (!found) throw new Error(`not a Velero kind: ${object.kind}`);
  return found[0];
}
