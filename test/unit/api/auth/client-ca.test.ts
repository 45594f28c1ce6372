import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect, createSecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { identityFromCertificate } from '../../../../src/api/auth/client-certificate.js';
import { loadClientCa, verifiedPeerCertificate } from '../../../../src/api/auth/client-ca.js';
import { makeClientCertificates, startClientCaServer, type ClientCaServer, type ClientCertificates } from './client-certificates.js';

// Real certificates (openssl) and a real TLS server on loopback with the
// options loadClientCa returns: what verifiedPeerCertificate hands to access
// control for each kind of client.

let certs: ClientCertificates;
let server: ClientCaServer;
const file = (name: string): string => certs.file(name);
const connectAs: ClientCaServer['connectAs'] = (client) => server.connectAs(client);

beforeAll(async () => {
  certs = makeClientCertificates();
  server = await startClientCaServer(certs);
});
afterAll(async () => {
  await server.close();
  certs.remove();
});

test('a certificate from API_CLIENT_CA is verified, and names the user (CN) and groups (every O), prefixed', async () => {
  const { answer, authorized, cert } = await connectAs('console');
  expect(answer).toBe('ok');
  expect(authorized).toBe(true);
  if (!cert) throw new Error('no verified certificate');
  expect(identityFromCertificate(cert)).toEqual({
    identity: { username: 'wutong-backup-client:wutong-console', groups: ['wutong-backup-client:wutong:consoles', 'wutong-backup-client:tenant-a-admins'], via: 'client-certificate' },
    droppedGroups: [],
  });
  expect(identityFromCertificate(cert, { user: '', group: 'certs:' })).toEqual({
    identity: { username: 'wutong-console', groups: ['certs:wutong:consoles', 'certs:tenant-a-admins'], via: 'client-certificate' },
    droppedGroups: [],
  });
});

test('a real certificate of API_CLIENT_CA with CN and O in system: never maps into system:, even with empty prefixes', async () => {
  const { authorized, cert } = await connectAs('impostor');
  expect(authorized).toBe(true);
  if (!cert) throw new Error('no verified certificate');
  expect(identityFromCertificate(cert, { user: '', group: '' })).toEqual({ problem: `the client certificate's Common Name would make the user "system:admin": a certificate may never name a system: user` });
  // With the default prefixes it is an ordinary, harmless name.
  expect(identityFromCertificate(cert)).toEqual({
    identity: { username: 'wutong-backup-client:system:admin', groups: ['wutong-backup-client:system:masters', 'wutong-backup-client:ops'], via: 'client-certificate' },
    droppedGroups: [],
  });
});

test('a client without a certificate still connects (bearer tokens), and has no certificate identity', async () => {
  await expect(connectAs()).resolves.toEqual({ answer: 'ok', authorized: false, cert: undefined });
});

test('a certificate from another CA still connects, but is not an identity', async () => {
  await expect(connectAs('stranger')).resolves.toEqual({ answer: 'ok', authorized: false, cert: undefined });
});

test("a certificate of API_CLIENT_CA whose extended key usage excludes clientAuth is not an identity", async () => {
  await expect(connectAs('server-only')).resolves.toEqual({ answer: 'ok', authorized: false, cert: undefined });
});

test('over HTTP/2 and HTTP/1.1 on one server (how the API port serves), the request socket gives the verified certificate', async () => {
  const names: string[] = [];
  const h2 = createSecureServer({ cert: readFileSync(file('server.crt')), key: readFileSync(file('server.key')), allowHTTP1: true, ...loadClientCa(file('client-ca.crt')) }, (req, res) => {
    const cert = verifiedPeerCertificate(req.socket as TLSSocket);
    const named = cert ? identityFromCertificate(cert, { user: '', group: '' }) : undefined;
    names.push(`${req.httpVersion} ${named && 'identity' in named ? named.identity.username : 'none'}`);
    res.end();
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(h2.address() as { port: number }).port}`;
  const tls = (client?: string) => ({ ca: readFileSync(file('client-ca.crt')), ...(client ? { cert: readFileSync(file(`${client}.crt`)), key: readFileSync(file(`${client}.key`)) } : {}) });
  try {
    for (const client of ['console', undefined]) {
      const session = http2Connect(url, tls(client));
      await new Promise<void>((resolve, reject) => session.request({ ':path': '/' }).on('response', () => resolve()).on('error', reject).end());
      session.close();
      await new Promise<void>((resolve, reject) => httpsRequest(`${url}/`, { ...tls(client), agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
    }
  } finally {
    await new Promise((resolve) => h2.close(resolve));
  }
  expect(names).toEqual(['2.0 wutong-console', '1.1 wutong-console', '2.0 none', '1.1 none']);
});

test('a serving-certificate rotation (setSecureContext) must pass the CA again, or no client certificate verifies any more', async () => {
  const { ca } = loadClientCa(file('client-ca.crt'));
  const pair = { cert: readFileSync(file('server.crt')), key: readFileSync(file('server.key')) };
  try {
    server.setSecureContext({ ...pair, ca });
    expect((await connectAs('console')).authorized).toBe(true);
    server.setSecureContext(pair);
    expect((await connectAs('console')).authorized).toBe(false);
  } finally {
    server.setSecureContext({ ...pair, ca });
  }
});

describe('loadClientCa', () => {
  test('answers the TLS server options: the CA, ask for a certificate, do not refuse a client without one', () => {
    const options = loadClientCa(file('client-ca.crt'));
    expect(options).toEqual({ ca: expect.stringContaining('-----BEGIN CERTIFICATE-----') as unknown, requestCert: true, rejectUnauthorized: false });
  });

  test('keeps every CA of a bundle', () => {
    writeFileSync(file('bundle.crt'), readFileSync(file('other-ca.crt'), 'utf8') + readFileSync(file('client-ca.crt'), 'utf8'));
    expect(loadClientCa(file('bundle.crt')).ca.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  test('a missing file: an error naming it', () => {
    expect(() => loadClientCa(file('absent.crt'))).toThrow(`API_CLIENT_CA ${file('absent.crt')}: cannot read the client CA file: `);
    expect(() => loadClientCa(file('absent.crt'))).toThrow(/ENOENT: no such file or directory/);
  });

  test('a file with no certificate (a key, say): an error naming it', () => {
    expect(() => loadClientCa(file('client-ca.key'))).toThrow(`API_CLIENT_CA ${file('client-ca.key')}: no PEM certificate`);
  });

  test('a corrupt certificate: an error naming the file and which certificate', () => {
    const pem = readFileSync(file('client-ca.crt'), 'utf8');
    writeFileSync(file('corrupt.crt'), pem + pem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!!!!!!!!!!!!!!!!!'));
    expect(() => loadClientCa(file('corrupt.crt'))).toThrow(`API_CLIENT_CA ${file('corrupt.crt')}: certificate 2 of 2 is not a PEM certificate`);
  });
});
