import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { apiApp } from '../../../src/api/api-app.js';
import { accessControl } from '../../../src/api/auth/access-control.js';
import type { AccessRequest } from '../../../src/api/auth/access-request.js';
import type { AuthReviews } from '../../../src/api/auth/auth-reviews.js';
import type { Identity } from '../../../src/api/auth/identity.js';
import type { BackupApiDeps } from '../../../src/api/use-cases/backup-api-deps.js';
import type { VeleroCache, VeleroStore } from '../../../src/velero/velero-ports.js';
import type { ComponentLock } from '../../../src/components/component-lock.js';
import type { ComponentReader, TenantLookup } from '../../../src/api/use-cases/ports.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import type { TenantDirectory } from '../../../src/tenancy/tenant-directory.js';
import { claimSummary, podRecord, workloadSummary } from '../components/summaries.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';

// The backup API's pipeline with fake cluster ports, over plain HTTP (the TLS
// listener is test/integration's): authenticate, map the route's tenant/env
// to its namespace through namespace labels, authorize there, and only then
// read the body, look the component up and touch Velero's objects.

const SID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ALIAS = 'gr0a1b2c';
const A_PATH = `/v2/tenants/acme/envs/prod/services/${ALIAS}`;
const B_PATH = `/v2/tenants/mallory/envs/dev/services/${ALIAS}`;

/** Who the tokens are, and what RBAC grants them. */
const USERS: Record<string, { identity: Identity; may: (request: AccessRequest) => boolean }> = {
  // The console: a ClusterRoleBinding for everything.
  console: { identity: { username: 'system:serviceaccount:wt:console', groups: ['system:authenticated'], via: 'token' }, may: () => true },
  // Tenant B: admin of her own namespace only (componentbackups, componentrestores and the download there).
  mallory: { identity: { username: 'mallory', groups: ['system:authenticated'], via: 'token' }, may: (r) => r.namespace === 'mallory-dev' },
  // Reads records in acme-prod, nothing else: no download, no create, no update.
  reader: { identity: { username: 'reader', groups: ['system:authenticated'], via: 'token' }, may: (r) => r.namespace === 'acme-prod' && r.verb === 'get' && r.subresource === undefined },
  // May create schedules in acme-prod but not change retention.
  scheduler: { identity: { username: 'scheduler', groups: ['system:authenticated'], via: 'token' }, may: (r) => r.namespace === 'acme-prod' && r.verb === 'create' },
  nobody: { identity: { username: 'nobody', groups: ['system:authenticated'], via: 'token' }, may: () => false },
};

/** Every call a fake port gets, as "port.method"; a call to a method the fake does not implement fails the request (500). */
function counted<T extends object>(port: string, calls: string[], impl: Partial<Record<keyof T, unknown>> = {}): T {
  return new Proxy(impl, {
    get(target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      return (...args: unknown[]) => {
        calls.push(`${port}.${property}`);
        const method = (target as Record<string, unknown>)[property];
        if (typeof method !== 'function') throw new Error(`${port}.${property} is not faked`);
        return (method as (...a: unknown[]) => unknown)(...args);
      };
    },
  }) as unknown as T;
}

interface Harness {
  url: string;
  /** Every SubjectAccessReview asked, in order. */
  reviews: AccessRequest[];
  /** Every call to the component reader, Velero cache, store and lock. */
  calls: string[];
  /** The namespaces the component reader was asked about. */
  readIn: string[];
  /** The components the Velero cache was asked about. */
  cachedFor: string[];
  tenants: TenantDirectory;
  synced: { value: boolean };
  close(): Promise<void>;
}

let h: Harness;

