// Request records: ConfigMaps in the project's own namespace through which
// the backup API hands work to the controller (the at-rest backup of a
// stopped component, src/holder/at-rest-request.ts; a restore that
// replaces, src/restore/restore-request.ts). Tenants cannot write there.
// The API creates a record and reads it back by name; the controller
// watches them by label, writes into each (a merge patch guarded by the
// resourceVersion it decided on) and deletes it (uid precondition) a while
// after the work is done. One adapter for both kinds; every call has a timeout.
import type { Logger } from 'pino';
import type { RequestRecordStore, RequestRecordWriter } from '../request-record-ports.js';
import { isObject } from '../is-object.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';

const collection = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
const recordPath = (namespace: string, name: string): string => `${collection(namespace)}/${encodeURIComponent(name)}`;


/** `what` names the kind of request in errors ("at-rest backup request"). */
export function requestRecordStore(http: KubeHttp, namespace: string, timeoutMs: number, what: string): RequestRecordStore {
  return {
    async create(record) {
      const response = await http.send('POST', collection(namespace), record, timeoutMs);
      if (response.status === 201 || response.status === 200) return 'created';
      if (response.status === 409) return 'exists';
      throw unexpectedAnswer(response, `create an ${what} in ${namespace}`);
    },
    async get(name) {
      const response = await http.send('GET', recordPath(namespace, name), undefined, timeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get ${what} ${namespace}/${name}`);
      return response.body;
    },
    async list(labelSelector) {
      const response = await http.send('GET', `${collection(namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`, undefined, timeoutMs);
      if (response.status !== 200) throw unexpectedAnswer(response, `list ${what}s in ${namespace}`);
      const items = isObject(response.body) && Array.isArray(response.body.items) ? response.body.items : [];
      return items as unknown[];
    },
  };
}

export function requestRecordWriter(http: KubeHttp, namespace: string, timeoutMs: number, what: string): RequestRecordWriter {
  return {
    async write(name, patch) {
      const response = await http.send('PATCH', recordPath(namespace, name), patch, timeoutMs);
      if (response.status === 200) return { kind: 'written', record: response.body };
      if (response.status === 409) return { kind: 'conflict' };
      if (response.status === 404) return { kind: 'gone' };
      throw unexpectedAnswer(response, `write into ${what} ${namespace}/${name}`);
    },
    async remove(name, uid) {
      // The uid precondition: never delete a newer record of the same name (a retry after this one was swept).
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } };
      const response = await http.send('DELETE', recordPath(namespace, name), body, timeoutMs);
      if (response.status === 200 || response.status === 202) return true;
      if (response.status === 404 || response.status === 409) return false;
      throw unexpectedAnswer(response, `delete ${what} ${namespace}/${name}`);
    },
  };
}

export interface RecordSink<R> {
  upsert(record: R): void;
  remove(name: string): void;
  markSynced(): void;
}

/** Every record with `label`, into `sink`: the project's listWatch (410 relist, idle deadline, backoff, periodic relist). */
export function watchRequestRecords<R>(http: KubeHttp, namespace: string, label: string, read: (raw: unknown) => R | undefined, sink: RecordSink<R>, log: Logger): ListWatch {
  const watch = listWatch(
    http,
    { path: collection(namespace), labelSelector: label, watchTimeoutSeconds: 300, relistIntervalMs: 15 * 60_000 },
    {
      upsert(raw) {
        const record = read(raw);
        if (record) sink.upsert(record);
      },
      remove(raw) {
        sink.remove(raw.metadata?.name ?? '');
      },
    },
    log,
  );
  return {
    start: () => watch.start().then(() => sink.markSynced()),
    stop: () => watch.stop(),
  };
}
