// The request records of the at-rest hand-over (src/holder/at-rest-request.ts):
// ConfigMaps labelled backup.wutong.io/at-rest-request in the project's
// namespace. The API creates one and reads it back by name while it waits;
// the controller watches them by label, writes each one's outcome (a merge
// patch guarded by its resourceVersion) and deletes it a while later.
import type { Logger } from 'pino';
import { AT_REST_REQUEST_LABEL, readAtRestRequest } from '../holder/at-rest-request.js';
import type { AtRestRequestIndex } from '../holder/at-rest-request-index.js';
import type { AtRestRequestStore, AtRestRequestWriter } from '../holder/at-rest-request-ports.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';

const collection = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
const recordPath = (namespace: string, name: string): string => `${collection(namespace)}/${encodeURIComponent(name)}`;

/** The API's side: create a record, read it by name. */
export function atRestRequestStore(http: KubeHttp, namespace: string, timeoutMs: number): AtRestRequestStore {
  return {
    async create(record) {
      const response = await http.send('POST', collection(namespace), record, timeoutMs);
      if (response.status === 201 || response.status === 200) return 'created';
      if (response.status === 409) return 'exists';
      throw unexpectedAnswer(response, `create an at-rest backup request in ${namespace}`);
    },
    async get(name) {
      const response = await http.send('GET', recordPath(namespace, name), undefined, timeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get at-rest backup request ${namespace}/${name}`);
      return response.body;
    },
  };
}

/** The controller's side: write a record's outcome, remove it. */
export function atRestRequestWriter(http: KubeHttp, namespace: string, timeoutMs: number): AtRestRequestWriter {
  return {
    async decide(name, patch) {
      const response = await http.send('PATCH', recordPath(namespace, name), patch, timeoutMs);
      if (response.status === 200) return { kind: 'written', record: response.body };
      if (response.status === 409) return { kind: 'conflict' };
      if (response.status === 404) return { kind: 'gone' };
      throw unexpectedAnswer(response, `write the outcome of at-rest backup request ${namespace}/${name}`);
    },
    async remove(name, uid) {
      // The uid precondition: never delete a newer record of the same name (a retry after this one was swept).
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } };
      const response = await http.send('DELETE', recordPath(namespace, name), body, timeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete at-rest backup request ${namespace}/${name}`);
    },
  };
}

/** Every request record, into the index: the project's listWatch (410 relist, idle deadline, backoff, periodic relist). */
export function watchAtRestRequests(http: KubeHttp, namespace: string, index: AtRestRequestIndex, log: Logger): ListWatch {
  const watch = listWatch(
    http,
    { path: collection(namespace), labelSelector: AT_REST_REQUEST_LABEL, watchTimeoutSeconds: 300, relistIntervalMs: 15 * 60_000 },
    {
      upsert(raw) {
        const record = readAtRestRequest(raw);
        if (record) index.upsert(record);
      },
      remove(raw) {
        index.remove(raw.metadata?.name ?? '');
      },
    },
    log.child({ component: 'at-rest-requests' }),
  );
  return {
    start: () => watch.start().then(() => index.markSynced()),
    stop: () => watch.stop(),
  };
}
