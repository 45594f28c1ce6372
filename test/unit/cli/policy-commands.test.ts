import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { cli } from './run-cli-in-process.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'cli');
const EXAMPLES = join(PACKAGE_ROOT, 'examples', 'policy-tests');

describe('wutong-backup policy validate', () => {
  test('names every bad field, one per line, and exits 1', async () => {
    const file = join(FIXTURES, 'bad-policy.yaml');
    const run = await cli(['policy', 'validate', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      `${file}: rules[1].backup.pre.timeout: expected a duration like 30s`,
      `${file}: rules[1].profile: unknown profile "mysq"; known: mysql, mariadb, postgresql, redis, mongodb, etcd, elasticsearch, fsfreeze`,
    ]);
  });

  test('summarises valid files; the shipped policy is valid', async () => {
    const run = await cli(['policy', 'validate', join(PACKAGE_ROOT, 'manifests', 'base', 'policy.yaml'), join(FIXTURES, 'team-policy.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'policy.yaml: valid; 4 rules: mysql (profile mysql), postgresql (profile postgresql), redis (profile redis), mongodb (profile mongodb); autoProfiles: off; dumps.removeAfterBackup: false\n',
    );
    expect(run.stdout).toContain('team-policy.yaml: valid; 3 rules: billing-db (profile postgresql), orders-cache (profile redis), orders-db (profile mysql); autoProfiles: mysql, mariadb, postgresql, redis, mongodb, etcd, elasticsearch; dumps.removeAfterBackup: true\n');
  });

  test('shows each rule\'s protection', async () => {
    const run = await cli(['policy', 'validate', join(FIXTURES, 'protection-policy.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `${join(FIXTURES, 'protection-policy.yaml')}: valid; 2 rules: ` +
        'orders-db (profile mysql; protection: schedule 0 3 * * *, ttl 30d, keep 7, deletion guard ≤ 5m), ' +
        'any-db (profile postgresql; protection: schedule @daily, ttl 720h, keep all (Velero TTL only), deletion guard ≤ 5m); ' +
        'autoProfiles: off; dumps.removeAfterBackup: false\n',
    );
  });

  test('a YAML error and a missing file are one line each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wutong-validate-'));
    try {
      writeFileSync(join(dir, 'p.yaml'), 'apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\nrules: [\n');
      const run = await cli(['policy', 'validate', join(dir, 'p.yaml')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^\S+p\.yaml: invalid YAML: .* at line \d+, column \d+:?\n$/);
      expect(await cli(['policy', 'validate', join(dir, 'none.yaml')])).toEqual({
        code: 1,
        stdout: '',
        stderr: `wutong-backup: cannot read ${join(dir, 'none.yaml')}: no such file\n`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wutong-backup policy test', () => {
  test('the shipped examples pass', async () => {
    const run = await cli(['policy', 'test', EXAMPLES]);
    expect(run).toEqual({
      code: 0,
      stdout: 'PASS mysql-statefulset\nPASS opted-out\nPASS postgresql-longer-timeout\nPASS redis-deployment\nPASS web-without-rule\n\n5 passed, 0 failed\n',
      stderr: '',
    });
  });

  describe('with a case that does not hold', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'wutong-policy-test-'));
      cpSync(join(EXAMPLES, 'redis-deployment'), join(dir, 'redis'), { recursive: true });
      cpSync(join(EXAMPLES, 'opted-out'), join(dir, 'opted-out'), { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('FAIL with the differences, "-" expected and "+" got, and exit 1', async () => {
      writeFileSync(
        join(dir, 'redis', 'expected.yaml'),
        [
          'annotations:',
          '  backup.velero.io/backup-volumes: redis-data',
          '  pre.hook.backup.velero.io/container: redis',
          '  pre.hook.backup.velero.io/command: { contains: BGSAVE }',
          '  pre.hook.backup.velero.io/on-error: Continue',
          '  pre.hook.backup.velero.io/timeout: 30m',
          '  post.hook.restore.velero.io/command: { contains: redis-cli }',
          'absent: [service_id]',
          'warnings: [crash-consistent]',
        ].join('\n'),
      );
      const run = await cli(['policy', 'test', dir]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe(
        [
          'PASS opted-out',
          'FAIL redis',
          '    annotations: - pre.hook.backup.velero.io/timeout: "30m"',
          '    annotations: + pre.hook.backup.velero.io/timeout: "10m"',
          '    annotations: - post.hook.restore.velero.io/command: a value containing "redis-cli" (not added)',
          '    absent: + service_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9" (present, expected absent)',
          '    warnings: - a warning containing "crash-consistent" (none)',
          '',
          '1 passed, 1 failed',
          '',
        ].join('\n'),
      );
    });

    test('a key the webhook adds that the case does not list fails it', async () => {
      writeFileSync(join(dir, 'redis', 'expected.yaml'), 'annotations:\n  backup.velero.io/backup-volumes: redis-data\n');
      const run = await cli(['policy', 'test', join(dir, 'redis')]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('    annotations: + pre.hook.backup.velero.io/on-error: "Continue" (added, not expected)\n');
    });

    test('a policy.yaml beside the cases applies to all of them; a broken one fails each case with its field paths', async () => {
      writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\nrules:\n  - name: r\n    profile: rediz\n');
      const run = await cli(['policy', 'test', dir]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`FAIL opted-out\n    ${join(dir, 'policy.yaml')}: rules[0].profile: unknown profile "rediz"; known: mysql,`);
    });

    test('a bad expected.yaml names the field', async () => {
      writeFileSync(join(dir, 'redis', 'expected.yaml'), 'annotation: {}\n');
      const run = await cli(['policy', 'test', join(dir, 'redis')]);
      expect(run.stdout).toContain(`FAIL redis\n    ${join(dir, 'redis', 'expected.yaml')}: (top): Unrecognized key: "annotation"\n`);
    });
  });

  test('a directory without cases is an error', async () => {
    const run = await cli(['policy', 'test', FIXTURES]);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `wutong-backup: ${FIXTURES}: no test cases (a case is a folder with pod.yaml and expected.yaml)\n` });
  });
});
