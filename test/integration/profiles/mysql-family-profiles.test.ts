import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseSuite, findTool, toolPath } from './database-tools.js';
import { databasePod, freePort, hookArgv, PREFIX, profileAnnotations, runHook, ServerProcess, waitFor } from './hook-runner.js';

// The mysql and mariadb profiles' hooks, run for real against MariaDB
// (Debian's MySQL-compatible server): dump, restore into a fresh server,
// clean up. One file for both profiles: the servers share the client socket
// path configured in the "container's" ~/.my.cnf.

const TOOLS = ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-dump', 'mariadb-admin'];
const suite = databaseSuite(TOOLS);

jest.setTimeout(180_000);

/** Spaces, quotes, a $ and a semicolon: the password must survive env, shell and client untouched. */
const ROOT_PASSWORD = `p@ss w0rd'"$HOME;x`;
const DUMP = '.wutong-backup-mysql.sql';

class MariaDb {
  readonly socket: string;
  private server: ServerProcess | undefined;

  constructor(
    readonly dataDir: string,
    readonly runDir: string,
    readonly port: number,
  ) {
    this.socket = join(runDir, 'mysqld.sock');
  }

  /** A fresh data directory with root's password set, as the image's entrypoint leaves it. */
  async initialise(): Promise<void> {
    // mariadb-install-db cannot handle a space in the path; the server and the hooks can.
    const plain = `${this.dataDir.replace(/[^A-Za-z0-9/._-]/g, '')}-init`;
    mkdirSync(plain, { recursive: true });
    execFileSync(findTool('mariadb-install-db') ?? 'mariadb-install-db', [
      '--no-defaults',
      `--datadir=${plain}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ], { stdio: 'pipe', env: { PATH: toolPath(), TMPDIR: this.tmpDir() } });
    renameSync(plain, this.dataDir);
    await this.start();
    this.sql(`ALTER USER root@localhost IDENTIFIED BY '${ROOT_PASSWORD.replace(/'/g, "''")}'`, '');
  }

  /** Each server its own: the bootstrap's temporary table names can collide across servers in one /tmp. */
  private tmpDir(): string {
    const dir = `${this.dataDir.replace(/[^A-Za-z0-9/._-]/g, '')}-tmp`;
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  start(): Promise<void> {
    this.server = new ServerProcess(findTool('mariadbd') ?? 'mariadbd', [
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--tmpdir=${this.tmpDir()}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${join(this.runDir, 'mysqld.pid')}`,
      '--user=root',
    ]);
    return waitFor('mariadbd accepting connections', () => this.alive(), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.server?.log() ?? ''}`);
    });
  }

  alive(): boolean {
    try {
      execFileSync(findTool('mariadb-admin') ?? 'mariadb-admin', ['--no-defaults', `--socket=${this.socket}`, '-uroot', 'ping'], {
        stdio: 'pipe',
        env: { PATH: toolPath() },
      });
      return true;
    } catch {
      return false;
    }
  }

