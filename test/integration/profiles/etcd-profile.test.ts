import { jest } from '@jest/globals';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { databaseSuite, findTool, toolPath } from './database-tools.js';
import { databasePod, freePort, hookArgv, PREFIX, profileAnnotations, runHook, ServerProcess, waitFor } from './hook-runner.js';

// The etcd profile for real: etcdctl snapshot save from the pre-backup hook,
// then the init restore hook, run with no env at all (Velero gives an
// annotation's init container none), swapping the snapshot in before etcd
// starts on the restored volume.

const suite = databaseSuite(['etcd', 'etcdctl']);

jest.setTimeout(120_000);

const SNAPSHOT = '.wutong-backup-etcd.db';

suite('etcd profile against a real etcd', () => {
  let root: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'wutong-etcd-'));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function etcdctl(endpoint: string, ...args: string[]): string {
    return execFileSync(findTool('etcdctl') ?? 'etcdctl', args, {
      encoding: 'utf8',
      env: { PATH: toolPath(), ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: endpoint },
    });
  }

  async function start(dataDir: string): Promise<{ server: ServerProcess; endpoint: string }> {
    const [client, peer] = [await freePort(), await freePort()];
    const endpoint = `http://127.0.0.1:${client}`;
    const server = new ServerProcess(findTool('etcd') ?? 'etcd', [
      '--name', 'etcd-0', '--data-dir', dataDir,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `etcd-0=http://127.0.0.1:${peer}`,
    ]);
    servers.push(server);
    await waitFor('etcd serving', () => {
      try {
        etcdctl(endpoint, 'endpoint', 'health');
        return true;
      } catch {
        return false;
      }
    });
    return { server, endpoint };
  }

  test.each([
    ['a data directory below the mount (Bitnami layout)', 'data'],
    ['the mount itself as data directory', '.'],
  ])('snapshot before backup, restored before etcd starts: %s', async (_layout, sub) => {
    const volume = join(root, sub === '.' ? 'root-layout' : 'sub-layout', "etcd vol's dir");
    mkdirSync(volume, { recursive: true });
    const dataDir = join(volume, sub);
    const source = await start(dataDir);
    etcdctl(source.endpoint, 'put', '/registry/a', 'naïve "quoted"');
    etcdctl(source.endpoint, 'put', '/registry/b', 'two');

    const env = { ETCDCTL_ENDPOINTS: source.endpoint };
    const annotations = profileAnnotations('etcd', databasePod('bitnami/etcd:3.5', volume, env));
    expect(await runHook(hookArgv(annotations, PREFIX.preBackup), env)).toMatchObject({ code: 0 });
    expect(existsSync(join(volume, SNAPSHOT))).toBe(true);

    etcdctl(source.endpoint, 'put', '/registry/after', 'backup');
    await source.server.stop();

    // File-system backup restores the whole volume: etcd's files (which
    // have the later key) and the snapshot (which has not).
    const restored = join(root, `restored-${sub === '.' ? 'root' : 'sub'}`, "etcd vol's dir");
    cpSync(volume, restored, { recursive: true });
    const init = profileAnnotations('etcd', databasePod('bitnami/etcd:3.5', restored, env));
    expect(init[`${PREFIX.initRestore}container-name`]).toBe('wutong-restore-etcd');
    expect(init[`${PREFIX.initRestore}container-image`]).toBe('bitnami/etcd:3.5');
    const initRun = await runHook(hookArgv(init, PREFIX.initRestore), {});
    expect(initRun).toMatchObject({ code: 0 });
    expect(initRun.stdout).toContain('restored');
    expect(readdirSync(restored).filter((f) => f.startsWith('.wutong') || f.includes('wutong'))).toEqual([]);

    const target = await start(join(restored, sub));
    expect(etcdctl(target.endpoint, 'get', '--prefix', '/registry/', '--print-value-only')).toBe('naïve "quoted"\ntwo\n');

    // A later pod restart runs the init container again: no snapshot, nothing to do.
    await target.server.stop();
    const again = await runHook(hookArgv(init, PREFIX.initRestore), {});
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('no etcd snapshot');
  });
});
