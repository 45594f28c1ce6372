import { jest } from '@jest/globals';
import { pino } from 'pino';
import { KubeHttpError, type KubeHttp } from '../../../src/kube/kube-http.js';
import { listWatch, type ListWatch, type ListWatchOptions } from '../../../src/kube/list-watch.js';

// The list-watch's recovery rules, against a scripted API server (a test
// helper playing kube-apiserver's list and watch endpoints in memory) so that
// 410 Gone, failing lists and silent connections happen exactly when the test
// says. The real API server and a stalling proxy are in
// test/e2e/configmap-watch-stall.test.ts.
jest.setTimeout(30_000);

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
  data?: string;
}

interface OpenWatch {
  from: number;
  send(event: unknown): void;
  end(): void;
  fail(err: Error): void;
  signal: AbortSignal;
}

/** Plays kube-apiserver for one collection: objects with resourceVersions, list, watch, compaction. */
class ScriptedApiServer implements KubeHttp {
  private revision = 1;
  private readonly objects = new Map<string, Obj>();
  readonly watches: OpenWatch[] = [];
  /** Times at which a list was served or refused. */
  readonly listTimes: number[] = [];
  /** Lists to refuse before serving again. */
  failLists = 0;
  /** A watch from a resourceVersion below this gets ERROR 410 (history before it was compacted away). */
  compactedThrough = 0;
  /** When false, watches never send bookmarks or end (a connection that went silent). */
  responsive = true;

  put(name: string, data: string): void {
    const obj: Obj = { metadata: { name, namespace: 'ns', resourceVersion: String(++this.revision) }, data };
    const type = this.objects.has(name) ? 'MODIFIED' : 'ADDED';
    this.objects.set(name, obj);
    this.broadcast({ type, object: obj });
  }

