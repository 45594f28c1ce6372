// What the download holder pod serves: the files of every restored volume as
// one tar, `volumes/<claim>/<path>`, streamed from the mounts (never the
// whole archive in memory or on disk). The tree is walked first, so the
// archive's exact size is known before the first byte is sent: the volumes
// are restored copies that no application writes to (the scratch
// namespace's pods never start their containers), so the walk stays true.
// Velero's node-agent leaves a `.velero/` folder at the root of every volume
// it restored (pkg/podvolume/restorer.go, the restore-wait marker file): it
// is Velero's, not the component's, and is left out.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { headerBytes, paddedSize, type EntryHeader } from './tar-entry.js';

/** The folder under each volume's root that Velero's restore leaves behind. */
export const VELERO_RESTORE_FOLDER = '.velero';
/** Where a volume's files sit in the archive. */
export const volumePrefix = (claim: string): string => `volumes/${claim}/`;

export interface ArchivedVolume {
  /** The PVC's name: the folder under `volumes/`. */
  claim: string;
  /** Where the holder mounts it. */
  root: string;
}

interface PlannedEntry {
  header: EntryHeader;
  /** The file to read, for regular files. */
  source?: string;
}

export interface VolumeArchivePlan {
  entries: PlannedEntry[];
  /** The tar's exact length in bytes. */
  size: number;
  /** Regular files in the archive. */
  files: number;
  /** Sockets, FIFOs and devices: a tar of files has no content for them; named so the holder can log them. */
  skipped: string[];
}

/** Walks every volume (lstat: symbolic links are archived as links, never followed out of the volume). */
export async function planVolumeArchive(volumes: readonly ArchivedVolume[]): Promise<VolumeArchivePlan> {
  const entries: PlannedEntry[] = [];
  const skipped: string[] = [];
  let content = 0;
  let files = 0;
  const visit = async (path: string, name: string, atRoot: boolean): Promise<void> => {
    const stat = await lstat(path);
    const base: EntryHeader = { name: stat.isDirectory() ? `${name}/` : name, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: stat.mtime };
    if (stat.isDirectory()) {
      entries.push({ header: { ...base, type: 'directory' } });
      const children = (await readdir(path)).sort();
      for (const child of children) {
        if (atRoot && child === VELERO_RESTORE_FOLDER) continue;
        await visit(join(path, child), `${name}/${child}`, false);
      }
    } else if (stat.isFile()) {
      entries.push({ header: { ...base, type: 'file', size: stat.size }, source: path });
      content += paddedSize(stat.size);
      files += 1;
    } else if (stat.isSymbolicLink()) {
      entries.push({ header: { ...base, type: 'symlink', linkname: await readlink(path) } });
    } else {
      skipped.push(name);
    }
  };
  for (const volume of volumes) await visit(volume.root, volumePrefix(volume.claim).slice(0, -1), true);
  return { entries, size: (await headerBytes(entries.map((e) => e.header))) + content, files, skipped };
}

/**
 * The archive as a stream, entry by entry, with back-pressure (tar-stream
 * waits for the reader). Each file is read for exactly the size the plan
 * announced: a file that changed since makes tar-stream fail the stream
 * ("size mismatch"), so a reader never gets a silently different archive.
 */
export function packVolumeArchive(plan: VolumeArchivePlan): Readable {
  const pack = tar.pack();
  const fill = async (): Promise<void> => {
    for (const entry of plan.entries) {
      const header = { ...entry.header };
      if (entry.source === undefined || header.size === 0) {
        await new Promise<void>((resolve, reject) => pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
        continue;
      }
      const size = header.size ?? 0;
      const sink = pack.entry(header);
      await pipeline(createReadStream(entry.source, { start: 0, end: size - 1 }), sink);
    }
    pack.finalize();
  };
  fill().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's streams are streamx streams; Node's Readable wraps one with back-pressure, and destroying it destroys the pack.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
