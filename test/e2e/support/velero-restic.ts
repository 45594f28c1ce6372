import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * VELERO'S RESTIC UPLOADER (test helper, part of the Velero stand-in's node
 * agent): runs Debian's `restic` (0.14 on bookworm; Velero 1.11 ships restic
 * as its "restic" uploader) the way vmware-tanzu/velero v1.11.1 does:
 *
 * - pkg/restic/command_factory.go BackupCommand: `restic backup` with the
 *   volume directory as working directory on `.`, `--tag=<k>=<v>` per PVB tag,
 *   `--host=velero`, `--json`; pkg/uploader/provider/restic.go RunBackup adds
 *   `--parent=<id>` when there is a parent snapshot, treats stderr "snapshot is
 *   empty" as an empty volume (no snapshot, no error), and then reads the
 *   snapshot ID with GetSnapshotCommand (`restic snapshots --json --latest=1
 *   --tag=<k=v,…>`, pkg/restic/exec_commands.go GetSnapshotID: short_id).
 * - pkg/restic/exec_commands.go RunBackup: progress from the last JSON status
 *   line (total_bytes, bytes_done) while it runs, then 100% of the summary's
 *   total_bytes_processed.
 * - RestoreCommand: `restic restore <snapshot> --target=.` in the volume
 *   directory; RunRestore first takes the snapshot size from `restic stats`
 *   (getSnapshotSize), reports the volume size while restoring and 100% at the
 *   end. restic 0.14's restore overwrites the files of the snapshot and never
 *   deletes other files: that is what Velero does to a volume that has data.
 * - InitCommand `restic init`, run once for a new repository (pkg/repository
 *   EnsureRepo → the restic repository manager's InitRepo).
 * - the repository password: pkg/repository/keys/keys.go encryptionKey
 *   "static-passw0rd", the same for every Velero installation.
 *
 * A repository is a local directory (Velero's is in object storage); there is
 * one per BackupStorageLocation and volume namespace, the key of Velero's
 * BackupRepository (pkg/repository/backup_repo_op.go BackupRepositoryKey).
 */

/** vmware-tanzu/velero v1.11.1 pkg/repository/keys/keys.go encryptionKey. */
export const VELERO_RESTIC_PASSWORD = 'static-passw0rd';

export interface UploaderProgress { totalBytes: number; bytesDone: number }

export class ResticMissing extends Error {}

export interface ResticRun { code: number | null; stdout: string; stderr: string }

/** Where the stand-in keeps its repositories and restic's cache. */
export interface ResticStore {
  readonly root: string;
}

/** The directory of the repository of (location, volume namespace) under the store root. */
export function resticRepositoryDir(store: ResticStore, location: string, volumeNamespace: string): string {
  return join(store.root, 'repositories', location, 'restic', volumeNamespace);
}

/**
 * pkg/repository/config/config.go GetRepoIdentifier for an "aws" location without s3Url:
 * `s3:s3-<region>.amazonaws.com/<bucket>/<prefix>/restic/<volume namespace>` (getRepoPrefix, the
 * object store layout's restic dir). What the PVB and PVR carry in spec.repoIdentifier.
 */
export function veleroRepoIdentifier(location: { bucket: string; prefix?: string; region?: string; s3Url?: string; resticRepoPrefix?: string }, volumeNamespace: string): string {
  if (location.resticRepoPrefix) return `${location.resticRepoPrefix.replace(/\/$/, '')}/${volumeNamespace}`;
  const url = location.s3Url ? location.s3Url.replace(/\/$/, '') : `s3-${location.region ?? 'us-east-1'}.amazonaws.com`;
  const dir = [location.bucket, location.prefix, 'restic'].filter((p) => p).join('/');
  return `s3:${url}/${dir}/${volumeNamespace}`;
}

/** Runs restic with the store's password file and cache; never throws on a non-zero exit. */
export async function runRestic(store: ResticStore, args: readonly string[], cwd?: string, onStdoutLine?: (line: string) => void): Promise<ResticRun> {
  const passwordFile = join(store.root, 'repository-password');
  if (!existsSync(passwordFile)) {
    await mkdir(store.root, { recursive: true });
    await writeFile(passwordFile, VELERO_RESTIC_PASSWORD, { mode: 0o600 });
  }
  return new Promise((resolve, reject) => {
    const child = spawn('restic', [...args, `--password-file=${passwordFile}`, `--cache-dir=${join(store.root, 'cache')}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stdout += text;
      if (!onStdoutLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onStdoutLine(line);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new ResticMissing('restic is not installed (Debian package `restic`; test/e2e/cluster/provision.sh installs it)') : err);
    });
    child.on('close', (code) => {
      if (pending && onStdoutLine) onStdoutLine(pending);
      resolve({ code, stdout, stderr });
    });
  });
}

const repositoryInits = new Map<string, Promise<void>>();

/** EnsureRepo: `restic init` the first time a repository is used (one init at a time per directory). */
export async function ensureResticRepository(store: ResticStore, repoDir: string): Promise<void> {
  let init = repositoryInits.get(repoDir);
  if (!init) {
    init = (async () => {
      if (existsSync(join(repoDir, 'config'))) return;
      await mkdir(repoDir, { recursive: true });
      const run = await runRestic(store, ['init', `--repo=${repoDir}`]);
      if (run.code !== 0) throw new Error(`error running restic init: ${run.stderr.trim()}`);
    })();
    repositoryInits.set(repoDir, init);
    init.catch(() => repositoryInits.delete(repoDir));
  }
  return init;
}

interface BackupStatusLine {
  message_type?: string;
  total_bytes?: number;
  bytes_done?: number;
  total_bytes_processed?: number;
  snapshot_id?: string;
}

export interface ResticBackupResult {
  /** restic's short snapshot ID ("" for an empty volume). */
  snapshotId: string;
  /** The volume was empty: Velero takes no snapshot and says so in the PVB's message. */
  empty: boolean;
  progress: UploaderProgress;
}

/** pkg/uploader/provider/restic.go RunBackup with pkg/restic/exec_commands.go RunBackup. Throws Velero's error text on failure. */
export async function resticBackup(
  store: ResticStore,
  request: { repoDir: string; volumeDir: string; tags: Record<string, string>; parentSnapshotId?: string; onProgress?: (p: UploaderProgress) => void },
): Promise<ResticBackupResult> {
  await ensureResticRepository(store, request.repoDir);
  const tagFlags = Object.entries(request.tags).map(([k, v]) => `--tag=${k}=${v}`);
  const args = ['backup', `--repo=${request.repoDir}`, '.', ...tagFlags, '--host=velero', '--json', ...(request.parentSnapshotId ? [`--parent=${request.parentSnapshotId}`] : [])];
  let summary: BackupStatusLine | undefined;
  const run = await runRestic(store, args, request.volumeDir, (line) => {
    let stat: BackupStatusLine;
    try {
      stat = JSON.parse(line) as BackupStatusLine;
    } catch {
      return;
    }
    if (stat.message_type === 'summary') summary = stat;
    // "if the line contains a non-empty bytes_done field, we can update the caller with the progress"
    else if (stat.bytes_done) request.onProgress?.({ totalBytes: stat.total_bytes ?? 0, bytesDone: stat.bytes_done });
  });
  if (run.code !== 0) {
    if (run.stderr.includes('snapshot is empty')) return { snapshotId: '', empty: true, progress: { totalBytes: 0, bytesDone: 0 } };
    throw new Error(`error running restic backup command restic ${args.join(' ')} with error: exit status ${run.code ?? 'signal'} stderr: ${run.stderr}`);
  }
  if (!summary) throw new Error(`error getting restic backup summary: ${run.stdout.slice(-300)}`);
  const total = summary.total_bytes_processed ?? 0;
  const progress = { totalBytes: total, bytesDone: total };
  request.onProgress?.(progress);
  // GetSnapshotCommand: the newest snapshot with all of this PVB's tags.
  const tagFilter = Object.entries(request.tags).map(([k, v]) => `${k}=${v}`).join(',');
  const snapshots = await runRestic(store, ['snapshots', `--repo=${request.repoDir}`, '--json', '--latest=1', `--tag=${tagFilter}`]);
  if (snapshots.code !== 0) throw new Error(`error getting snapshot id with error: ${snapshots.stderr.trim()}`);
  const found = JSON.parse(snapshots.stdout) as { short_id?: string }[];
  if (found.length !== 1 || !found[0]?.short_id) throw new Error(`error getting snapshot id with error: expected one snapshot, got ${found.length}`);
  return { snapshotId: found[0].short_id, empty: false, progress };
}

/** The bytes of the files under `dir` (RunRestore's getVolumeSize: a walk summing file sizes). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(full);
    else total += (await lstat(full)).size;
  }
  return total;
}

/** pkg/uploader/provider/restic.go RunRestore with pkg/restic/exec_commands.go RunRestore. Throws on failure. */
export async function resticRestore(
  store: ResticStore,
  request: { repoDir: string; snapshotId: string; volumeDir: string; onProgress?: (p: UploaderProgress) => void },
): Promise<UploaderProgress> {
  const stats = await runRestic(store, ['stats', `--repo=${request.repoDir}`, '--json', request.snapshotId]);
  if (stats.code !== 0) throw new Error(`error getting snapshot size: ${stats.stderr.trim()}`);
  const snapshotSize = (JSON.parse(stats.stdout) as { total_size?: number }).total_size ?? 0;
  request.onProgress?.({ totalBytes: snapshotSize, bytesDone: 0 });
  const run = await runRestic(store, ['restore', `--repo=${request.repoDir}`, request.snapshotId, '--target=.'], request.volumeDir);
  const done = { totalBytes: snapshotSize, bytesDone: snapshotSize };
  // Velero reports 100% whatever the outcome, then returns the command's error.
  request.onProgress?.(done);
  if (run.code !== 0) throw new Error(`exit status ${run.code ?? 'signal'}: stderr: ${run.stderr.trim()}`);
  return done;
}

/**
 * pkg/controller/pod_volume_restore_controller.go processRestore after the uploader: the volume's
 * .velero directory is removed (done files of earlier restores), made again, and the done file
 * `.velero/<restore uid>` written; the restore-wait init container waits for it.
 */
export async function writeRestoreDoneFile(volumeDir: string, restoreUid: string): Promise<void> {
  await rm(join(volumeDir, '.velero'), { recursive: true, force: true });
  await mkdir(join(volumeDir, '.velero'), { recursive: true, mode: 0o755 });
  await writeFile(join(volumeDir, '.velero', restoreUid), '', { mode: 0o644 });
}
