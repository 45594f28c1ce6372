import { jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import { Agent, request } from 'node:https';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPodCase } from '../fixtures/pod-cases.js';
import { h2Connect, h2Request } from './http2-client.js';
import { spawnWebhook, type WebhookProcess } from './webhook-process.js';

jest.setTimeout(90_000);

const DRAIN_MS = 4_000;
const RATE_PER_PROTOCOL = 100; // reviews per second, on each of HTTP/1.1 and HTTP/2
// The endpoints controller and the API server's pool take a while to see the
// pod go unready; this client goes on sending for that long, well inside the drain.
const MOVE_AWAY_MS = 1_000;

let proc: WebhookProcess | undefined;
afterEach(() => {
  proc?.cleanup();
  proc = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const review = JSON.stringify(loadPodCase('mysql-statefulset').input);

function isPatched(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    return (JSON.parse(body) as { response?: { patchType?: string } }).response?.patchType === 'JSONPatch';
  } catch {
    return false;
  }
}

function h1Review(port: number, ca: string, agent: Agent | false, body?: (req: ClientRequest) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mutate?timeout=10s', method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(review)) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(isPatched(res.statusCode ?? 0, text)));
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
    if (body) body(req);
    else req.end(review);
  });
}

function readyz(port: number, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

test('SIGTERM under fixed-rate keep-alive load over HTTP/1.1 and HTTP/2: not ready at once, served through the drain, in-flight reviews finished, no request lost, exit 0', async () => {
  proc = spawnWebhook({ SHUTDOWN_DRAIN: `${DRAIN_MS}ms` });
  const serving = await proc.logLine('webhook serving');
  const port = Number(new URL(serving.url as string).port);
  const ca = readFileSync(join(proc.tlsDir, 'ca.crt'), 'utf8');

  const agent = new Agent({ keepAlive: true, maxSockets: 4, ca });
  const pooled = new Set<Socket>();
  agent.on('free', (socket: Socket) => pooled.add(socket));
  const session: ClientHttp2Session = await h2Connect(port, ca);
  let goaway = false;
  session.once('goaway', () => (goaway = true));

  const results: Array<Promise<boolean>> = [];
  let sending = true;
  const tick = setInterval(() => {
    if (!sending) return;
    results.push(h1Review(port, ca, agent));
    results.push(h2Request(session, '/mutate?timeout=10s', { body: review }).then((r) => isPatched(r.status, r.body), () => false));
  }, 1000 / RATE_PER_PROTOCOL);

  await sleep(1_000);
  const signalled = Date.now();
  proc.child.kill('SIGTERM');
  // The poller plays the kubelet's readiness probe.
  let unreadyAt = 0;
  while (!unreadyAt) {
    if ((await readyz(port, ca)) === 503) unreadyAt = Date.now();
    else await sleep(50);
    if (Date.now() - signalled > 5_000) throw new Error('/readyz never turned 503 after SIGTERM');
  }
  // Stop a second before the drain ends even if this machine was slow to see the flip.
  await sleep(Math.min(MOVE_AWAY_MS, signalled + DRAIN_MS - 1_000 - Date.now()));
  sending = false;
  clearInterval(tick);

  // Two slow reviews that are in flight when the drain ends: half the body
  // now, the rest after the server has begun closing.
  const slowBodies: Array<() => void> = [];
  const half = Buffer.byteLength(review) / 2;
  const slowH1 = h1Review(port, ca, false, (req) => {
    req.write(review.slice(0, half));
    slowBodies.push(() => req.end(review.slice(half)));
  });
  const slowStream = session.request({ ':method': 'POST', ':path': '/mutate', 'content-type': 'application/json' });
  const slowH2 = new Promise<boolean>((resolve) => {
    let status = 0;
    let text = '';
    slowStream.on('response', (h) => (status = Number(h[':status'])));
    slowStream.setEncoding('utf8');
    slowStream.on('data', (c: string) => (text += c));
    slowStream.on('end', () => resolve(isPatched(status, text)));
    slowStream.on('error', () => resolve(false));
  });
  slowStream.write(review.slice(0, half));
  slowBodies.push(() => slowStream.end(review.slice(half)));
  await proc.logLine('drain over', DRAIN_MS + 5_000);
  await sleep(300);
  for (const finish of slowBodies) finish();

  const answered = await Promise.all([...results, slowH1, slowH2]);
  const exit = await proc.exited;
  const lost = answered.filter((ok) => !ok).length;
  process.stdout.write(`shutdown under load: ${answered.length} reviews sent, ${lost} lost\n`);

  expect(unreadyAt - signalled).toBeLessThan(1_500);
  expect(answered.length).toBeGreaterThan(RATE_PER_PROTOCOL * 2); // about 2 s at 2 × 100/s, less on a busy machine
  expect(lost).toBe(0);
  expect(await Promise.all([slowH1, slowH2])).toEqual([true, true]);
  expect(goaway).toBe(true);
  expect(exit).toMatchObject({ code: 0, signal: null });
  expect(exit.at - signalled).toBeGreaterThanOrEqual(DRAIN_MS);
  expect(exit.at - signalled).toBeLessThan(DRAIN_MS + 10_000);
  // Every kept-alive connection was closed by the server, none by this client.
  expect(pooled.size).toBeGreaterThan(0);
  expect([...pooled].filter((s) => !s.destroyed)).toEqual([]);
  agent.destroy();
  session.destroy();
});

test('SIGTERM while startup hangs on the API server exits 0 promptly', async () => {
  // An API server that accepts connections and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const apiPort = typeof address === 'object' && address ? address.port : 0;
  const kubeconfig = join(tmpdir(), `wutong-backup-silent-${process.pid}.yaml`);
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: silent, cluster: { server: "https://127.0.0.1:' + apiPort + '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: not-a-real-token } }]',
      'contexts: [{ name: c, context: { cluster: silent, user: u, namespace: wutong-backup } }]',
      'current-context: c',
    ].join('\n'),
  );
  try {
    proc = spawnWebhook({ KUBECONFIG: kubeconfig, SHUTDOWN_DRAIN: '30s' });
    await proc.logLine('starting');
    await sleep(500);
    expect(proc.logs.some((l) => l.msg === 'webhook serving')).toBe(false);
    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalled).toBeLessThan(3_000);
    expect(proc.logs.some((l) => l.msg === 'signal during startup: exiting')).toBe(true);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});
