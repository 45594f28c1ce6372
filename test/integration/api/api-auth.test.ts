import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { apiApp, type ApiBackend } from '../../../src/api/api-app.js';
import { accessControl, type AccessControlOptions } from '../../../src/api/auth/access-control.js';
import { loadClientCa } from '../../../src/api/auth/client-ca.js';
import { apiBodyReadDeadline } from '../../../src/api/body-deadline.js';
import type { BackupApiDeps } from '../../../src/api/use-cases/backup-api-deps.js';
import { generateDevelopmentTls, readTlsDir, type TlsMaterial } from '../../../src/certificates/tls-files.js';
import type { ComponentObjects } from '../../../src/components/resolve-component.js';
import { kubeAuthReviews } from '../../../src/kube/auth-reviews.js';
import { startHttpsServer, type StartedServer } from '../../../src/server/https-server.js';
import { makeClientCertificates, type ClientCertificates, type ClientName } from '../../unit/api/auth/client-certificates.js';
import { h2Connect, h2Request } from '../http2-client.js';
import { API_SERVER_AUDIENCE, reviewsStandIn, type ReviewsStandIn } from './reviews-stand-in.js';

// The backup API's authentication as a client meets it: the real server
// (apiApp behind startHttpsServer, real TLS over HTTP/1.1 and HTTP/2), the
// real access control and TokenReview/SubjectAccessReview adapter, and a
// stand-in for kube-apiserver's two review endpoints. The stand-in's RBAC
// denies everything, so an authenticated caller gets 403 naming who it was
// taken for, and no use case ever runs.

jest.setTimeout(30_000);

const RECORDS = '/v2/tenants/t/envs/e/services/a/backup/records';
const BACKUP = '/v2/tenants/t/envs/e/services/a/backup';
const CONSOLE_USER = 'system:serviceaccount:wt-system:wutong-console';
const SA_TOKEN = 'sa-token-for-the-api-server';
const PROJECTED_TOKEN = 'projected-token-for-wutong-backup';
const AUDIENCE = 'wutong-backup';
// The component the route names: one PVC with Wutong's labels.
const COMPONENT: ComponentObjects = {
  workloads: [],
  volumeClaims: [{ metadata: { name: 'data-a-0', namespace: 'tenant-a', labels: { creator: 'Wutong', service_id: '0123456789abcdef0123456789abcdef', tenant_name: 't', tenant_env_name: 'e', service_alias: 'a' } } }],
  pods: [],
};

let dir: string;
let tls: TlsMaterial;
let certs: ClientCertificates;
const running: StartedServer[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wutong-backup-api-auth-'));
  generateDevelopmentTls(dir);
  tls = readTlsDir(dir);
  certs = makeClientCertificates();
}, 30_000);
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close(100)));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  certs.remove();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Started {
  port: number;
  reviews: ReviewsStandIn;
  call(path: string, options?: { method?: string; token?: string; from?: string; client?: ClientName; body?: string }): Promise<Reply>;
}

