import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientHttp2Session } from 'node:http2';
import { generateDevelopmentTls, readTlsDir, type TlsMaterial } from '../../src/certificates/tls-files.js';
import { startHttpsServer, type StartedServer } from '../../src/server/https-server.js';
import type { WebhookResponse } from '../../src/server/protocols.js';
import { h2Connect, h2Request } from './http2-client.js';
import { rawH2Connect } from './raw-h2-client.js';

// The HTTP/2 limits of the one HTTPS server both ports use, against a
// listener that holds every request open until the test lets go: how many
// requests one connection can have inside the server at once.

jest.setTimeout(30_000);

let dir: string;
let tls: TlsMaterial;
let server: StartedServer;
const held: WebhookResponse[] = [];
let open = 0;
let mostOpen = 0;
let arrived = 0;
let holding = true;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wutong-backup-h2-'));
  generateDevelopmentTls(dir);
  tls = readTlsDir(dir);
  server = await startHttpsServer(
    (req, res) => {
      arrived++;
      open++;
      mostOpen = Math.max(mostOpen, open);
      res.once('close', () => open--);
      req.resume();
      if (holding) held.push(res);
      else res.end('ok');
    },
    tls,
    0,
    '127.0.0.1',
  );
}, 30_000);
afterAll(async () => {
  await server.close(100);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  holding = true;
  mostOpen = 0;
  arrived = 0;
});

function releaseHeld(): void {
  holding = false;
  for (const res of held.splice(0)) res.end('ok');
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('the server advertises 250 concurrent streams; a client that honours it gets all of 300 requests answered, never more than 250 inside at once', async () => {
  const session: ClientHttp2Session = await h2Connect(server.port, tls.ca);
  try {
    // Node shows its own default (100) until the server's SETTINGS frame arrives.
    await until(() => session.remoteSettings.maxConcurrentStreams === 250, 'the server to advertise SETTINGS_MAX_CONCURRENT_STREAMS 250');
    const replies = Array.from({ length: 300 }, () => h2Request(session, '/held', { method: 'GET' }));
    await until(() => open === 250, '250 open requests');
    // The other 50 wait in the client; a moment later there are still 250.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(open).toBe(250);
    releaseHeld();
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual(Array(300).fill(200));
    expect(mostOpen).toBe(250);
  } finally {
    session.close();
  }
});

test('a client that opens more streams than advertised never has more than 250 inside the server, and loses its connection', async () => {
  const client = await rawH2Connect(server.port);
  expect((await client.settings)[3]).toBe(250);
  for (let i = 0; i < 300; i++) client.openStream(1 + 2 * i, '/held');
  await client.closed;
  expect(arrived).toBeLessThanOrEqual(250);
  expect(mostOpen).toBeLessThanOrEqual(250);
  releaseHeld();
  await until(() => open === 0, 'the held requests to end');
});

test('rapid reset (CVE-2023-44487): a client opening and cancelling streams as fast as it can is sent GOAWAY, and no stream of it is served after that', async () => {
  holding = false;
  const client = await rawH2Connect(server.port);
  await client.settings;
  const attempts = 10_000;
  for (let i = 0; i < attempts; i++) {
    const id = 1 + 2 * i;
    client.openStream(id, '/reset');
    client.resetStream(id);
  }
  await until(() => client.goaway() !== undefined, 'GOAWAY');
  const goaway = client.goaway();
  // Past the GOAWAY no new stream reaches the server's handler.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const servedBefore = arrived;
  for (let i = attempts; i < attempts + 100; i++) client.openStream(1 + 2 * i, '/after-goaway');
  await new Promise((resolve) => setTimeout(resolve, 300));
  client.destroy();
  expect(arrived).toBe(servedBefore);
  // nghttp2's default: a burst of 1,000 resets, then 33 a second.
  expect(goaway!.lastStreamId).toBeLessThan(2 * 2_000);
  expect(arrived).toBeLessThan(2_000);
});
