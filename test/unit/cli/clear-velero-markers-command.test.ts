import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli-in-process.js';

test("removes Velero's .velero done-file directory from each volume, nothing else, and exits 0", async () => {
  const root = mkdtempSync(join(tmpdir(), 'markers-'));
  const [a, b] = [join(root, 'a'), join(root, 'b')];
  mkdirSync(join(a, '.velero'), { recursive: true });
  writeFileSync(join(a, '.velero', 'restore-uid'), '');
  writeFileSync(join(a, 'ibdata1'), 'data');
  mkdirSync(join(a, '.veleroish'));
  mkdirSync(b);
  writeFileSync(join(b, 'PG_VERSION'), '15');
  const run = await cli(['clear-velero-markers', a, b]);
  expect(run.code).toBe(0);
  expect(readdirSync(a).sort()).toEqual(['.veleroish', 'ibdata1']);
  expect(readdirSync(b)).toEqual(['PG_VERSION']);
  expect(run.stderr).toContain(`removed ${join(a, '.velero')}`);
  rmSync(root, { recursive: true, force: true });
});

test('needs a directory (usage error, exit 2) and documents itself', async () => {
  expect(await cli(['clear-velero-markers'])).toEqual({ code: 2, stdout: '', stderr: 'wutong-backup: clear-velero-markers needs at least one volume directory (see: wutong-backup clear-velero-markers --help)\n' });
  expect((await cli(['clear-velero-markers', '--help'])).stdout).toContain('Removes <volume dir>/.velero');
  expect((await cli(['--help'])).stdout).toContain('clear-velero-markers ');
});