/** The API with `options` for its access control, its own stand-in API server, on a free port. */
async function startApi(options: AccessControlOptions & { clientCertificates?: boolean; bodyReadTimeoutMs?: number; allowAll?: boolean } = {}, delayMs = 0): Promise<Started> {
  const reviews = reviewsStandIn(
    {
      [SA_TOKEN]: { username: CONSOLE_USER },
      [PROJECTED_TOKEN]: { username: CONSOLE_USER, audiences: [AUDIENCE] },
    },
    () => options.allowAll === true,
    delayMs,
  );
  const backend: ApiBackend = {
    // RBAC (which denies all, unless allowAll) is asked before any lookup; the
    // component lookup is reached only when allowed, so that is all of the use
    // cases' dependencies this needs.
    deps: { components: { read: () => Promise.resolve(COMPONENT) } } as unknown as BackupApiDeps,
    access: accessControl(kubeAuthReviews(reviews.http), { log: pino({ level: 'silent' }), ...options }),
    // The route's tenant env t/e is namespace tenant-a.
    tenants: { namespaceOf: () => ({ found: true, namespace: 'tenant-a' }), synced: () => true },
  };
  const serving = options.clientCertificates ? { cert: readFileSync(certs.file('server.crt'), 'utf8'), key: readFileSync(certs.file('server.key'), 'utf8'), ca: readFileSync(certs.file('client-ca.crt'), 'utf8') } : tls;
  const listener = apiBodyReadDeadline(apiApp({ backend, log: pino({ level: 'silent' }), version: 'test' }), options.bodyReadTimeoutMs ?? 10_000);
  const server = await startHttpsServer(listener, serving, 0, '127.0.0.1', options.clientCertificates ? loadClientCa(certs.file('client-ca.crt')) : undefined);
  running.push(server);
  const call: Started['call'] = (path, { method = 'GET', token, from, client, body } = {}) =>
    new Promise((resolve, reject) => {
      const tlsOptions: RequestOptions = client ? { cert: readFileSync(certs.file(`${client}.crt`)), key: readFileSync(certs.file(`${client}.key`)) } : {};
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method,
          ca: serving.ca,
          agent: false,
          ...(from ? { localAddress: from } : {}),
          ...tlsOptions,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { port: server.port, reviews, call };
}

const json = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body) as Record<string, unknown>;

describe('API_TOKEN_AUDIENCES', () => {
  test('unset: a plain ServiceAccount token (audience: the API server) is accepted, as before; the TokenReview names no audience', async () => {
    const api = await startApi();
    const reply = await api.call(RECORDS, { token: SA_TOKEN });
    expect(reply.status).toBe(403);
    expect(json(reply).msg).toMatch(new RegExp(`^${CONSOLE_USER} may not get componentbackups`));
    expect(api.reviews.tokenReviews).toEqual([{ token: SA_TOKEN }]);
  });

  test('set: a token made for the API server is refused with 401; a projected token with this audience is accepted', async () => {
    const api = await startApi({ audiences: [AUDIENCE] });
    const refused = await api.call(RECORDS, { token: SA_TOKEN });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="wutong-backup"');
    expect(json(refused)).toEqual({ msg: `the bearer token is not valid: [invalid bearer token, token audiences ["${API_SERVER_AUDIENCE}"] is invalid for the target audiences ["${AUDIENCE}"]]`, code: 'unauthenticated' });
    const accepted = await api.call(RECORDS, { token: PROJECTED_TOKEN });
    expect(accepted.status).toBe(403);
    expect(json(accepted).msg).toMatch(new RegExp(`^${CONSOLE_USER} may not get`));
    expect(api.reviews.tokenReviews).toEqual([
      { token: SA_TOKEN, audiences: [AUDIENCE] },
      { token: PROJECTED_TOKEN, audiences: [AUDIENCE] },
    ]);
  });
});

describe('failed authentications per source address', () => {
  test('a flood of bad tokens from one address costs at most 20 TokenReviews, then 429 with Retry-After in the envelope; another address is unaffected', async () => {
    const api = await startApi();
    // The console, behind the same address, has its token checked before the flood.
    expect((await api.call(RECORDS, { token: SA_TOKEN, from: '127.0.0.1' })).status).toBe(403);
    const statuses: number[] = [];
    let throttled: Reply | undefined;
    for (let i = 0; i < 60; i++) {
      const reply = await api.call(RECORDS, { token: `guess-${i}`, from: '127.0.0.1' });
      statuses.push(reply.status);
      if (reply.status === 429) throttled ??= reply;
    }
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(40).fill(429)]);
    expect(api.reviews.tokenReviews).toHaveLength(21);
    expect(json(throttled!)).toEqual({ msg: expect.stringMatching(/^too many failed authentications from 127\.0\.0\.1; try again in \d+ s$/) as unknown, code: 'too_many_failed_authentications' });
    expect(Number(throttled!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(throttled!.headers['retry-after'])).toBeLessThanOrEqual(10);
    // The console's known-good token still works from the throttled address: it costs no TokenReview.
    expect((await api.call(RECORDS, { token: SA_TOKEN, from: '127.0.0.1' })).status).toBe(403);
    // Another address: its bad token is reviewed and refused as usual, its good token accepted.
    expect((await api.call(RECORDS, { token: 'guess-elsewhere', from: '127.0.0.2' })).status).toBe(401);
    expect((await api.call(RECORDS, { token: PROJECTED_TOKEN.replace('projected', 'other'), from: '127.0.0.2' })).status).toBe(401);
    expect(api.reviews.tokenReviews).toHaveLength(23);
  });

  test('100 bad tokens at once on one HTTP/2 connection make at most 20 TokenReviews', async () => {
    const api = await startApi({}, 50);
    const session = await h2Connect(api.port, tls.ca);
    try {
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, RECORDS, { method: 'GET', headers: { authorization: `Bearer burst-${i}` } })));
      const statuses = replies.map((r) => r.status);
      expect(api.reviews.tokenReviews.length).toBeLessThanOrEqual(20);
      expect(statuses.filter((s) => s === 401)).toHaveLength(api.reviews.tokenReviews.length);
      expect(statuses.filter((s) => s === 429)).toHaveLength(100 - api.reviews.tokenReviews.length);
    } finally {
      session.close();
    }
  });
});

