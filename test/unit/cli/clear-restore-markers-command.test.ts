import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli-in-process.js';

// What Velero v1.11.1's node agent leaves in a restored volume (pkg/controller/pod_volume_restore_controller.go
// L301-312: .velero/ 0755 with the done file <restore uid> 0644), and what the marker holder removes: that, only.

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'markers-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function restoredVolume(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, '.velero'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, '.velero', '0ad32bc8-b8da-4bbf-b891-6c3e98c46633'), '', { mode: 0o644 });
  writeFileSync(join(dir, 'ibdata1'), 'data');
  mkdirSync(join(dir, 'nested', '.velero'), { recursive: true });
  writeFileSync(join(dir, 'nested', '.velero', 'keep'), 'the application\'s own, deeper down');
  return dir;
}

test('removes <DIR>/.velero in each DIR and nothing else', async () => {
  const a = restoredVolume('a');
  const b = restoredVolume('b');
  const run = await cli(['clear-restore-markers', a, b]);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(run.stdout).toBe(`${a}/.velero: removed\n${b}/.velero: removed\n`);
  for (const dir of [a, b]) {
    expect(existsSync(join(dir, '.velero'))).toBe(false);
    expect(readFileSync(join(dir, 'ibdata1'), 'utf8')).toBe('data');
    expect(readFileSync(join(dir, 'nested', '.velero', 'keep'), 'utf8')).toBe('the application\'s own, deeper down');
  }
});

test('a volume without .velero is fine; a .velero symlink is removed, never followed', async () => {
  const plain = join(root, 'plain');
  mkdirSync(plain);
  const target = join(root, 'elsewhere');
  mkdirSync(target);
  writeFileSync(join(target, 'precious'), 'x');
  const linked = join(root, 'linked');
  mkdirSync(linked);
  symlinkSync(target, join(linked, '.velero'));
  const run = await cli(['clear-restore-markers', plain, linked]);
  expect(run).toMatchObject({ code: 0, stdout: `${plain}/.velero: none\n${linked}/.velero: removed\n` });
  expect(readFileSync(join(target, 'precious'), 'utf8')).toBe('x');
});

test('as root (the marker holder: uid 0 with CAP_DAC_OVERRIDE) a mode-0555 volume is no obstacle; as another user a marker it may not remove is exit 1, named', async () => {
  if (process.getuid?.() === 0) {
    const dir = restoredVolume('ro');
    chmodSync(dir, 0o555);
    const run = await cli(['clear-restore-markers', dir]);
    expect(run.code).toBe(0);
    return;
  }
  const dir = restoredVolume('ro');
  chmodSync(join(dir, '.velero'), 0o555);
  const run = await cli(['clear-restore-markers', dir]);
  chmodSync(join(dir, '.velero'), 0o755);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(`wutong-backup clear-restore-markers: ${dir}/.velero: `);
});

test.each([['relative/dir'], ['/data/../etc'], []])('refuses %p: only plain absolute directories', async (...args) => {
  const run = await cli(['clear-restore-markers', ...args]);
  expect(run.code).toBe(2);
});
