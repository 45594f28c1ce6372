import { jest } from '@jest/globals';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/package-root.js';

// The CLI as a user runs it: built with `npm run build`, started with node,
// and through the package's bin name with npx. Everything else about the
// commands is tested in-process; this proves the shipped entry point works.

jest.setTimeout(240_000);

const MAIN = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
const EXAMPLES = join(PACKAGE_ROOT, 'examples', 'policy-tests');
const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'cli');

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd: PACKAGE_ROOT, encoding: 'utf8', input });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'pipe', timeout: 200_000 });
});

test('package.json names dist/src/cli/main.js as the wutong-backup bin, and the build starts it with a node shebang', () => {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  expect(pkg.bin['wutong-backup']).toBe('dist/src/cli/main.js');
  expect(readFileSync(MAIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
});

test('--help and --version', () => {
  const help = run(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('policy test DIR');
  expect(run(['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
});

test('mutate reads stdin and prints the webhook patch', () => {
  const result = run(['mutate', '-f', '-', '-o', 'patch'], readFileSync(join(FIXTURES, 'mysql-statefulset.yaml'), 'utf8'));
  expect(result.status).toBe(0);
  expect(result.stderr).toBe('');
  const ops = JSON.parse(result.stdout) as Array<{ path: string; value: Record<string, string> }>;
  expect(ops.map((op) => op.path)).toEqual(['/spec/template/metadata/labels/service_id', '/spec/template/metadata/annotations']);
  expect(ops[1]?.value['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
});

test('explain prints the decision for each pod', () => {
  const result = run(['explain', '-f', join(FIXTURES, 'mysql-statefulset.yaml')]);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('statefulset/gr3a9f1c in namespace 8c2d4e6f0a1b4c3d9e8f7a6b5c4d3e2f');
  expect(result.stdout).toContain('1. mysql [profile mysql]: SELECTED');
});

test('policy validate exits 1 naming each bad field on its own line', () => {
  const file = join(FIXTURES, 'bad-policy.yaml');
  const result = run(['policy', 'validate', file]);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(2);
  expect(result.stderr).toContain(`${file}: rules[1].profile: unknown profile "mysq"; known: mysql, mariadb,`);
});

test('policy test runs the shipped examples; a usage error is one line and exit 2', () => {
  const result = run(['policy', 'test', EXAMPLES]);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('5 passed, 0 failed');
  expect(run(['mutate', '--output'])).toEqual({
    status: 2,
    stdout: '',
    stderr: "wutong-backup: Option '-o, --output <value>' argument missing (see: wutong-backup mutate --help)\n",
  });
});

test('the bin name works through npx, without installing anything', () => {
  const result = spawnSync('npx', ['--no', '--', 'wutong-backup', 'policy', 'test', EXAMPLES], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('5 passed, 0 failed');
});

test.each(['SIGTERM', 'SIGINT'] as const)('hold, as a holder pod runs it, stays up until %s and exits 0', async (signal) => {
  const child = spawn(process.execPath, [MAIN, 'hold'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!stderr.includes('holding') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(stderr).toContain('holding the volumes until SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  expect(child.exitCode).toBeNull();
  child.kill(signal);
  expect(await exited).toBe(0);
  expect(stderr).toContain(`${signal}, exiting`);
});