describe('client certificates', () => {
  test('CN and O arrive at RBAC prefixed: the user and groups a SubjectAccessReview is asked about', async () => {
    const api = await startApi({ clientCertificates: true });
    const reply = await api.call(RECORDS, { client: 'console' });
    expect(reply.status).toBe(403);
    expect(json(reply).msg).toMatch(/^wutong-backup-client:wutong-console may not get componentbackups/);
    expect(api.reviews.accessReviews[0]).toMatchObject({ user: 'wutong-backup-client:wutong-console', groups: ['wutong-backup-client:wutong:consoles', 'wutong-backup-client:tenant-a-admins'] });
  });

  test('a certificate with CN system:admin and O system:masters never reaches RBAC as a system: user or group', async () => {
    const unprefixed = await startApi({ clientCertificates: true, certificatePrefixes: { user: '', group: '' } });
    const refused = await unprefixed.call(RECORDS, { client: 'impostor' });
    expect(refused.status).toBe(401);
    expect(json(refused).msg).toBe(`the client certificate's Common Name would make the user "system:admin": a certificate may never name a system: user`);
    expect(unprefixed.reviews.accessReviews).toEqual([]);

    const prefixed = await startApi({ clientCertificates: true });
    expect((await prefixed.call(RECORDS, { client: 'impostor' })).status).toBe(403);
    expect(prefixed.reviews.accessReviews[0]).toMatchObject({ user: 'wutong-backup-client:system:admin', groups: ['wutong-backup-client:system:masters', 'wutong-backup-client:ops'] });
  });
});

describe('BODY_READ_TIMEOUT', () => {
  /** POST with a declared body of `length` bytes, sent a byte every 500 ms. */
  function slowPost(api: Started, length: number): { reply: Promise<Reply>; socketClosed: Promise<void> } {
    let req!: ClientRequest;
    const reply = new Promise<Reply>((resolve, reject) => {
      req = request(
        { host: '127.0.0.1', port: api.port, path: BACKUP, method: 'POST', ca: tls.ca, agent: false, headers: { authorization: `Bearer ${SA_TOKEN}`, 'content-type': 'application/json', 'content-length': String(length) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', (err) => (req.socket?.destroyed ? undefined : reject(err)));
    });
    const socketClosed = new Promise<void>((resolve) => req.on('socket', (socket) => socket.once('close', () => resolve())));
    req.flushHeaders();
    const drip = setInterval(() => (req.destroyed ? clearInterval(drip) : req.write('{')), 500);
    void socketClosed.then(() => clearInterval(drip));
    return { reply, socketClosed };
  }

  test('a body still arriving at the deadline is answered 408 in the envelope, and the connection closed', async () => {
    // RBAC allows the caller, so the pipeline reads the body whether it authorizes before or after reading it.
    const api = await startApi({ bodyReadTimeoutMs: 1_000, allowAll: true });
    const started = Date.now();
    const slow = slowPost(api, 200);
    const reply = await slow.reply;
    expect(reply.status).toBe(408);
    expect(reply.body).toBe('{"msg":"request body not received within 1s (BODY_READ_TIMEOUT)","code":"body_timeout","field":"body"}\n');
    expect(reply.headers.connection).toBe('close');
    expect(Date.now() - started).toBeLessThan(3_000);
    await slow.socketClosed;
  });

  test('a request without a body is never held to it, however long it takes', async () => {
    const api = await startApi({ bodyReadTimeoutMs: 200 }, 400);
    expect((await api.call(RECORDS, { token: SA_TOKEN })).status).toBe(403);
  });
});
