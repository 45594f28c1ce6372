import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { followCertificateSource } from '../../../src/certificates/certificate-source.js';
import { FileCertificateSource } from '../../../src/certificates/file-certificate-source.js';
import { issueCa, issueServingCertificate, serviceHosts } from '../../../src/certificates/issue-certificates.js';
import { SecretCertificateSource } from '../../../src/certificates/secret-certificate-source.js';
import { generateDevelopmentTls, readTlsDir } from '../../../src/certificates/tls-files.js';
import { startHttpsServer, type StartedServer } from '../../../src/server/https-server.js';
import { InMemoryTlsSecretStore, InMemoryWebhookCaBundle, TestClock } from '../../unit/certificates/in-memory-cluster.js';
import { get, helloApp, type Reply } from './tls-test-server.js';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const HOSTS = [...serviceHosts('wutong-backup', 'wutong-system'), '127.0.0.1'];
const SERVERNAME = 'wutong-backup.wutong-system.svc';
const log = pino({ level: 'silent' });
const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

let server: StartedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test('setTls under keep-alive load: no request fails, open connections keep working, new handshakes get the new certificate', async () => {
  // The new pair comes from a new CA, as after a CA rotation; the client trusts
  // both, as the API server does while caBundle holds old and new CA.
  const oldCa = issueCa('old-ca', { validityMs: DAY });
  const newCa = issueCa('new-ca', { validityMs: DAY });
  const oldPair = issueServingCertificate(oldCa, HOSTS, { validityMs: DAY });
  const newPair = issueServingCertificate(newCa, HOSTS, { validityMs: DAY });
  server = await startHttpsServer(helloApp(), { ...oldPair, ca: oldCa.cert }, 0, '127.0.0.1');
  const port = server.port;
  const ca = [oldCa.cert, newCa.cert];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  const replies: Reply[] = [];
  let swapped = -1;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      replies.push(await get(port, { ca, agent, servername: SERVERNAME }));
      if (replies.length === 80 && swapped < 0) {
        server?.setTls({ ...newPair, ca: newCa.cert });
        swapped = replies.length;
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  agent.destroy();

  expect(replies).toHaveLength(200);
  expect(replies.every((r) => r.status === 200 && r.body === 'hello')).toBe(true);
  // Connections opened before the swap kept serving with the old certificate afterwards.
  const afterSwap = replies.slice(swapped);
  expect(afterSwap.some((r) => r.reused && r.fingerprint === fingerprintOf(oldPair.cert))).toBe(true);
  // A new handshake sees the new certificate, verified against the new CA alone.
  const fresh = await get(port, { ca: newCa.cert, agent: false, servername: SERVERNAME });
  expect(fresh.status).toBe(200);
  expect(fresh.fingerprint).toBe(fingerprintOf(newPair.cert));
});

test('a file source renewed on disk reaches the server without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotate-files-'));
  try {
    generateDevelopmentTls(dir, ['localhost', '127.0.0.1']);
    const source = new FileCertificateSource({ dir, reloadIntervalMs: 60_000, log });
    await source.start();
    server = await startHttpsServer(helloApp(), source.current(), 0, '127.0.0.1');
    followCertificateSource(source, (m) => server?.setTls(m));
    const before = await get(server.port, { ca: readTlsDir(dir).ca, agent: false, servername: 'localhost' });
    expect(before.fingerprint).toBe(fingerprintOf(readTlsDir(dir).cert));

    generateDevelopmentTls(dir, ['localhost', '127.0.0.1']);
    source.reloadNow();
    const after = await get(server.port, { ca: readTlsDir(dir).ca, agent: false, servername: 'localhost' });
    expect(after.fingerprint).toBe(fingerprintOf(readTlsDir(dir).cert));
    expect(after.fingerprint).not.toBe(before.fingerprint);
    source.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a CA rotation driven by the Secret source keeps every request of a client that trusts caBundle succeeding', async () => {
  const store = new InMemoryTlsSecretStore();
  const webhook = new InMemoryWebhookCaBundle();
  // The walk through the rotation spans 22 days; it ends just before the real
  // "now" so that the real TLS handshakes accept every certificate issued on the way.
  const clock = new TestClock(new Date(Date.now() - 22.5 * DAY));
  const source = new SecretCertificateSource(store, webhook, {
    hosts: HOSTS,
    caValidityMs: 30 * DAY,
    certValidityMs: 365 * DAY,
    overlapMs: DAY,
    checkIntervalMs: DAY,
    reloadIntervalMs: 60_000,
    clock: clock.now,
    log,
  });
  await source.start();
  server = await startHttpsServer(helloApp(), source.current(), 0, '127.0.0.1');
  followCertificateSource(source, (m) => server?.setTls(m));
  const port = server.port;
  // Like the API server: verify new connections against the bundle in force right now.
  const call = async (): Promise<Reply> => get(port, { ca: webhook.bundle ?? '', agent: false, servername: SERVERNAME });

  const seen = new Set<string>([(await call()).fingerprint]);
  for (const advance of [20 * DAY + 60_000, DAY / 2, DAY / 2, DAY]) {
    clock.advance(advance);
    await source.checkNow();
    const reply = await call();
    expect(reply.status).toBe(200);
    seen.add(reply.fingerprint);
  }
  // The switch to the new CA happened on the live server.
  expect(seen.size).toBe(2);
  expect([...seen].at(-1)).toBe(fingerprintOf(source.current().cert));
  source.stop();
});
