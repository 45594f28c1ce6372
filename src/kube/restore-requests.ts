// The request records of restores that replace (src/restore/restore-request.ts),
// over the one request-record adapter (request-records.ts).
import type { Logger } from 'pino';
import { readRestoreRequest, RESTORE_REQUEST_LABEL } from '../restore/restore-request.js';
import type { RestoreRequestIndex } from '../restore/restore-request-index.js';
import type { KubeHttp } from './kube-http.js';
import type { ListWatch } from './list-watch.js';
import type { RequestRecordStore, RequestRecordWriter } from '../request-record-ports.js';
import { requestRecordStore, requestRecordWriter, watchRequestRecords } from './request-records.js';

const WHAT = 'restore request';

/** The API's side: create a record, read it by name, remove one (a cancelled or deleted restore). */
export function restoreRequestStore(http: KubeHttp, namespace: string, timeoutMs: number): RequestRecordStore & Pick<RequestRecordWriter, 'remove'> {
  const writer = requestRecordWriter(http, namespace, timeoutMs, WHAT);
  return { ...requestRecordStore(http, namespace, timeoutMs, WHAT), remove: (name, uid) => writer.remove(name, uid) };
}

/** The controller's side: write a record's progress, remove it. */
export function restoreRequestWriter(http: KubeHttp, namespace: string, timeoutMs: number): RequestRecordWriter {
  return requestRecordWriter(http, namespace, timeoutMs, WHAT);
}

/** Every restore request record, into the index. */
export function watchRestoreRequests(http: KubeHttp, namespace: string, index: RestoreRequestIndex, log: Logger): ListWatch {
  return watchRequestRecords(http, namespace, RESTORE_REQUEST_LABEL, readRestoreRequest, index, log.child({ component: 'restore-requests' }));
}