async function start(): Promise<Harness> {
  const reviews: AccessRequest[] = [];
  const calls: string[] = [];
  const readIn: string[] = [];
  const cachedFor: string[] = [];
  const authReviews: AuthReviews = {
    reviewToken: (token) => Promise.resolve(USERS[token] ? { authenticated: true, identity: USERS[token].identity } : { authenticated: false, reason: 'unknown token' }),
    reviewAccess: (identity, req) => {
      // The API's routes ask only resource questions (metrics ask the other kind, elsewhere).
      const asked = req as AccessRequest;
      reviews.push(asked);
      const user = Object.values(USERS).find((u) => u.identity.username === identity.username);
      return Promise.resolve({ allowed: user?.may(asked) === true, reason: '' });
    },
  };
  // Short-lived verdicts would hide the second ask of a repeated request: no caching here.
  const access = accessControl(authReviews, { cacheTtlMs: 0, log: pino({ level: 'silent' }) });
  // acme-prod is tenant A's env; mallory-dev is tenant B's; twin-1 and twin-2 both claim to be dup/env.
  const tenants = tenantDirectory({ 'acme-prod': ['acme', 'prod'], 'mallory-dev': ['mallory', 'dev'], 'twin-1': ['dup', 'env'], 'twin-2': ['dup', 'env'] });
  const synced = { value: true };
  const lookup: TenantLookup = { namespaceOf: (env) => tenants.namespaceOf(env), synced: () => synced.value };
  // A's running component; in B's namespace, objects forged with A's labels.
  const registry = new ComponentRegistry(tenants);
  const labels = { creator: 'Wutong', service_id: SID, service_alias: ALIAS, tenant_name: 'acme', tenant_env_name: 'prod' };
  for (const namespace of ['acme-prod', 'mallory-dev']) {
    registry.upsert(workloadSummary({ kind: 'StatefulSet', namespace, name: ALIAS, uid: `w-${namespace}`, labels, template: { labels, containers: [] } }));
    registry.upsert(claimSummary({ namespace, name: `data-${ALIAS}-0`, uid: `c-${namespace}`, labels }));
    registry.upsert(podRecord({ namespace, name: `${ALIAS}-0`, uid: `p-${namespace}`, labels }));
  }
  const components = counted<ComponentReader>('components', calls, {
    read: (namespace: string, alias: string) => {
      readIn.push(namespace);
      return Promise.resolve(registry.objectsIn(namespace, alias));
    },
  });
  const cache = counted<VeleroCache>('cache', calls, {
    readiness: () => ({ ready: true }),
    backupsOf: (key: string) => (cachedFor.push(key), []),
    restoresOf: (key: string) => (cachedFor.push(key), []),
    schedulesOf: (key: string) => (cachedFor.push(key), []),
  });
  const deps: BackupApiDeps = {
    components,
    cache,
    store: counted<VeleroStore>('store', calls),
    lock: counted<ComponentLock>('lock', calls),
    atRestRequests: counted('atRestRequests', calls),
    restoreRequests: counted('restoreRequests', calls),
    restoreIndex: counted('restoreIndex', calls),
    settings: { veleroNamespace: 'velero', storageLocation: 'default', downloadTimeoutMs: 1_000, downloadPollMs: 10, holderStartTimeoutMs: 1_000, atRestPollMs: 10 },
    now: () => new Date('2026-12-02T08:00:00Z'),
    random: () => 'beef',
    log: pino({ level: 'silent' }),
  };
  const server: Server = createServer(apiApp({ backend: { deps, access, tenants: lookup }, log: pino({ level: 'silent' }), version: 'test' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    reviews,
    calls,
    readIn,
    cachedFor,
    tenants,
    synced,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeEach(async () => {
  h = await start();
});
afterEach(() => h.close());

function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, h.url),
      { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}) } },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: answer, json: answer ? (JSON.parse(answer) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** Every component route, with a body it accepts (undefined: none). */
const ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/backup', { desc: 'now' }],
  ['GET', '/backup/records', undefined],
  ['GET', '/backup/schedule', undefined],
  ['POST', '/backup/schedule', { cron: '0 3 * * *' }],
  ['PUT', '/backup/schedule', { cron: '0 3 * * *', keep: 3 }],
  ['DELETE', '/backup/schedule', undefined],
  ['GET', `/backup/${SID}-backup-20261201000000-abcd/download`, undefined],
  ['DELETE', `/backup/${SID}-backup-20261201000000-abcd`, undefined],
  ['POST', '/restore', { backup_id: `${SID}-backup-20261201000000-abcd` }],
  ['GET', '/restore/records', undefined],
  ['DELETE', `/restore/${SID}-restore-20261201000000-abcd`, undefined],
];

