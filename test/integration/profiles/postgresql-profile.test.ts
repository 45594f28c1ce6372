import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseSuite, findTool, toolPath } from './database-tools.js';
import { databasePod, freePort, hookArgv, PREFIX, profileAnnotations, runHook, ServerProcess, waitFor } from './hook-runner.js';

// The postgresql profile's hooks, run for real: pg_dumpall, then the import
// into a fresh cluster while a client holds a database open. initdb refuses
// to run as root, so servers and hooks run as the postgres user, as they do
// in the official image.

const suite = databaseSuite(['initdb', 'postgres', 'pg_dumpall', 'psql', 'pg_isready']);

jest.setTimeout(180_000);

const SUPERUSER = 'wutong_admin';
const PASSWORD = `pg pa$$'"word;`;
const DUMP = '.wutong-backup-postgresql.sql';

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

suite('postgresql profile against a real PostgreSQL server', () => {
  // Looked up once the suite runs: under PROFILES=0 there may be no postgres user.
  let user: { uid: number; gid: number } | undefined;
  let root: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    user = postgresUser();
    root = mkdtempSync(join(tmpdir(), 'wutong-pg-'));
    if (user) chownSync(root, user.uid, user.gid);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop('SIGINT');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function owned(path: string): string {
    mkdirSync(path, { recursive: true });
    if (user) chownSync(path, user.uid, user.gid);
    return path;
  }

  function asPostgres(file: string, args: string[], env: Record<string, string> = {}): string {
    return execFileSync(findTool(file) ?? file, args, { encoding: 'utf8', stdio: 'pipe', env: { PATH: toolPath(), ...env }, ...(user ?? {}) });
  }

  /** A cluster initialised the way the image's entrypoint does it from POSTGRES_USER and POSTGRES_PASSWORD. */
  function initdb(dataDir: string): void {
    const pwfile = join(owned(join(root, 'secrets')), 'pw');
    writeFileSync(pwfile, `${PASSWORD}\n`);
    if (user) chownSync(pwfile, user.uid, user.gid);
    owned(dataDir);
    asPostgres('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync']);
  }

  async function start(dataDir: string, socketDir: string, port: number): Promise<ServerProcess> {
    const server = new ServerProcess(
      findTool('postgres') ?? 'postgres',
      ['-D', dataDir, '-k', socketDir, '-p', String(port), '-c', "listen_addresses=", '-c', 'fsync=off'],
      user ?? {},
    );
    servers.push(server);
    await waitFor('postgres accepting connections', () => {
      try {
        asPostgres('pg_isready', ['-q', '-h', socketDir, '-p', String(port)]);
        return true;
      } catch {
        return !server.running && Promise.reject(new Error(server.log()));
      }
    });
    return server;
  }

  function sql(env: Record<string, string>, db: string, statement: string): string {
    return asPostgres('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', SUPERUSER, '-d', db, '-c', statement], { ...env, PGPASSWORD: PASSWORD });
  }

  test('the pre-backup hook dumps every database and role; the restore hook replaces a fresh cluster with it, ending clients in its way', async () => {
    const socketDir = owned(join(root, 'sock'));
    const port = await freePort();
    // The container's env: the image's variables, and libpq's for where its server listens.
    const env = { POSTGRES_USER: SUPERUSER, POSTGRES_PASSWORD: PASSWORD, PGHOST: socketDir, PGPORT: String(port) };

    const sourceDir = join(owned(join(root, 'source')), "pg data's dir");
    initdb(sourceDir);
    const source = await start(sourceDir, socketDir, port);
    sql(env, 'postgres', "CREATE ROLE shop_app LOGIN PASSWORD 'app-pw'");
    sql(env, 'postgres', 'CREATE DATABASE shop OWNER shop_app');
    sql(env, 'shop', "CREATE TABLE orders (id serial PRIMARY KEY, note text); INSERT INTO orders (note) VALUES ('naïve ''quoted'''), ('second'); ALTER TABLE orders OWNER TO shop_app");

    const annotations = profileAnnotations('postgresql', databasePod('postgres:16', sourceDir, env));
    expect(JSON.stringify(annotations)).not.toContain(PASSWORD);
    const backup = await runHook(hookArgv(annotations, PREFIX.preBackup), env, user);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(sourceDir).filter((f) => f.startsWith('.wutong'))).toEqual([DUMP]);

    sql(env, 'shop', "INSERT INTO orders (note) VALUES ('after the backup')");
    await source.stop('SIGINT');

    const targetDir = join(owned(join(root, 'target')), "pg data's dir");
    initdb(targetDir);
    copyFileSync(join(sourceDir, DUMP), join(targetDir, DUMP));
    if (user) chownSync(join(targetDir, DUMP), user.uid, user.gid);
    const restoreAnnotations = profileAnnotations('postgresql', databasePod('postgres:16', targetDir, env));
    await start(targetDir, socketDir, port);
    // An application connected to a database the dump drops and recreates.
    const client = new ServerProcess(findTool('psql') ?? 'psql', ['-X', '-U', SUPERUSER, '-d', 'postgres', '-c', 'SELECT pg_sleep(120)'], {
      env: { PATH: toolPath(), ...env, PGPASSWORD: PASSWORD },
      ...(user ?? {}),
    });
    servers.push(client);
    await waitFor('the client session', () => sql(env, 'template1', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()") === '1\n');
    const restoring = runHook(hookArgv(restoreAnnotations, PREFIX.postRestore), env, user);
    const restore = await restoring;
    expect(restore).toMatchObject({ code: 0, stderr: '' });
    expect(restore.stdout).toContain('imported');
    // DROP DATABASE ... WITH (FORCE) ended it instead of failing on it.
    expect(await client.exited).not.toBe(0);
    expect(client.log()).toContain('terminating connection due to administrator command');

    expect(sql(env, 'shop', 'SELECT id, note FROM orders ORDER BY id')).toBe("1|naïve 'quoted'\n2|second\n");
    expect(sql(env, 'postgres', "SELECT rolname FROM pg_roles WHERE rolname = 'shop_app'")).toBe('shop_app\n');
    expect(sql(env, 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'")).toBe('shop_app\n');
    expect(existsSync(join(targetDir, DUMP))).toBe(false);
  });

  test('an import error other than the superuser re-creating itself fails the restore hook and keeps the dump', async () => {
    const socketDir = owned(join(root, 'sock2'));
    const port = await freePort();
    const env = { POSTGRES_USER: SUPERUSER, POSTGRES_PASSWORD: PASSWORD, PGHOST: socketDir, PGPORT: String(port) };
    const dataDir = join(owned(join(root, 'broken')), 'data');
    initdb(dataDir);
    writeFileSync(join(dataDir, DUMP), 'CREATE TABLE t (id int);\nINSERT INTO missing_table VALUES (1);\n');
    if (user) chownSync(join(dataDir, DUMP), user.uid, user.gid);
    const annotations = profileAnnotations('postgresql', databasePod('postgres:16', dataDir, env));
    // Started before the server: the hook waits with pg_isready.
    const running = runHook(hookArgv(annotations, PREFIX.postRestore), env, user);
    await new Promise((r) => setTimeout(r, 1500));
    await start(dataDir, socketDir, port);
    const run = await running;
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('relation "missing_table" does not exist');
    expect(existsSync(join(dataDir, DUMP))).toBe(true);
  });

  test('dumps.removeAfterBackup: the post-backup hook deletes the dump', async () => {
    const dataDir = owned(join(root, 'cleanup'));
    writeFileSync(join(dataDir, DUMP), 'dump');
    const env = { POSTGRES_PASSWORD: PASSWORD };
    const annotations = profileAnnotations('postgresql', databasePod('postgres:16', dataDir, env), 'dumps: { removeAfterBackup: true }\n');
    expect(await runHook(hookArgv(annotations, PREFIX.postBackup), env)).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(dataDir, DUMP))).toBe(false);
  });
});
