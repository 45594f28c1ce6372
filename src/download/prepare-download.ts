// The backup API's side of a download, before its first byte: write the
// request record (one per component: a second download of the component
// while one is under way is a 409), wait for the controller to make it
// Ready, fetch the manifests (bounded) and open the holder's archive with
// the pinned certificate and the token only this process holds. What comes
// back is the whole archive's exact size and a stream; the caller answers
// with both and removes the record when the stream ends however it ends
// (the controller then deletes the scratch namespace). Not wired to the
// route yet: the controller loop that carries out the record is missing.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ApiError, conflict, unavailable } from '../api/api-error.js';
import { archiveTokenDigest, newArchiveToken } from './archive-token.js';
import { composeDownloadArchive, downloadFileName, type MissingVolume } from './download-archive.js';
import { downloadRequestName, downloadRequestObject, readDownloadRequest, SCRATCH_NAMESPACE_PREFIX, type DownloadRequest } from './download-request.js';
import { fetchHolderArchive } from './holder-archive-client.js';

export interface DownloadPorts {
  /** Creates the record; 'exists' when the component has one already. */
  createRecord(object: Record<string, unknown>): Promise<'created' | 'exists'>;
  readRecord(name: string): Promise<unknown>;
  /** Removes the record (the controller deletes the scratch namespace once it is gone). */
  removeRecord(name: string): Promise<void>;
  /** The backup's manifests (Velero's BackupContents), at most `maxBytes`. */
  manifests(backupName: string, maxBytes: number): Promise<Buffer>;
}

export interface DownloadSettings {
  /** The whole download's time limit (DOWNLOAD_TIME_LIMIT): the record expires after it. */
  timeLimitMs: number;
  /** How long to wait for the controller's Ready. */
  readyTimeoutMs: number;
  pollMs: number;
  maxManifestBytes: number;
}

export interface PreparedDownload {
  fileName: string;
  size: number;
  missing: MissingVolume[];
  stream: Readable;
  /** Ends the download: removes the record. Call once the stream ended, broke off or was never sent. */
  finish(): Promise<void>;
}

export async function prepareDownload(
  ports: DownloadPorts,
  settings: DownloadSettings,
  input: { component: DownloadRequest['component']; backupName: string; operator: string; now?: () => Date },
): Promise<PreparedDownload> {
  const now = input.now ?? (() => new Date());
  const token = newArchiveToken();
  const started = now();
  const request: DownloadRequest = {
    component: input.component,
    backupName: input.backupName,
    operator: input.operator,
    scratchNamespace: `${SCRATCH_NAMESPACE_PREFIX}${randomBytes(5).toString('hex')}`,
    tokenDigest: archiveTokenDigest(token),
    requestedAt: started.toISOString(),
    expiresAt: new Date(started.getTime() + settings.timeLimitMs).toISOString(),
  };
  const name = downloadRequestName(input.component.serviceId);
  if ((await ports.createRecord(downloadRequestObject(request))) === 'exists') {
    throw conflict(`a download of component ${input.component.serviceAlias} is under way; one download per component at a time`, 'download_in_progress');
  }
  const finish = (): Promise<void> => ports.removeRecord(name);
  try {
    const deadline = started.getTime() + settings.readyTimeoutMs;
    for (;;) {
      const record = readDownloadRequest(await ports.readRecord(name));
      // Another download's record under the same name: ours was removed (expired) meanwhile.
      if (!record || record.request?.tokenDigest !== request.tokenDigest) throw unavailable('the download request disappeared before it was ready (expired?)', 'download_gone');
      const progress = record.progress;
      if (progress?.stage === 'Failed') throw new ApiError(502, `the download failed: ${progress.message}`, 'download_failed');
      if (progress?.stage === 'Ready' && progress.holder) {
        const manifests = await ports.manifests(input.backupName, settings.maxManifestBytes);
        const volumes = await fetchHolderArchive({ host: progress.holder.ip, port: progress.holder.port, fingerprint: progress.holder.fingerprint }, token, settings.pollMs * 10);
        const missing = progress.missing ?? [];
        const archive = await composeDownloadArchive({ manifests, missing, volumes: { size: volumes.size, body: volumes.body }, now: now() });
        // The time limit: the stream is cut when it is reached, and the record (and so the namespace) goes.
        const left = Date.parse(request.expiresAt) - now().getTime();
        const limit = setTimeout(() => archive.stream.destroy(new Error(`the download's time limit of ${settings.timeLimitMs} ms was reached`)), Math.max(0, left));
        archive.stream.once('close', () => clearTimeout(limit));
        return { fileName: downloadFileName(input.component.serviceAlias, input.backupName), size: archive.size, missing, stream: archive.stream, finish };
      }
      if (now().getTime() + settings.pollMs > deadline) throw unavailable(`the download was not ready within ${settings.readyTimeoutMs} ms (${progress?.stage ?? 'New'}: ${progress?.message ?? 'the controller has not taken it up; is it running?'})`, 'download_timeout');
      await new Promise((resolve) => setTimeout(resolve, settings.pollMs));
    }
  } catch (err) {
    await finish().catch(() => undefined);
    throw err;
  }
}

/** The answer's headers: the exact size (Content-Length), the file name, and the missing volumes of a partial backup. */
export function downloadHeaders(download: Pick<PreparedDownload, 'fileName' | 'size' | 'missing'>): Record<string, string> {
  return {
    'content-type': 'application/x-tar',
    'content-length': String(download.size),
    'content-disposition': `attachment; filename="${download.fileName}"`,
    ...(download.missing.length > 0 ? { 'x-wutong-missing-volumes': download.missing.map((m) => m.claim).join(',') } : {}),
  };
}