test('the table covers every component route', async () => {
  const { COMPONENT_ROUTES } = await import('../../../src/api/component-routes.js');
  expect(ROUTES).toHaveLength(COMPONENT_ROUTES.length);
});

describe('a caller denied in the namespace', () => {
  test.each(ROUTES)('%s %s: 403 naming neither the namespace nor a service_id, and nothing was looked up', async (method, route, body) => {
    const answer = await call(method, A_PATH + route, 'mallory', body);
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ code: 'forbidden', msg: expect.stringMatching(/^mallory may not \w+ component(backups|restores)(\/download)?\.backup\.wutong\.io "gr0a1b2c" in tenant env acme\/prod$/) as unknown });
    expect(answer.text).not.toContain('acme-prod');
    expect(answer.text).not.toContain(SID);
    // Asked in A's namespace, once; the reader, the caches, the store and the lock were never called.
    expect(h.reviews.map((r) => r.namespace)).toEqual(['acme-prod']);
    expect(h.calls).toEqual([]);
  });

  test('whether the component exists or not, the answer is the same', async () => {
    const existing = await call('GET', `${A_PATH}/backup/records`, 'nobody');
    const missing = await call('GET', '/v2/tenants/acme/envs/prod/services/nosuchalias/backup/records', 'nobody');
    expect(missing.status).toBe(403);
    expect(missing.json.msg).toBe((existing.json.msg as string).replace(ALIAS, 'nosuchalias'));
    expect(h.calls).toEqual([]);
  });

  test('an invalid body is not even read before authorization: 403, not 400', async () => {
    const answer = await call('POST', `${A_PATH}/backup`, 'mallory', { desc: 5, extra: true });
    expect(answer.status).toBe(403);
    expect(h.calls).toEqual([]);
  });

  test('no token: 401 before any review or lookup', async () => {
    const answer = await call('GET', `${A_PATH}/backup/records`, undefined);
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain('acme-prod');
    expect(h.reviews).toEqual([]);
    expect(h.calls).toEqual([]);
  });
});

describe('a tenant env no namespace (or two namespaces) carries', () => {
  test('unknown: a namespace-only caller gets 403 from the cluster-wide question, a cluster-wide one 404', async () => {
    const denied = await call('GET', '/v2/tenants/ghost/envs/prod/services/x/backup/records', 'mallory');
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ code: 'forbidden', msg: 'mallory may not get componentbackups.backup.wutong.io "x" in tenant env ghost/prod' });
    expect(h.reviews).toEqual([expect.objectContaining({ namespace: '', verb: 'get', resource: 'componentbackups', name: 'x' })]);
    const found = await call('GET', '/v2/tenants/ghost/envs/prod/services/x/backup/records', 'console');
    expect(found.status).toBe(404);
    expect(found.json).toMatchObject({ code: 'tenant_env_not_found', msg: expect.stringContaining('tenant env ghost/prod not found') as unknown });
    expect(h.calls).toEqual([]);
  });

  test('ambiguous: 403 for a namespace-only caller, 409 tenant_env_ambiguous for a cluster-wide one', async () => {
    expect((await call('GET', '/v2/tenants/dup/envs/env/services/x/backup/records', 'mallory')).status).toBe(403);
    const answer = await call('GET', '/v2/tenants/dup/envs/env/services/x/backup/records', 'console');
    expect(answer.status).toBe(409);
    expect(answer.json).toMatchObject({ code: 'tenant_env_ambiguous', msg: expect.stringContaining('twin-1, twin-2') as unknown });
    expect(h.calls).toEqual([]);
  });

  test('a namespace whose tenant labels were removed is an unknown env from then on', async () => {
    h.tenants.remove('acme-prod');
    expect((await call('GET', `${A_PATH}/backup/records`, 'console')).json).toMatchObject({ code: 'tenant_env_not_found' });
    expect((await call('GET', `${A_PATH}/backup/records`, 'reader')).status).toBe(403);
    expect(h.calls).toEqual([]);
  });

  test('before the namespaces are listed: 503, nothing looked up (an unknown env proves nothing yet)', async () => {
    h.synced.value = false;
    const answer = await call('GET', `${A_PATH}/backup/records`, 'console');
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ code: 'starting' });
    expect(h.reviews).toEqual([]);
    expect(h.calls).toEqual([]);
  });
});

