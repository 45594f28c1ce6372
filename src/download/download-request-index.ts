import { RequestRecordIndex, stageBehind } from '../request-record-index.js';
import { DOWNLOAD_STAGES, downloadStageOf, type DownloadRequestRecord } from './download-request.js';

/**
 * Every download request record as the watch last saw it (src/kube/download-requests.ts
 * feeds it); a watch event older than what the controller wrote itself must
 * not move a download back a stage.
 */
export class DownloadRequestIndex extends RequestRecordIndex<DownloadRequestRecord> {
  constructor() {
    super(stageBehind(DOWNLOAD_STAGES, downloadStageOf));
  }
}
