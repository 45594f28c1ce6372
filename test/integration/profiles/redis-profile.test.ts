import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseSuite, findTool, toolPath } from './database-tools.js';
import { databasePod, freePort, hookArgv, PREFIX, profileAnnotations, runHook, ServerProcess, waitFor } from './hook-runner.js';

// The redis profile for real: BGSAVE from the hook, then a fresh server
// started on the saved RDB alone, which is all a restore needs for Redis.

const suite = databaseSuite(['redis-server', 'redis-cli']);

jest.setTimeout(120_000);

const PASSWORD = `r3dis pa$$'"word`;

suite('redis profile against a real Redis server', () => {
  let root: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'wutong-redis-'));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function cli(port: number, ...args: string[]): string {
    return execFileSync(findTool('redis-cli') ?? 'redis-cli', ['-p', String(port), ...args], {
      encoding: 'utf8',
      env: { PATH: toolPath(), REDISCLI_AUTH: PASSWORD },
    }).trim();
  }

  async function start(dir: string, port: number): Promise<ServerProcess> {
    mkdirSync(dir, { recursive: true });
    const server = new ServerProcess(findTool('redis-server') ?? 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb',
      '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD, '--daemonize', 'no',
    ]);
    servers.push(server);
    await waitFor('redis answering', () => {
      try {
        return cli(port, 'PING') === 'PONG';
      } catch {
        return false;
      }
    });
    return server;
  }

  test('the pre-backup hook leaves a fresh RDB on the volume; a new server loads it without any restore hook', async () => {
    const dataDir = join(root, "redis data's dir");
    const port = await freePort();
    const env = { REDIS_PASSWORD: PASSWORD, REDIS_PORT_NUMBER: String(port) };
    const source = await start(dataDir, port);
    cli(port, 'SET', 'order:1', 'naïve "quoted" value');
    cli(port, 'RPUSH', 'queue', 'a', 'b');

    const annotations = profileAnnotations('redis', databasePod('redis:7.2', dataDir, env));
    expect(JSON.stringify(annotations)).not.toContain(PASSWORD);
    expect(Object.keys(annotations).filter((k) => k.includes('.hook.restore.'))).toEqual([]);
    expect(annotations[`${PREFIX.preBackup}on-error`]).toBe('Continue');
    const run = await runHook(hookArgv(annotations, PREFIX.preBackup), env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(dataDir, 'dump.rdb'))).toBe(true);

    // After the hook, then killed without a save: not in the RDB.
    cli(port, 'SET', 'after', 'backup');
    await source.stop('SIGKILL');

    const restoredDir = join(root, 'restored');
    mkdirSync(restoredDir);
    copyFileSync(join(dataDir, 'dump.rdb'), join(restoredDir, 'dump.rdb'));
    const restoredPort = await freePort();
    await start(restoredDir, restoredPort);
    expect(cli(restoredPort, 'GET', 'order:1')).toBe('naïve "quoted" value');
    expect(cli(restoredPort, 'LRANGE', 'queue', '0', '-1')).toBe('a\nb');
    expect(cli(restoredPort, 'EXISTS', 'after')).toBe('0');
  });

  test('refuses when Redis saves outside the data volume, where the backup would not see the RDB', async () => {
    const redisDir = join(root, 'elsewhere');
    const volume = join(root, 'volume');
    mkdirSync(volume);
    const port = await freePort();
    const env = { REDIS_PASSWORD: PASSWORD, REDIS_PORT_NUMBER: String(port) };
    await start(redisDir, port);
    const annotations = profileAnnotations('redis', databasePod('redis:7.2', volume, env));
    const run = await runHook(hookArgv(annotations, PREFIX.preBackup), env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`redis saves its RDB into ${redisDir}, which is not on the data volume ${volume}`);
  });

  test('a wrong password fails the hook', async () => {
    const dataDir = join(root, 'wrong-password');
    const port = await freePort();
    await start(dataDir, port);
    const env = { REDIS_PASSWORD: 'wrong', REDIS_PORT_NUMBER: String(port) };
    const run = await runHook(hookArgv(profileAnnotations('redis', databasePod('redis:7.2', dataDir, env)), PREFIX.preBackup), env);
    expect(run.code).not.toBe(0);
  });

  test('dumps.removeAfterBackup adds no post-backup hook: the RDB is Redis\'s own file', () => {
    const annotations = profileAnnotations('redis', databasePod('redis:7.2', '/data', {}), 'dumps: { removeAfterBackup: true }\n');
    expect(annotations[`${PREFIX.postBackup}command`]).toBeUndefined();
  });
});