  delete(name: string): void {
    const obj = this.objects.get(name);
    if (!obj) return;
    this.objects.delete(name);
    this.broadcast({ type: 'DELETED', object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.revision) } } });
  }

  /** Ends every open watch the way the API server does when timeoutSeconds passes. */
  endWatches(): void {
    for (const w of this.watches.splice(0)) w.end();
  }

  /** Tells every open watch its resourceVersion is too old. */
  expireWatches(): void {
    this.compactedThrough = this.revision;
    for (const w of this.watches.splice(0)) w.send({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
  }

  send(): Promise<never> {
    return Promise.reject(new Error('the list-watch only lists and watches'));
  }

  /** Pages served (limit + continue, as kube-apiserver pages a list). */
  readonly pages: Array<{ limit: number; continued: boolean }> = [];
  /** Continue tokens to refuse with 410 before serving again (the snapshot they point at was compacted). */
  expireContinues = 0;
  /** Snapshots of the lists in progress, by continue token. */
  private readonly snapshots = new Map<string, { items: Obj[]; revision: number }>();

  getJson(_path: string, query: Readonly<Record<string, string>> = {}): Promise<unknown> {
    this.listTimes.push(Date.now());
    if (this.failLists > 0) {
      this.failLists--;
      return Promise.reject(new Error('HTTP 500: etcdserver: leader changed'));
    }
    const limit = Number(query.limit ?? 0);
    const token = query.continue;
    this.pages.push({ limit, continued: token !== undefined });
    if (token !== undefined && this.expireContinues > 0) {
      this.expireContinues--;
      return Promise.reject(new KubeHttpError(410, 'HTTP 410: The provided continue parameter is too old'));
    }
    const snapshot = token !== undefined ? this.snapshots.get(token) : { items: [...this.objects.values()], revision: this.revision };
    if (!snapshot) return Promise.reject(new KubeHttpError(400, 'HTTP 400: unknown continue token'));
    const offset = token !== undefined ? Number(token.split(':')[1]) : 0;
    const end = limit > 0 ? offset + limit : snapshot.items.length;
    const next = end < snapshot.items.length ? `c:${end}:${Math.random()}` : undefined;
    if (next) this.snapshots.set(next, snapshot);
    return Promise.resolve({
      metadata: { resourceVersion: String(snapshot.revision), ...(next ? { continue: next } : {}) },
      items: snapshot.items.slice(offset, end),
    });
  }

  stream(_path: string, query: Readonly<Record<string, string>>, onChunk: (text: string) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const from = Number(query.resourceVersion);
      const w: OpenWatch = { from, send: (e) => onChunk(`${JSON.stringify(e)}\n`), end: resolve, fail: reject, signal };
      signal.addEventListener('abort', () => {
        this.watches.splice(this.watches.indexOf(w) >>> 0, 1);
        reject(new Error('aborted'));
      });
      if (from < this.compactedThrough) {
        w.send({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
        resolve();
        return;
      }
      this.watches.push(w);
    });
  }

  private broadcast(event: { type: string; object: Obj }): void {
    if (!this.responsive) return;
    for (const w of this.watches) w.send(event);
  }
}

const log = pino({ level: 'silent' });
const running: ListWatch[] = [];
afterEach(() => running.splice(0).forEach((w) => w.stop()));

function start(server: ScriptedApiServer, options: Partial<ListWatchOptions> = {}): { seen: Map<string, string>; events: string[] } {
  const seen = new Map<string, string>();
  const events: string[] = [];
  const watch = listWatch<Obj>(
    server,
    { path: '/api/v1/namespaces/ns/configmaps', watchTimeoutSeconds: 30, relistIntervalMs: 60_000, initialBackoffMs: 50, maxBackoffMs: 3_200, healthyAfterMs: 300, ...options },
    {
      upsert: (o) => {
        seen.set(o.metadata.name, o.data ?? '');
        events.push(`upsert ${o.metadata.name}=${o.data}`);
      },
      remove: (o) => {
        seen.delete(o.metadata?.name ?? '');
        events.push(`remove ${o.metadata?.name}`);
      },
    },
    log,
  );
  running.push(watch);
  void watch.start();
  return { seen, events };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('lists, then delivers additions, edits and deletions from the watch', async () => {
  const server = new ScriptedApiServer();
  server.put('a', '1');
  const { seen, events } = start(server);
  await until(() => server.watches.length === 1, 'a watch');
  server.put('a', '2');
  server.put('b', '1');
  server.delete('a');
  await until(() => events.length === 4, 'four events');
  expect(events).toEqual(['upsert a=1', 'upsert a=2', 'upsert b=1', 'remove a']);
  expect([...seen]).toEqual([['b', '1']]);
});

test('lists in pages of pageSize from one snapshot, and watches from the snapshot\'s resourceVersion', async () => {
  const server = new ScriptedApiServer();
  for (let i = 0; i < 1_201; i++) server.put(`o${i}`, '1');
  const { seen } = start(server, { pageSize: 500 });
  await until(() => server.watches.length === 1, 'a watch');
  expect(seen.size).toBe(1_201);
  expect(server.pages).toEqual([
    { limit: 500, continued: false },
    { limit: 500, continued: true },
    { limit: 500, continued: true },
  ]);
  // Written after the snapshot: the watch, started from its resourceVersion, delivers it.
  server.put('late', '1');
  await until(() => seen.has('late'), 'the change after the list');
});

test('an expired continue token starts the list again, and nothing listed before is lost', async () => {
  const server = new ScriptedApiServer();
  for (let i = 0; i < 30; i++) server.put(`o${i}`, '1');
  server.expireContinues = 1;
  const { seen } = start(server, { pageSize: 10 });
  await until(() => server.watches.length === 1, 'a watch');
  expect(seen.size).toBe(30);
  expect(server.pages.filter((p) => !p.continued)).toHaveLength(2);
});

test('410 Gone relists at once and delivers what changed meanwhile, including deletions', async () => {
  const server = new ScriptedApiServer();
  server.put('a', '1');
  server.put('b', '1');
  const { seen } = start(server);
  await until(() => server.watches.length === 1, 'a watch');
  server.responsive = false; // changes the watch will never carry
  server.put('a', '2');
  server.delete('b');
  server.responsive = true;
  const expiredAt = Date.now();
  server.expireWatches();
  await until(() => seen.get('a') === '2' && !seen.has('b'), 'the relist to deliver the changes');
  expect(Date.now() - expiredAt).toBeLessThan(1_000);
  expect(server.listTimes).toHaveLength(2);
});

test('a silent connection is abandoned after the idle deadline and the relist delivers the edit', async () => {
  const server = new ScriptedApiServer();
  server.put('a', '1');
  const { seen } = start(server, { idleTimeoutMs: 300 });
  await until(() => server.watches.length === 1, 'a watch');
  server.responsive = false;
  server.put('a', '2');
  const editedAt = Date.now();
  server.responsive = true;
  await until(() => seen.get('a') === '2', 'the edit');
  const elapsed = Date.now() - editedAt;
  expect(elapsed).toBeGreaterThanOrEqual(250);
  expect(elapsed).toBeLessThan(3_000);
});

test('after a healthy period one failure waits the initial backoff again, not the maximum', async () => {
  const server = new ScriptedApiServer();
  server.failLists = 5; // 50, 100, 200, 400, 800 ms
  start(server);
  await until(() => server.watches.length === 1, 'a watch after five failed lists', 10_000);
  const gaps = server.listTimes.slice(1).map((t, i) => t - (server.listTimes[i] ?? 0));
  expect(gaps[4]).toBeGreaterThanOrEqual(700); // it really backed off
  await new Promise((r) => setTimeout(r, 400)); // a watch up for longer than healthyAfterMs
  server.failLists = 1;
  const before = server.listTimes.length;
  const failedAt = Date.now();
  for (const w of server.watches.splice(0)) w.fail(new Error('connection reset by peer'));
  await until(() => server.listTimes.length === before + 2, 'the failed relist and its retry');
  expect(Date.now() - failedAt).toBeLessThan(500);
});

test('relists every relistIntervalMs even while the watch stays healthy', async () => {
  const server = new ScriptedApiServer();
  server.put('a', '1');
  start(server, { relistIntervalMs: 300 });
  await until(() => server.listTimes.length >= 3, 'three lists', 5_000);
});

test('a watch that is refused with 410 again and again backs off instead of relisting in a tight loop', async () => {
  const server = new ScriptedApiServer();
  server.compactedThrough = Number.POSITIVE_INFINITY;
  start(server);
  await new Promise((r) => setTimeout(r, 1_000));
  // Free relist after the first 410, then 50, 100, 200, 400 ms of backoff: a handful, not thousands.
  expect(server.listTimes.length).toBeGreaterThanOrEqual(3);
  expect(server.listTimes.length).toBeLessThan(12);
});