  sql(statement: string, password = ROOT_PASSWORD): string {
    return execFileSync(findTool('mariadb') ?? 'mariadb', ['--no-defaults', `--socket=${this.socket}`, '-uroot', '-N', '-B', '-e', statement], {
      encoding: 'utf8',
      env: { PATH: toolPath(), MYSQL_PWD: password },
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

suite('mysql and mariadb profiles against a real MariaDB server', () => {
  let root: string;
  let runDir: string;
  let containerEnv: (passwordVar: string) => Record<string, string>;
  const servers: MariaDb[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'wutong-mariadb-'));
    runDir = join(root, 'run');
    const home = join(root, 'home');
    mkdirSync(runDir);
    mkdirSync(home);
    // The container's client config: where its server's socket is.
    writeFileSync(join(home, '.my.cnf'), `[client]\nsocket=${join(runDir, 'mysqld.sock')}\n`);
    containerEnv = (passwordVar) => ({ HOME: home, [passwordVar]: ROOT_PASSWORD });
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  async function server(name: string): Promise<MariaDb> {
    const db = new MariaDb(join(root, name, "mysql data's dir"), runDir, await freePort());
    servers.push(db);
    await db.initialise();
    return db;
  }

  test.each([
    ['mysql', 'mysql:8.0', 'MYSQL_ROOT_PASSWORD'],
    ['mariadb', 'mariadb:11.4', 'MARIADB_ROOT_PASSWORD'],
  ])('%s: the pre-backup hook dumps, the restore hook loads it into a fresh server, then removes it', async (profile, image, passwordVar) => {
    const env = containerEnv(passwordVar);
    const source = await server(`${profile}-source`);
    source.sql(
      [
        'CREATE DATABASE shop CHARACTER SET utf8mb4',
        "CREATE TABLE shop.orders (id INT PRIMARY KEY, note TEXT, raw VARBINARY(16))",
        "INSERT INTO shop.orders VALUES (1, 'naïve ''quoted'' \"text\"', UNHEX('00FF10')), (2, 'second', NULL)",
        "CREATE PROCEDURE shop.total() SELECT COUNT(*) FROM shop.orders",
        "CREATE USER app@localhost IDENTIFIED BY 'app-pw'",
        'GRANT SELECT ON shop.* TO app@localhost',
      ].join('; '),
    );

    const annotations = profileAnnotations(profile, databasePod(image, source.dataDir, env));
    expect(JSON.stringify(annotations)).not.toContain(ROOT_PASSWORD);
    const backup = await runHook(hookArgv(annotations, PREFIX.preBackup), env);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(source.dataDir).filter((f) => f.startsWith('.wutong'))).toEqual([DUMP]);

    // Written after the dump: a restore from the dump must not have it.
    source.sql("INSERT INTO shop.orders VALUES (3, 'after the backup', NULL)");
    await source.stop();

    // The restored volume: a server whose data directory holds the dump.
    const target = await server(`${profile}-target`);
    copyFileSync(join(source.dataDir, DUMP), join(target.dataDir, DUMP));
    await target.stop();
    const restoreAnnotations = profileAnnotations(profile, databasePod(image, target.dataDir, env));
    expect(restoreAnnotations[`${PREFIX.postRestore}container`]).toBe('db');
    // Started before the server: the hook must wait until the server accepts connections.
    const restoring = runHook(hookArgv(restoreAnnotations, PREFIX.postRestore), env);
    await new Promise((r) => setTimeout(r, 1500));
    await target.start();
    const restore = await restoring;
    expect(restore).toMatchObject({ code: 0, stderr: '' });
    expect(restore.stdout).toContain('imported');

    expect(target.sql('SELECT id, note, HEX(raw) FROM shop.orders ORDER BY id')).toBe(
      `1\tnaïve 'quoted' "text"\t00FF10\n2\tsecond\tNULL\n`,
    );
    expect(target.sql('CALL shop.total()')).toBe('2\n');
    expect(target.sql("SELECT COUNT(*) FROM mysql.user WHERE user = 'app'")).toBe('1\n');
    expect(existsSync(join(target.dataDir, DUMP))).toBe(false);

    // Running the restore hook again (a pod restart) finds no dump and changes nothing.
    const again = await runHook(hookArgv(restoreAnnotations, PREFIX.postRestore), env);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('nothing to import');
  });

  test('dumps.removeAfterBackup adds a post-backup hook that deletes the dump; off by default', async () => {
    const env = containerEnv('MARIADB_ROOT_PASSWORD');
    const db = await server('cleanup');
    const pod = databasePod('mariadb:11.4', db.dataDir, env);
    expect(profileAnnotations('mariadb', pod)[`${PREFIX.postBackup}command`]).toBeUndefined();
    const annotations = profileAnnotations('mariadb', pod, 'dumps: { removeAfterBackup: true }\n');
    expect(annotations[`${PREFIX.postBackup}on-error`]).toBe('Continue');

    expect(await runHook(hookArgv(annotations, PREFIX.preBackup), env)).toMatchObject({ code: 0 });
    expect(existsSync(join(db.dataDir, DUMP))).toBe(true);
    expect(await runHook(hookArgv(annotations, PREFIX.postBackup), env)).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(db.dataDir, DUMP))).toBe(false);
  });

  test('a wrong password fails the hook and keeps the previous dump, with no temporary file', async () => {
    const db = await server('wrong-password');
    writeFileSync(join(db.dataDir, DUMP), 'previous good dump');
    const env = { ...containerEnv('MARIADB_ROOT_PASSWORD'), MARIADB_ROOT_PASSWORD: 'not the password' };
    const annotations = profileAnnotations('mariadb', databasePod('mariadb:11.4', db.dataDir, env));
    const run = await runHook(hookArgv(annotations, PREFIX.preBackup), env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Access denied/);
    expect(readdirSync(db.dataDir).filter((f) => f.startsWith('.wutong'))).toEqual([DUMP]);
  });
});
