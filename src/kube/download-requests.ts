// The request records of downloads (src/download/download-request.ts), over
// the one request-record adapter (request-records.ts).
import type { Logger } from 'pino';
import { DOWNLOAD_REQUEST_LABEL, readDownloadRequest } from '../download/download-request.js';
import type { DownloadRequestIndex } from '../download/download-request-index.js';
import type { KubeHttp } from './kube-http.js';
import type { ListWatch } from './list-watch.js';
import type { RequestRecordStore, RequestRecordWriter } from '../request-record-ports.js';
import { requestRecordStore, requestRecordWriter, watchRequestRecords } from './request-records.js';

const WHAT = 'download request';

/** The API's side: create a record, read it by name, remove it (the stream ended). */
export function downloadRequestStore(http: KubeHttp, namespace: string, timeoutMs: number): RequestRecordStore & Pick<RequestRecordWriter, 'remove'> {
  const writer = requestRecordWriter(http, namespace, timeoutMs, WHAT);
  return { ...requestRecordStore(http, namespace, timeoutMs, WHAT), remove: (name, uid) => writer.remove(name, uid) };
}

/** The controller's side: write a record's progress, remove it. */
export function downloadRequestWriter(http: KubeHttp, namespace: string, timeoutMs: number): RequestRecordWriter {
  return requestRecordWriter(http, namespace, timeoutMs, WHAT);
}

/** Every download request record, into the index. */
export function watchDownloadRequests(http: KubeHttp, namespace: string, index: DownloadRequestIndex, log: Logger): ListWatch {
  return watchRequestRecords(http, namespace, DOWNLOAD_REQUEST_LABEL, readDownloadRequest, index, log.child({ component: 'download-requests' }));
}
