// The request records of the at-rest hand-over (src/holder/at-rest-request.ts),
// over the one request-record adapter (request-records.ts).
import type { Logger } from 'pino';
import { AT_REST_REQUEST_LABEL, readAtRestRequest } from '../holder/at-rest-request.js';
import type { AtRestRequestIndex } from '../holder/at-rest-request-index.js';
import type { AtRestRequestStore, AtRestRequestWriter } from '../holder/at-rest-request-ports.js';
import type { KubeHttp } from './kube-http.js';
import type { ListWatch } from './list-watch.js';
import { requestRecordStore, requestRecordWriter, watchRequestRecords } from './request-records.js';

const WHAT = 'at-rest backup request';

/** The API's side: create a record, read it by name. */
export function atRestRequestStore(http: KubeHttp, namespace: string, timeoutMs: number): AtRestRequestStore {
  return requestRecordStore(http, namespace, timeoutMs, WHAT);
}

/** The controller's side: write a record's outcome, remove it. */
export function atRestRequestWriter(http: KubeHttp, namespace: string, timeoutMs: number): AtRestRequestWriter {
  const writer = requestRecordWriter(http, namespace, timeoutMs, WHAT);
  return { decide: (name, patch) => writer.write(name, patch), remove: (name, uid) => writer.remove(name, uid) };
}

/** Every request record, into the index. */
export function watchAtRestRequests(http: KubeHttp, namespace: string, index: AtRestRequestIndex, log: Logger): ListWatch {
  return watchRequestRecords(http, namespace, AT_REST_REQUEST_LABEL, readAtRestRequest, index, log.child({ component: 'at-rest-requests' }));
}
