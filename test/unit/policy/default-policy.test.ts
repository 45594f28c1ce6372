import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from '../../../src/admission/pod.js';
import { matchRule } from '../../../src/admission/match-rule.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import type { CompiledPolicy, HookTemplate } from '../../../src/policy/compiled-policy.js';
import { DEFAULT_POLICY_FILE, loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { decodePatch, loadPodCase } from '../../fixtures/pod-cases.js';

const policy: CompiledPolicy = loadDefaultPolicy();

function ruleFor(image: string): string | undefined {
  const container: Container = { name: 'c', image };
  return policy.rules.find((rule) => matchRule(rule, 'ns', {}, [container]).kind === 'matched')?.name;
}

function preBackup(rule: string): HookTemplate {
  const hook = policy.rules.find((r) => r.name === rule)?.hooks.find((h) => h.kind === 'pre-backup');
  if (!hook) throw new Error(`default policy has no pre-backup hook for ${rule}`);
  return hook;
}

test('the shipped policy loads: four rules, Wutong pods, opt-in file-system backup without emptyDir', () => {
  expect(DEFAULT_POLICY_FILE).toMatch(/manifests\/base\/policy\.yaml$/);
  expect(policy).toMatchObject({
    generation: 1,
    source: 'built-in default',
    podSelector: [['creator', 'Wutong']],
    fsbMode: 'opt-in',
    includeEmptyDir: false,
  });
  expect(policy.rules.map((r) => r.name)).toEqual(['mysql', 'postgresql', 'redis', 'mongodb']);
  expect(loadDefaultPolicy(5).generation).toBe(5);
});

test.each([
  ['mysql-statefulset', 'mysql', 'gr3a9f1c', 'manual4521', '/var/lib/mysql/'],
  ['postgresql-statefulset', 'postgresql', 'grc41d0a', 'manual5102', '/var/lib/postgresql/data/'],
  ['redis-statefulset', 'redis', 'gr7e2f19', 'manual6203', undefined],
  ['mongodb-statefulset', 'mongodb', 'gr0b8d3c', 'manual7304', '/data/db/'],
])('the shipped policy backs up the %s fixture pod with rule %s in its database container', (name, rule, container, volume, dumpDir) => {
  const { input } = loadPodCase(name);
  const { response } = handleReview(input.request, policy);
  expect(response.auditAnnotations).toMatchObject({ rule, 'hook-container': container, 'fsb-volumes': `include:${volume}` });
  expect(response.warnings).toBeUndefined();
  const patched = new Map<string, unknown>();
  for (const op of decodePatch(response.patch) ?? []) {
    if (op.op !== 'add') throw new Error(`unexpected ${op.op} at ${op.path}`);
    if (op.path === '/metadata/annotations') for (const [k, v] of Object.entries(op.value as object)) patched.set(k, v);
    else patched.set(op.path.replace('/metadata/annotations/', '').replace(/~1/g, '/'), op.value);
  }
  expect(patched.get('backup.velero.io/backup-volumes')).toBe(volume);
  expect(patched.get('pre.hook.backup.velero.io/container')).toBe(container);
  const argv = JSON.parse(String(patched.get('pre.hook.backup.velero.io/command'))) as string[];
  expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  if (dumpDir !== undefined) expect(argv[2]).toContain(dumpDir);
  expect(argv[2]).not.toContain('{{');
});

test.each([
  ['mysql:8.0.36', 'mysql'],
  ['docker.io/library/mysql:5.7', 'mysql'],
  ['mysql@sha256:4d7c3ab9e1f8a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a', 'mysql'],
  ['registry.example.com:5000/mysql:8', 'mysql'],
  ['mariadb:11.2', 'mysql'],
  ['percona/percona-server:8.0', 'mysql'],
  ['postgres:16.2', 'postgresql'],
  ['bitnami/postgresql:16', 'postgresql'],
  ['postgis/postgis:16-3.4', 'postgresql'],
  ['redis:7.2.4-alpine', 'redis'],
  ['valkey/valkey:8', 'redis'],
  ['mongo:7.0.6', 'mongodb'],
  ['mongodb/mongodb-community-server:7.0-ubi8', 'mongodb'],
  ['prom/mysqld-exporter:v0.15.1', undefined],
  ['wutong/mesh-agent:v1.12.0', undefined],
  ['bitnami/redis-sentinel:7.2', undefined],
  ['mongo-express:1.0', undefined],
  ['wutong.me/5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7:20240311103015', undefined],
])('image %s is handled by rule %s', (image, rule) => {
  expect(ruleFor(image)).toBe(rule);
});

test.each(['mysql', 'postgresql', 'redis', 'mongodb'])('the %s hook script parses with /bin/sh -n, even for a mount path with a space and a quote', (rule) => {
  const argv = JSON.parse(preBackup(rule).command.render("/data/it's a dir")) as string[];
  expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  const check = spawnSync('/bin/sh', ['-n', '-c', argv[2] ?? ''], { encoding: 'utf8' });
  expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
});

test('no default hook puts a password into the annotation: passwords come from the env at run time', () => {
  for (const rule of policy.rules) {
    for (const hook of rule.hooks) {
      const script = (JSON.parse(hook.command.render('/data')) as string[]).join(' ');
      for (const [, value] of script.matchAll(/(?:--password=|PWD=|PASSWORD=)(\S*)/g)) expect(value).toMatch(/^"\$/);
    }
  }
});

/**
 * Runs a default hook the way Velero would (exec of the argv), with the
 * database's client tools replaced by stubs, and a real data directory.
 */
describe('the default hooks, run against stub database tools', () => {
  // The scripts sleep and spawn processes: a limit for a busy machine, not a timing assertion.
  const SLOW = 30_000;

  let root: string;
  let bin: string;
  let dataDir: string;

  // PATH holds only the stubs and the few tools the scripts use, so a
  // database client installed on this machine is never picked up.
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wutong-backup-hooks-'));
    bin = join(root, 'bin');
    dataDir = join(root, "volume's data");
    mkdirSync(bin);
    mkdirSync(dataDir);
    for (const tool of ['mv', 'rm', 'cat', 'grep', 'sleep']) {
      const real = ['/bin', '/usr/bin'].map((dir) => join(dir, tool)).find((path) => existsSync(path));
      if (real) symlinkSync(real, join(bin, tool));
    }
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function stub(name: string, script: string): void {
    writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, name), 0o755);
  }

  function runHook(rule: string, env: Record<string, string>): { status: number | null; stderr: string } {
    const [file, ...args] = JSON.parse(preBackup(rule).command.render(dataDir)) as string[];
    const result = spawnSync(file ?? '', args, { encoding: 'utf8', env: { PATH: bin, ...env } });
    return { status: result.status, stderr: result.stderr };
  }

  test('mysql: dumps as root with the password from the environment, never on the command line', () => {
    stub('mysqldump', 'echo "args: $*"; echo "pwd-env: $MYSQL_PWD"');
    expect(runHook('mysql', { MYSQL_ROOT_PASSWORD: 's3cret' }).status).toBe(0);
    const dump = readFileSync(join(dataDir, '.wutong-backup-mysql.sql'), 'utf8');
    expect(dump).toContain('args: --user=root --single-transaction --quick --routines --events --triggers --hex-blob --all-databases');
    expect(dump).toContain('pwd-env: s3cret');
    expect(dump).not.toMatch(/args:.*s3cret/);
    expect(readdirSync(dataDir)).toEqual(['.wutong-backup-mysql.sql']);
  }, SLOW);

  test('mysql: without a root password, uses MYSQL_USER and MYSQL_PASSWORD', () => {
    stub('mysqldump', 'echo "args: $*"; echo "pwd-env: $MYSQL_PWD"');
    expect(runHook('mysql', { MYSQL_USER: 'app', MYSQL_PASSWORD: 'apppw' }).status).toBe(0);
    const dump = readFileSync(join(dataDir, '.wutong-backup-mysql.sql'), 'utf8');
    expect(dump).toContain('--user=app ');
    expect(dump).toContain('pwd-env: apppw');
  }, SLOW);

  test('mysql: prefers mariadb-dump when the image has it', () => {
    stub('mariadb-dump', 'echo mariadb-dump "$@"');
    stub('mysqldump', 'echo mysqldump "$@"');
    expect(runHook('mysql', { MARIADB_ROOT_PASSWORD: 'x' }).status).toBe(0);
    expect(readFileSync(join(dataDir, '.wutong-backup-mysql.sql'), 'utf8')).toMatch(/^mariadb-dump /);
  }, SLOW);

  test('mysql: a failed dump fails the hook, keeps the previous dump, and leaves no temporary file', () => {
    writeFileSync(join(dataDir, '.wutong-backup-mysql.sql'), 'previous good dump');
    stub('mysqldump', 'echo partial; exit 2');
    expect(runHook('mysql', { MYSQL_ROOT_PASSWORD: 'x' }).status).not.toBe(0);
    expect(readFileSync(join(dataDir, '.wutong-backup-mysql.sql'), 'utf8')).toBe('previous good dump');
    expect(readdirSync(dataDir)).toEqual(['.wutong-backup-mysql.sql']);
  }, SLOW);

  test('postgresql: pg_dumpall with the image user and password', () => {
    stub('pg_dumpall', 'echo "args: $*"; echo "pgpassword: $PGPASSWORD"');
    expect(runHook('postgresql', { POSTGRES_PASSWORD: 'pgpw', POSTGRES_USER: 'wutong' }).status).toBe(0);
    const dump = readFileSync(join(dataDir, '.wutong-backup-postgresql.sql'), 'utf8');
    expect(dump).toBe('args: --username=wutong --clean --if-exists\npgpassword: pgpw\n');
  }, SLOW);

  test('mongodb: an archive with root credentials when the image has them', () => {
    stub('mongodump', 'for a in "$@"; do case "$a" in --archive=*) out="${a#--archive=}";; esac; done; echo "$*" > "$out"');
    expect(runHook('mongodb', { MONGO_INITDB_ROOT_USERNAME: 'root', MONGO_INITDB_ROOT_PASSWORD: 'mgpw' }).status).toBe(0);
    const archive = readFileSync(join(dataDir, '.wutong-backup-mongodb.archive'), 'utf8');
    expect(archive).toContain('--quiet --gzip --archive=');
    expect(archive).toContain('--username=root --password=mgpw --authenticationDatabase=admin');
    expect(existsSync(join(dataDir, '.wutong-backup-mongodb.archive.tmp'))).toBe(false);
  }, SLOW);

  test('redis: waits for BGSAVE to finish and checks it succeeded', () => {
    // LASTSAVE advances only once BGSAVE has been called, like a real save.
    const state = join(root, 'lastsave');
    writeFileSync(state, '100');
    stub(
      'redis-cli',
      [
        `state='${state}'`,
        'case "$1" in',
        '  LASTSAVE) cat "$state" ;;',
        '  BGSAVE) echo 101 > "$state"; echo "Background saving started" ;;',
        '  INFO) printf "# Persistence\\nrdb_last_bgsave_status:ok\\n" ;;',
        'esac',
      ].join('\n'),
    );
    expect(runHook('redis', {})).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(state, 'utf8').trim()).toBe('101');
  }, SLOW);
});