describe('what is asked of RBAC', () => {
  test('the download route asks get on componentbackups/download: reading records is not enough', async () => {
    const answer = await call('GET', `${A_PATH}/backup/${SID}-backup-20261201000000-abcd/download`, 'reader');
    expect(answer.status).toBe(403);
    expect(answer.json.msg).toBe(`reader may not get componentbackups/download.backup.wutong.io "${ALIAS}" in tenant env acme/prod`);
    expect(h.reviews).toEqual([{ namespace: 'acme-prod', verb: 'get', resource: 'componentbackups', subresource: 'download', name: ALIAS, shownAs: 'in tenant env acme/prod' }]);
    expect(h.calls).toEqual([]);
    // The same caller reads records: no subresource there.
    expect((await call('GET', `${A_PATH}/backup/records`, 'reader')).status).toBe(200);
    expect(h.reviews.at(-1)).toEqual({ namespace: 'acme-prod', verb: 'get', resource: 'componentbackups', name: ALIAS, shownAs: 'in tenant env acme/prod' });
  });

  test('POST schedule with keep (or ttl) asks for update too, after create; without them, create alone', async () => {
    for (const body of [{ cron: '0 3 * * *', keep: 3 }, { cron: '0 3 * * *', ttl: '7d' }]) {
      h.reviews.length = 0;
      const answer = await call('POST', `${A_PATH}/backup/schedule`, 'scheduler', body);
      expect(answer.status).toBe(403);
      expect(answer.json.msg).toBe(`scheduler may not update componentbackups.backup.wutong.io "${ALIAS}" in tenant env acme/prod`);
      expect(h.reviews.map((r) => `${r.verb} ${r.resource} ${r.namespace}`)).toEqual(['create componentbackups acme-prod', 'update componentbackups acme-prod']);
    }
    // Denied the update: the component was never looked up, nothing written.
    expect(h.calls).toEqual([]);
    h.reviews.length = 0;
    await call('POST', `${A_PATH}/backup/schedule`, 'scheduler', { cron: '0 3 * * *' });
    expect(h.reviews.map((r) => r.verb)).toEqual(['create']);
    expect(h.readIn).toEqual(['acme-prod']);
  });

  test('PUT schedule with keep is one update: the verb the route already asks', async () => {
    await call('PUT', `${A_PATH}/backup/schedule`, 'console', { cron: '0 3 * * *', keep: 3 });
    expect(h.reviews.map((r) => r.verb)).toEqual(['update']);
  });
});

describe('an allowed caller', () => {
  test('reads only the tenant env\'s namespace, and the caches only for that (namespace, service_id)', async () => {
    const answer = await call('GET', `${A_PATH}/backup/records`, 'console');
    expect(answer.status).toBe(200);
    expect(h.readIn).toEqual(['acme-prod']);
    expect(h.cachedFor).toEqual([`acme-prod/${SID}`]);
  });

  test('tenant B on her own path, with objects forged under A\'s labels, reaches her own component only: never A\'s backups', async () => {
    const answer = await call('GET', `${B_PATH}/backup/records`, 'mallory');
    expect(answer.status).toBe(200);
    expect(h.reviews.map((r) => r.namespace)).toEqual(['mallory-dev']);
    expect(h.readIn).toEqual(['mallory-dev']);
    expect(h.cachedFor).toEqual([`mallory-dev/${SID}`]);
    // And on A's path: refused before anything of A's is read.
    h.calls.length = 0;
    expect((await call('GET', `${A_PATH}/backup/records`, 'mallory')).status).toBe(403);
    expect(h.calls).toEqual([]);
  });
});
