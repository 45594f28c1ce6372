// The archive the user downloads, laid out like the region API's
// (wutong-paas/wutong api/handler/velero.go DownloadBackup: a tar holding the
// manifests' tar and each volume's files):
//   manifests.tar.gz        Velero's BackupContents, the backup's Kubernetes manifests
//   MISSING-VOLUMES.txt     only for a partial backup: the volumes it has no data of, and why
//   volumes/<claim>/…       every backed-up volume's files, from the holder pod
// The first entries are small and built here; the holder's tar (with its
// end-of-archive marker) follows byte for byte, so the whole is one valid
// tar whose exact size is known before the first byte is sent.
import { Readable } from 'node:stream';
import { entryBytes } from './tar-entry.js';

export const MANIFESTS_ENTRY = 'manifests.tar.gz';
export const MISSING_VOLUMES_ENTRY = 'MISSING-VOLUMES.txt';

export interface MissingVolume {
  claim: string;
  why: string;
}

export interface DownloadArchive {
  size: number;
  stream: Readable;
}

/** The file name the user's browser saves: which component and which backup. */
export function downloadFileName(serviceAlias: string, backupName: string): string {
  return `${serviceAlias}-${backupName}.tar`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export async function composeDownloadArchive(input: { manifests: Buffer; missing: readonly MissingVolume[]; volumes: { size: number; body: AsyncIterable<Buffer> }; now: Date }): Promise<DownloadArchive> {
  const parts = [await entryBytes({ name: MANIFESTS_ENTRY, mode: 0o644, mtime: input.now }, input.manifests)];
  if (input.missing.length > 0) {
    const text = `This backup has no data of these volumes; the archive holds no files of them:\n${input.missing.map((m) => `${m.claim}: ${m.why}\n`).join('')}`;
    parts.push(await entryBytes({ name: MISSING_VOLUMES_ENTRY, mode: 0o644, mtime: input.now }, Buffer.from(text, 'utf8')));
  }
  const prefix = Buffer.concat(parts);
  const volumes = input.volumes.body;
  async function* all(): AsyncGenerator<Buffer> {
    yield prefix;
    yield* volumes;
  }
  return { size: prefix.length + input.volumes.size, stream: Readable.from(all(), { objectMode: false }) };
}
