import { ChangeFeed } from '../change-feed.js';
import { DOWNLOAD_STAGES, downloadStageOf, type DownloadRequestRecord } from './download-request.js';

/**
 * Every download request record as the watch last saw it, by name, with a
 * change feed (the controller loop's trigger). Pure, like
 * RestoreRequestIndex: src/kube/download-requests.ts feeds it, and the
 * controller puts in what it wrote itself (read-your-writes).
 */
export class DownloadRequestIndex extends ChangeFeed<string> {
  readonly #records = new Map<string, DownloadRequestRecord>();

  upsert(record: DownloadRequestRecord): void {
    const held = this.#records.get(record.name);
    // A watch event older than what the controller wrote itself must not move a download back a stage.
    if (held && held.uid === record.uid && DOWNLOAD_STAGES.indexOf(downloadStageOf(held)) > DOWNLOAD_STAGES.indexOf(downloadStageOf(record))) return;
    this.#records.set(record.name, record);
    this.notify(record.name);
  }

  remove(name: string): void {
    if (this.#records.delete(name)) this.notify(name);
  }

  get(name: string): DownloadRequestRecord | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()];
  }
}
