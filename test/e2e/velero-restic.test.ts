import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { jest } from '@jest/globals';
import {
  resticBackup, resticRepositoryDir, resticRestore, veleroRepoIdentifier, VELERO_RESTIC_PASSWORD, writeRestoreDoneFile, type ResticStore, type UploaderProgress,
} from './support/velero-restic.js';

/**
 * The Velero stand-in's restic uploader on plain directories, rule by rule
 * against vmware-tanzu/velero v1.11.1 (pkg/restic/command_factory.go,
 * pkg/restic/exec_commands.go, pkg/uploader/provider/restic.go,
 * pkg/repository/keys/keys.go, pkg/controller/pod_volume_restore_controller.go)
 * and Debian's restic 0.14, which must be installed (test/e2e/cluster/provision.sh installs it;
 * the suite fails without it).
 */

/** Every file under `dir` (but .velero) with its bytes, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[relative(dir, full)] = readFileSync(full).toString('base64');
    }
  };
  walk(dir);
  return out;
}

// restic derives its key with scrypt on every run: a few seconds per backup on two busy cores.
jest.setTimeout(120_000);

let root: string;
let store: ResticStore;
const binary = randomBytes(300_000);

beforeAll(() => {
  // Fails, not skips, when restic is missing.
  expect(execFileSync('restic', ['version']).toString()).toMatch(/^restic 0\.14\./);
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'velero-restic-test-'));
  store = { root: join(root, 'store') };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function volumeWithFiles(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'first file\n');
  writeFileSync(join(dir, 'nested', 'data.bin'), binary);
  writeFileSync(join(dir, 'nested', 'deeper', 'c.txt'), 'deep\n');
  return dir;
}

const tags = { backup: 'b1', 'backup-uid': 'u1', pod: 'db-0', 'pod-uid': 'p1', ns: 'app', volume: 'data', 'pvc-uid': 'c1' };

test('backup then restore into an empty directory gives back the same tree, byte for byte (command_factory.go BackupCommand/RestoreCommand)', async () => {
  const source = volumeWithFiles('source');
  const repoDir = resticRepositoryDir(store, 'default', 'app');
  const progress: UploaderProgress[] = [];
  const backup = await resticBackup(store, { repoDir, volumeDir: source, tags, onProgress: (p) => progress.push(p) });
  expect(backup.empty).toBe(false);
  // GetSnapshotID returns restic's short_id.
  expect(backup.snapshotId).toMatch(/^[0-9a-f]{8}$/);
  // exec_commands.go RunBackup: 100% of the summary's total_bytes_processed at the end.
  const size = 'first file\n'.length + binary.length + 'deep\n'.length;
  expect(progress.at(-1)).toEqual({ totalBytes: size, bytesDone: size });

  // The snapshot carries Velero's host and tags (restic snapshots, read with Velero's static password).
  const snapshots = JSON.parse(execFileSync('restic', ['snapshots', `--repo=${repoDir}`, '--json', '--no-cache'], { env: { ...process.env, RESTIC_PASSWORD: 'static-passw0rd' } }).toString()) as { hostname: string; tags: string[]; short_id: string }[];
  expect(snapshots).toHaveLength(1);
  expect(snapshots[0]).toMatchObject({ hostname: 'velero', short_id: backup.snapshotId });
  expect([...(snapshots[0]?.tags ?? [])].sort()).toEqual(Object.entries(tags).map(([k, v]) => `${k}=${v}`).sort());
  expect(VELERO_RESTIC_PASSWORD).toBe('static-passw0rd');

  const target = join(root, 'target');
  mkdirSync(target);
  const restored = await resticRestore(store, { repoDir, snapshotId: backup.snapshotId, volumeDir: target });
  expect(restored).toEqual({ totalBytes: size, bytesDone: size });
  expect(tree(target)).toEqual(tree(source));
});

test('restore over a volume with data overlays it: changed files get the backup\'s bytes, files added since stay (restic 0.14 never deletes)', async () => {
  const volume = volumeWithFiles('volume');
  const repoDir = resticRepositoryDir(store, 'default', 'app');
  const atBackup = tree(volume);
  const { snapshotId } = await resticBackup(store, { repoDir, volumeDir: volume, tags });
  writeFileSync(join(volume, 'a.txt'), 'changed after the backup\n');
  writeFileSync(join(volume, 'nested', 'added-later.txt'), 'not in the backup\n');
  rmSync(join(volume, 'nested', 'deeper', 'c.txt'));

  await resticRestore(store, { repoDir, snapshotId, volumeDir: volume });
  const after = tree(volume);
  expect(after).toEqual({ ...atBackup, 'nested/added-later.txt': Buffer.from('not in the backup\n').toString('base64') });
});

test('an empty volume: no snapshot and no error, as restic.go RunBackup handles "snapshot is empty"', async () => {
  const empty = join(root, 'empty');
  mkdirSync(empty);
  const result = await resticBackup(store, { repoDir: resticRepositoryDir(store, 'default', 'app'), volumeDir: empty, tags });
  expect(result).toEqual({ snapshotId: '', empty: true, progress: { totalBytes: 0, bytesDone: 0 } });
});

test('one repository per location and volume namespace, created on first use; a parent snapshot makes the next backup incremental', async () => {
  const volume = volumeWithFiles('v');
  const first = await resticBackup(store, { repoDir: resticRepositoryDir(store, 'default', 'app'), volumeDir: volume, tags });
  const second = await resticBackup(store, { repoDir: resticRepositoryDir(store, 'default', 'app'), volumeDir: volume, tags: { ...tags, backup: 'b2' }, parentSnapshotId: first.snapshotId });
  await resticBackup(store, { repoDir: resticRepositoryDir(store, 'other', 'app'), volumeDir: volume, tags });
  await resticBackup(store, { repoDir: resticRepositoryDir(store, 'default', 'other-ns'), volumeDir: volume, tags });
  expect(second.snapshotId).not.toBe(first.snapshotId);
  const repos = ['default/restic/app', 'other/restic/app', 'default/restic/other-ns'];
  for (const repo of repos) expect(statSync(join(store.root, 'repositories', repo, 'config')).isFile()).toBe(true);
  const inDefault = JSON.parse(execFileSync('restic', ['snapshots', `--repo=${resticRepositoryDir(store, 'default', 'app')}`, '--json', '--no-cache'], { env: { ...process.env, RESTIC_PASSWORD: 'static-passw0rd' } }).toString()) as { parent?: string; short_id: string; id: string }[];
  expect(inDefault).toHaveLength(2);
  const child = inDefault.find((s) => s.short_id === second.snapshotId);
  expect(child?.parent?.startsWith(first.snapshotId)).toBe(true);
  // pkg/repository/config GetRepoIdentifier for the stand-in's "aws" location.
  expect(veleroRepoIdentifier({ bucket: 'velero-stand-in', region: 'stand-in' }, 'app')).toBe('s3:s3-stand-in.amazonaws.com/velero-stand-in/restic/app');
});

test('the done file: .velero is emptied and holds only <restore uid> (pod_volume_restore_controller.go processRestore)', async () => {
  const volume = join(root, 'vol');
  mkdirSync(join(volume, '.velero'), { recursive: true });
  writeFileSync(join(volume, '.velero', 'old-restore-uid'), '');
  await writeRestoreDoneFile(volume, 'new-restore-uid');
  expect(readdirSync(join(volume, '.velero'))).toEqual(['new-restore-uid']);
  expect(readFileSync(join(volume, '.velero', 'new-restore-uid'))).toHaveLength(0);
});
