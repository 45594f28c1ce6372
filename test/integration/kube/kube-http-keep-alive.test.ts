import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { generateDevelopmentTls, readTlsDir } from '../../../src/certificates/tls-files.js';
import { kubeHttp } from '../../../src/kube/kube-http.js';

// Every backup API request resolves its component with four lists; each one
// on a new TLS connection cost the records route more than its own work
// (bench/records-bench.ts). Against a real HTTPS server that counts
// handshakes: calls reuse kept-alive connections, and still carry the
// kubeconfig's token every time.

let dir: string;
let server: Server;
let handshakes = 0;
const authorizations: Array<string | undefined> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-http-keep-alive-'));
  generateDevelopmentTls(dir);
  const tls = readTlsDir(dir);
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    authorizations.push(req.headers.authorization);
    res.setHeader('content-type', 'application/json');
    res.end('{"kind":"List","items":[]}');
  });
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function kubeConfig(): KubeConfig {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: `https://localhost:${address.port}`, caData: Buffer.from(readTlsDir(dir).ca).toString('base64') }],
    users: [{ name: 'sa', token: 'token-of-the-test' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'sa' }],
    currentContext: 'test',
  });
  return kc;
}

test('sequential and parallel calls reuse kept-alive connections, each with the token', async () => {
  const http = kubeHttp(kubeConfig());
  handshakes = 0;
  authorizations.length = 0;
  for (let i = 0; i < 10; i++) await http.getJson('/api/v1/pods', { labelSelector: 'a=b' }, 5_000);
  expect(handshakes).toBe(1);
  // Four at once, as a component lookup makes them, twice: at most four connections in all.
  for (let i = 0; i < 2; i++) await Promise.all([1, 2, 3, 4].map(() => http.send('GET', '/api/v1/pods', undefined, 5_000)));
  expect(handshakes).toBeLessThanOrEqual(4);
  expect(authorizations).toHaveLength(18);
  expect(new Set(authorizations)).toEqual(new Set(['Bearer token-of-the-test']));
});
