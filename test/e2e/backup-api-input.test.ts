import { jest } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { ApiAnswer, CallOptions } from './support/backup-api-client.js';
import { startBackupApiTestbed, VELERO_CREATED_RESOURCES, type BackupApiTestbed } from './support/backup-api-testbed.js';

jest.setTimeout(300_000);

/**
 * Malformed input against the real API (two replicas of the shipped
 * installation, a running component, Velero's stand-in): each answered 4xx
 * in the region API's envelope, naming the field at fault, creating nothing;
 * then a bounded fuzz run with no 5xx and no crash.
 */
let bed: BackupApiTestbed;
let P: string;

beforeAll(async () => {
  bed = await startBackupApiTestbed({ suite: 'api-input', serviceId: 'b2c3d4e5f60718293a4b5c6d7e8f90a1', alias: 'gr0input' });
  P = bed.component.path;
});
afterAll(() => bed?.stop());

interface Row {
  what: string;
  method: string;
  /** Below the component's path when it starts with "~", else absolute. */
  path: string;
  options?: CallOptions;
  status: number;
  /** The field the answer names: the validation_error key for 400s, `field` otherwise (undefined: none). */
  field: string | undefined;
  code?: string;
}

const at = (path: string): string => (path.startsWith('~') ? `${P}${path.slice(1)}` : path);
const json = (body: unknown): CallOptions => ({ body });
const raw = (text: string | Buffer, contentType?: string | null): CallOptions => ({ raw: text, ...(contentType === undefined ? {} : { contentType }) });
const desc = (n: number): string => 'd'.repeat(n);
/** A backup body of exactly `bytes` bytes. */
const sized = (bytes: number): string => {
  const shell = '{"desc":""}';
  return `{"desc":"${'x'.repeat(bytes - shell.length)}"}`;
};
const withKey = (key: string): CallOptions => ({ body: { desc: 'keyed' }, headers: { 'idempotency-key': key } });

const ROWS: Row[] = [
  // --- path segments ---
  { what: 'tenant_name not a label value', method: 'GET', path: '/v2/tenants/acme!/envs/prod/services/gr0input/backup/records', status: 400, field: 'tenant_name' },
  { what: 'tenant_env_name starting with "-"', method: 'GET', path: '/v2/tenants/acme/envs/-prod/services/gr0input/backup/records', status: 400, field: 'tenant_env_name' },
  { what: 'service_alias of 64 characters', method: 'GET', path: `/v2/tenants/acme/envs/prod/services/${'a'.repeat(64)}/backup/records`, status: 400, field: 'service_alias' },
  { what: 'service_alias ".."', method: 'GET', path: '/v2/tenants/acme/envs/prod/services/../backup/records', status: 400, field: 'service_alias' },
  { what: 'service_alias "%2e%2e"', method: 'GET', path: '/v2/tenants/acme/envs/prod/services/%2e%2e/backup/records', status: 400, field: 'service_alias' },
  { what: 'service_alias with a percent-encoded slash', method: 'GET', path: '/v2/tenants/acme/envs/prod/services/gr0input%2F..%2Fother/backup/records', status: 400, field: 'service_alias' },
  { what: 'tenant_name with a percent-encoded slash', method: 'POST', path: '/v2/tenants/acme%2Fx/envs/prod/services/gr0input/backup', options: json({ desc: 'x' }), status: 400, field: 'tenant_name' },
  { what: 'a bad percent escape in service_alias', method: 'GET', path: '/v2/tenants/acme/envs/prod/services/gr0%E0%A4%A/backup/records', status: 400, field: 'service_alias' },
  { what: 'a bad percent escape in backup_id', method: 'DELETE', path: '~/backup/%zz', status: 400, field: 'backup_id' },
  { what: 'backup_id in uppercase', method: 'DELETE', path: '~/backup/GR0INPUT-BACKUP', status: 400, field: 'backup_id' },
  { what: 'backup_id with "_" (download)', method: 'GET', path: '~/backup/bad_id/download', status: 400, field: 'backup_id' },
  { what: 'backup_id of 254 characters', method: 'DELETE', path: `~/backup/${'b'.repeat(254)}`, status: 400, field: 'backup_id' },
  { what: 'backup_id ".."', method: 'GET', path: '~/backup/../download', status: 400, field: 'backup_id' },
  { what: 'restore_id ".."', method: 'DELETE', path: '~/restore/..', status: 400, field: 'restore_id' },
  { what: 'restore_id with a percent-encoded slash', method: 'DELETE', path: '~/restore/a%2Fb', status: 400, field: 'restore_id' },
  { what: 'path traversal out of the component prefix is not resolved', method: 'GET', path: '~/backup/../../../../../../openapi.json', status: 404, field: undefined, code: 'no_route' },

  // --- bodies ---
  { what: 'no body', method: 'POST', path: '~/backup', status: 400, field: 'body' },
  { what: 'an empty body', method: 'POST', path: '~/backup', options: raw(''), status: 400, field: 'body' },
  { what: 'not JSON', method: 'POST', path: '~/backup', options: raw('desc=x'), status: 400, field: 'body' },
  { what: 'truncated JSON', method: 'POST', path: '~/backup', options: raw('{"desc":"x"'), status: 400, field: 'body' },
  { what: 'a JSON array', method: 'POST', path: '~/backup', options: raw('[{"desc":"x"}]'), status: 400, field: 'body' },
  { what: 'a JSON string', method: 'POST', path: '~/backup', options: raw('"x"'), status: 400, field: 'body' },
  { what: 'JSON null', method: 'POST', path: '~/backup', options: raw('null'), status: 400, field: 'body' },
  { what: 'a JSON number', method: 'POST', path: '~/restore', options: raw('42'), status: 400, field: 'body' },
  { what: 'desc missing', method: 'POST', path: '~/backup', options: json({}), status: 400, field: 'desc' },
  { what: 'an unknown field', method: 'POST', path: '~/backup', options: json({ desc: 'x', storageLocation: 'other' }), status: 400, field: 'storageLocation' },
  { what: 'an unknown field named "constructor"', method: 'POST', path: '~/backup', options: json({ desc: 'x', constructor: 1 }), status: 400, field: 'constructor' },
  { what: 'an unknown field named "__proto__"', method: 'POST', path: '~/backup', options: raw('{"desc":"x","__proto__":{"ttl":"1h"}}'), status: 400, field: '__proto__' },
  { what: 'an unknown field named "toString"', method: 'POST', path: '~/backup/schedule', options: json({ cron: '@daily', toString: 'x' }), status: 400, field: 'toString' },
  { what: 'desc a number', method: 'POST', path: '~/backup', options: json({ desc: 123 }), status: 400, field: 'desc' },
  { what: 'desc null', method: 'POST', path: '~/backup', options: json({ desc: null }), status: 400, field: 'desc' },
  { what: 'operator an array', method: 'POST', path: '~/backup', options: json({ desc: 'x', operator: ['alice'] }), status: 400, field: 'operator' },
  { what: 'ttl a number', method: 'POST', path: '~/backup', options: json({ desc: 'x', ttl: 720 }), status: 400, field: 'ttl' },
  ...['5x', '0h', '-1d', '1.5h', '99999d', '720', ' 30d', '30D', '1h30m'].map((ttl): Row => ({ what: `ttl "${ttl}"`, method: 'POST', path: '~/backup', options: json({ desc: 'x', ttl }), status: 400, field: 'ttl' })),
  { what: 'desc of 1025 characters', method: 'POST', path: '~/backup', options: json({ desc: desc(1025) }), status: 400, field: 'desc' },
  { what: 'operator of 257 characters', method: 'POST', path: '~/backup', options: json({ desc: 'x', operator: desc(257) }), status: 400, field: 'operator' },
  { what: 'service_id not hex', method: 'POST', path: '~/backup', options: json({ desc: 'x', service_id: 'z'.repeat(32) }), status: 400, field: 'service_id' },
  { what: 'service_id in uppercase hex', method: 'POST', path: '~/backup', options: json({ desc: 'x', service_id: 'B2C3D4E5F60718293A4B5C6D7E8F90A1' }), status: 400, field: 'service_id' },
  { what: 'service_id too short', method: 'POST', path: '~/backup', options: json({ desc: 'x', service_id: 'b2c3d4e5' }), status: 400, field: 'service_id' },
  { what: 'schedule: cron missing', method: 'POST', path: '~/backup/schedule', options: json({ desc: 'x' }), status: 400, field: 'cron' },
  ...['61 * * * *', 'bogus', '* * * *', '* * * * * *', '@every', '@every 1x', ''].map((cron): Row => ({ what: `schedule: cron "${cron}"`, method: 'POST', path: '~/backup/schedule', options: json({ cron }), status: 400, field: 'cron' })),
  { what: 'schedule update: cron "61 * * * *"', method: 'PUT', path: '~/backup/schedule', options: json({ cron: '61 * * * *' }), status: 400, field: 'cron' },
  { what: 'schedule: ttl "0h"', method: 'POST', path: '~/backup/schedule', options: json({ cron: '@daily', ttl: '0h' }), status: 400, field: 'ttl' },
  { what: 'schedule: desc of 1025 characters', method: 'PUT', path: '~/backup/schedule', options: json({ cron: '@daily', desc: desc(1025) }), status: 400, field: 'desc' },
  { what: 'restore: backup_id missing', method: 'POST', path: '~/restore', options: json({}), status: 400, field: 'backup_id' },
  { what: 'restore: backup_id in uppercase', method: 'POST', path: '~/restore', options: json({ backup_id: 'Backup-1' }), status: 400, field: 'backup_id' },
  { what: 'restore: backup_id "../x"', method: 'POST', path: '~/restore', options: json({ backup_id: '../x' }), status: 400, field: 'backup_id' },
  { what: 'restore: backup_id a number', method: 'POST', path: '~/restore', options: json({ backup_id: 7 }), status: 400, field: 'backup_id' },
  { what: 'restore: service_id not hex', method: 'POST', path: '~/restore', options: json({ backup_id: 'x', service_id: 'not-hex' }), status: 400, field: 'service_id' },

  // --- headers ---
  { what: 'no Content-Type', method: 'POST', path: '~/backup', options: raw('{"desc":"x"}', null), status: 415, field: 'Content-Type', code: 'unsupported_media_type' },
  { what: 'Content-Type text/plain', method: 'POST', path: '~/backup', options: raw('{"desc":"x"}', 'text/plain'), status: 415, field: 'Content-Type', code: 'unsupported_media_type' },
  { what: 'Content-Type a form', method: 'POST', path: '~/restore', options: raw('backup_id=x', 'application/x-www-form-urlencoded'), status: 415, field: 'Content-Type', code: 'unsupported_media_type' },
  { what: 'Content-Type application/json; charset=latin1', method: 'POST', path: '~/backup', options: raw('{"desc":"x"}', 'application/json; charset=latin1'), status: 415, field: 'Content-Type', code: 'unsupported_encoding' },
  // body-parser decodes UTF-16 (iconv); these UTF-8 bytes are then not JSON.
  { what: 'Content-Type application/json; charset=utf-16 on UTF-8 bytes', method: 'PUT', path: '~/backup/schedule', options: raw('{"cron":"@daily"}', 'application/json; charset=utf-16'), status: 400, field: 'body' },
  { what: 'Content-Encoding compress', method: 'POST', path: '~/backup', options: { raw: '{"desc":"x"}', headers: { 'content-encoding': 'compress' } }, status: 415, field: 'Content-Encoding', code: 'unsupported_encoding' },
  { what: 'Content-Encoding gzip on a body that is not gzip', method: 'POST', path: '~/backup', options: { raw: '{"desc":"x"}', headers: { 'content-encoding': 'gzip' } }, status: 400, field: 'body' },
  { what: 'Idempotency-Key empty', method: 'POST', path: '~/backup', options: withKey(''), status: 400, field: 'Idempotency-Key' },
  { what: 'Idempotency-Key of 256 characters', method: 'POST', path: '~/backup', options: withKey('k'.repeat(256)), status: 400, field: 'Idempotency-Key' },
  { what: 'Idempotency-Key with spaces', method: 'POST', path: '~/backup', options: withKey('retry 1 of 3'), status: 400, field: 'Idempotency-Key' },
  { what: 'Idempotency-Key not ASCII', method: 'POST', path: '~/backup', options: withKey('cl\u00e9'), status: 400, field: 'Idempotency-Key' },
  { what: 'restore: Idempotency-Key with a tab', method: 'POST', path: '~/restore', options: { body: { backup_id: 'x' }, headers: { 'idempotency-key': 'a\tb' } }, status: 400, field: 'Idempotency-Key' },

  // --- size: the limit is 64 KiB exactly ---
  { what: 'Content-Encoding br on a body that is not brotli', method: 'POST', path: '~/restore', options: { raw: '{"backup_id":"x"}', headers: { 'content-encoding': 'br' } }, status: 400, field: 'body' },
  { what: 'a body of 64 KiB + 1 byte', method: 'POST', path: '~/backup', options: raw(sized(65_537)), status: 413, field: 'body', code: 'body_too_large' },
  { what: 'a body of exactly 64 KiB is read (and its desc refused)', method: 'POST', path: '~/backup', options: raw(sized(65_536)), status: 400, field: 'desc' },
  { what: 'a gzip body that inflates past 64 KiB', method: 'POST', path: '~/backup', options: { raw: gzipSync(sized(1_000_000)), headers: { 'content-encoding': 'gzip' } }, status: 413, field: 'body', code: 'body_too_large' },

  // --- query ---
  ...['limit=0', 'limit=abc', 'limit=1001', 'limit=-1', 'limit=1.5', 'limit=', 'limit=1&limit=2'].map((q): Row => ({ what: `records ?${q}`, method: 'GET', path: `~/backup/records?${q}`, status: 400, field: 'limit' })),
  { what: 'records ?continue=garbage', method: 'GET', path: '~/backup/records?continue=garbage', status: 400, field: 'continue' },
  { what: 'restore records ?continue= of 2000 characters', method: 'GET', path: `~/restore/records?continue=${'c'.repeat(2000)}`, status: 400, field: 'continue' },
  { what: 'records with an unknown query parameter', method: 'GET', path: '~/backup/records?labelSelector=x', status: 400, field: 'labelSelector' },
  { what: 'schedule with a query parameter', method: 'GET', path: '~/backup/schedule?all=1', status: 400, field: 'all' },
  { what: 'backup with ?dryRun', method: 'POST', path: '~/backup?dryRun=All', options: json({ desc: 'x' }), status: 400, field: 'dryRun' },

  // --- routes and methods ---
  { what: 'an unknown route', method: 'GET', path: '/v2/nosuch', status: 404, field: undefined, code: 'no_route' },
  { what: 'the prefix alone', method: 'GET', path: '~', status: 404, field: undefined, code: 'no_route' },
  { what: 'a misspelt route', method: 'GET', path: '~/backups/records', status: 404, field: undefined, code: 'no_route' },
  { what: 'GET on the backup collection', method: 'GET', path: '~/backup', status: 404, field: undefined, code: 'no_route' },
  { what: 'PATCH on the backup schedule', method: 'PATCH', path: '~/backup/schedule', options: json({ cron: '@daily' }), status: 404, field: undefined, code: 'no_route' },
  { what: 'PUT on backup records', method: 'PUT', path: '~/backup/records', options: json({}), status: 404, field: undefined, code: 'no_route' },
  { what: 'POST on restore records', method: 'POST', path: '~/restore/records', options: json({}), status: 404, field: undefined, code: 'no_route' },
  { what: 'OPTIONS on a route', method: 'OPTIONS', path: '~/backup', status: 404, field: undefined, code: 'no_route' },
  { what: 'POST on the OpenAPI document', method: 'POST', path: '/v2/openapi.json', options: json({}), status: 404, field: undefined, code: 'no_route' },
];

/** Names of every object of the kinds the API creates in Velero's namespace. */
async function veleroNames(): Promise<string[]> {
  const names: string[] = [];
  for (const resource of VELERO_CREATED_RESOURCES) names.push(...(await bed.veleroObjects(resource)).map((o) => `${resource}/${o.metadata.name}`));
  return names.sort();
}

function envelopeOf(answer: ApiAnswer): { msg?: unknown; code?: unknown; field?: unknown; validation_error?: Record<string, unknown> } {
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.text.endsWith('\n')).toBe(true);
  expect(typeof answer.json).toBe('object');
  return answer.json as never;
}

describe('malformed requests: 4xx in the envelope, naming the field, creating nothing', () => {
  const answers = new Map<string, ApiAnswer>();
  let before: string[];

  beforeAll(async () => {
    before = await veleroNames();
    for (const [i, row] of ROWS.entries()) answers.set(row.what, await bed.call(row.method, at(row.path), row.options ?? {}, i % bed.replicas.length));
  });

  test.each(ROWS.map((row) => [row.what, row] as const))('%s', (_what, row) => {
    const answer = answers.get(row.what)!;
    expect(`${answer.status} ${answer.text}`).toMatch(new RegExp(`^${row.status} `));
    const body = envelopeOf(answer);
    if (row.status === 400) {
      expect(Object.keys(body.validation_error ?? {})).toContain(row.field);
      const messages = body.validation_error?.[row.field!];
      expect(Array.isArray(messages) && messages.length > 0 && messages.every((m) => typeof m === 'string' && m !== '')).toBe(true);
      expect(body.msg).toBeUndefined();
      expect(body).toMatchObject({ code: 'invalid_request', field: row.field });
    } else {
      expect(typeof body.msg).toBe('string');
      expect(body.validation_error).toBeUndefined();
      expect(body.field).toBe(row.field);
      if (row.code) expect(body.code).toBe(row.code);
      else expect(typeof body.code).toBe('string');
    }
  });

  test('after the whole table Velero has no new Backup, Restore, Schedule, DeleteBackupRequest or DownloadRequest', async () => {
    const after = await veleroNames();
    expect(after.filter((name) => !before.includes(name))).toEqual([]);
  });
});

// --- fuzz ---

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const FUZZ_RUNS = 2_000;
const FUZZ_MS = 60_000;

interface FuzzRequest {
  method: string;
  path: string;
  token: 'console' | 'none' | 'garbage';
  headers: Record<string, string>;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };
  contentType: string | null;
  replica: number;
}

const SEGMENT_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%!*\'():@;=+,$&'];
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 0, maxLength: 70 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%', '%zz', 'a%2Fb', '%E0%A4%A', '') },
);
const id = fc.oneof(fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,80}$/), segment);

/** The real route shapes below the prefix, with random ids, sometimes with junk after. */
const routeTail = fc.tuple(
  fc.oneof(
    fc.constantFrom(['backup'], ['backup', 'records'], ['backup', 'schedule'], ['restore'], ['restore', 'records']),
    id.map((x) => ['backup', x]),
    id.map((x) => ['backup', x, 'download']),
    id.map((x) => ['restore', x]),
  ),
  fc.oneof({ weight: 9, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(segment, { maxLength: 3 }) }),
);
const QUERY_KEYS = ['limit', 'continue', 'foo', 'labelSelector', 'dryRun'];
const query = fc.option(
  fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.integer({ min: -5, max: 2_000 }).map(String), segment)), { minLength: 1, maxLength: 3 }),
  { freq: 3 },
);

/** A request the console could send: a real route and method, the real component, a well-formed body. */
const wellFormed = (c: RouteNames): fc.Arbitrary<FuzzRequest> => {
  const prefix = `/v2/tenants/${c.tenant}/envs/${c.env}/services/${c.alias}`;
  const backupBody = fc.record({ desc: fc.string({ maxLength: 40 }), ttl: fc.constantFrom('720h', '30d', '1h', '3650d', ''), operator: fc.constantFrom('alice', 'bob') }, { requiredKeys: ['desc'] });
  // Never a frequent cron: at the stand-in's time scale it would fill Velero with backups.
  const scheduleBody = fc.record({ cron: fc.constantFrom('0 3 * * *', '@daily', '@weekly', '@every 24h'), ttl: fc.constantFrom('30d', '720h'), desc: fc.string({ maxLength: 20 }) }, { requiredKeys: ['cron'] });
  const objectId = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/);
  const shape: fc.Arbitrary<{ method: string; tail: string; body: unknown }> = fc.oneof(
    backupBody.map((b) => ({ method: 'POST', tail: '/backup', body: b })),
    fc.option(fc.integer({ min: 1, max: 1000 })).map((limit) => ({ method: 'GET', tail: `/backup/records${limit === null ? '' : `?limit=${limit}`}`, body: undefined })),
    fc.constantFrom('GET', 'DELETE').map((method) => ({ method, tail: '/backup/schedule', body: undefined })),
    fc.tuple(fc.constantFrom('POST', 'PUT'), scheduleBody).map(([method, b]) => ({ method, tail: '/backup/schedule', body: b })),
    objectId.map((id) => ({ method: 'POST', tail: '/restore', body: { backup_id: id } })),
    fc.constant({ method: 'GET', tail: '/restore/records', body: undefined }),
    objectId.map((id) => ({ method: 'DELETE', tail: `/backup/${id}`, body: undefined })),
    objectId.map((id) => ({ method: 'GET', tail: `/backup/${id}/download`, body: undefined })),
    objectId.map((id) => ({ method: 'DELETE', tail: `/restore/${id}`, body: undefined })),
  );
  return fc.record({ shape, key: fc.option(fc.stringMatching(/^[!-~]{1,40}$/)), replica: fc.nat({ max: 1 }) }).map(({ shape: { method, tail, body }, key, replica }): FuzzRequest => ({
    method,
    path: `${prefix}${tail}`,
    token: 'console',
    headers: key === null ? {} : { 'idempotency-key': key },
    body: body === undefined ? { kind: 'none' } : { kind: 'json', value: body },
    contentType: 'application/json',
    replica,
  }));
};

/** Anything: random methods, segments, queries, headers and bodies over the real route shapes. */
const anyRequest = (c: RouteNames): fc.Arbitrary<FuzzRequest> => {
  const name = (real: string): fc.Arbitrary<string> => fc.oneof({ weight: 6, arbitrary: fc.constant(real) }, { weight: 1, arbitrary: segment });
  const componentPath = fc
    .tuple(name(c.tenant), name(c.env), name(c.alias), routeTail, query)
    .map(([t, e, a, [tail, extra], q]) => `/v2/tenants/${t}/envs/${e}/services/${a}/${[...tail, ...extra].join('/')}${q ? `?${q.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`);
  const otherPath = fc.oneof(fc.constant('/v2/openapi.json'), fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`));
  const fieldBody = fc.dictionary(fc.constantFrom('desc', 'ttl', 'operator', 'service_id', 'cron', 'backup_id', '__proto__', 'constructor', 'x'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
  const headerValue = fc.string({ unit: fc.constantFrom(...' abcXYZ019-_.:;=/*,"\t\u00e9'), maxLength: 300 });
  return fc.record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
    path: fc.oneof({ weight: 9, arbitrary: componentPath }, { weight: 1, arbitrary: otherPath }),
    token: fc.constantFrom<FuzzRequest['token']>('console', 'console', 'console', 'console', 'none', 'garbage'),
    headers: fc.record(
      { 'idempotency-key': fc.oneof(fc.stringMatching(/^[!-~]{1,40}$/), headerValue), accept: fc.oneof(fc.constantFrom('application/json', '*/*', 'text/html', ''), headerValue), 'content-encoding': fc.constantFrom('gzip', 'identity', 'compress', 'br') },
      { requiredKeys: [] },
    ),
    body: fc.oneof(
      { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
      { weight: 3, arbitrary: fieldBody.map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'raw' as const, text })) },
    ),
    contentType: fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(null, 'text/plain', 'application/json; charset=latin1', 'application/merge-patch+json', 'application/json; charset=utf-8') }),
    replica: fc.nat({ max: 1 }),
  });
};

/** The names a component's routes carry. */
interface RouteNames {
  tenant: string;
  env: string;
  alias: string;
}

const fuzzRequest = (c: RouteNames): fc.Arbitrary<FuzzRequest> => fc.oneof({ weight: 1, arbitrary: wellFormed(c) }, { weight: 2, arbitrary: anyRequest(c) });

describe('fuzz', () => {
  test(`${FUZZ_RUNS} random requests (at most ${FUZZ_MS / 1000} s, seed ${FUZZ_SEED}): no 5xx, no reset, every answer a JSON envelope; both replicas alive after`, async () => {
    const statuses = new Map<number, number>();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fuzzRequest(bed.component), async (r) => {
        runs++;
        const options: CallOptions = {
          headers: r.headers,
          ...(r.token === 'console' ? {} : { token: r.token === 'none' ? '' : 'garbage-token' }),
          ...(r.body.kind === 'none' ? {} : { raw: r.body.kind === 'raw' ? r.body.text : JSON.stringify(r.body.value), contentType: r.contentType }),
        };
        // A connection reset or timeout rejects here and fails the run.
        const answer = await bed.call(r.method, r.path, options, r.replica);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status >= 500) throw new Error(`${answer.status}: ${answer.text}`);
        if (r.method === 'HEAD' || answer.status === 302) return; // no body / a redirect to the pre-signed URL
        if (answer.json === undefined || answer.json === null || typeof answer.json !== 'object') throw new Error(`not a JSON object: ${answer.status} ${answer.text.slice(0, 200)}`);
        const body = answer.json as Record<string, unknown>;
        if (answer.status >= 400) {
          const ok = typeof body.code === 'string' && (typeof body.msg === 'string' || (typeof body.validation_error === 'object' && body.validation_error !== null));
          if (!ok) throw new Error(`not an error envelope: ${answer.status} ${answer.text.slice(0, 200)}`);
        } else if (!r.path.startsWith('/v2/openapi.json') && !Object.keys(body).every((k) => ['bean', 'list', 'continue'].includes(k))) {
          throw new Error(`not a success envelope: ${answer.status} ${answer.text.slice(0, 200)}`);
        }
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, interruptAfterTimeLimit: FUZZ_MS, endOnFailure: true },
    );
    const seen = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
    // The run reached the handlers, not only the validators: some requests were valid.
    expect(runs).toBeGreaterThanOrEqual(200);
    expect([...statuses.keys()].filter((s) => s >= 200 && s < 300).length).toBeGreaterThan(0);
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([400, 401, 404]));
    process.stdout.write(`fuzz: ${runs} requests, seed ${FUZZ_SEED}, statuses ${JSON.stringify(seen)}\n`);

    for (const [i, replica] of bed.replicas.entries()) {
      expect(replica.alive()).toBe(true);
      const doc = await bed.call('GET', '/v2/openapi.json', {}, i);
      expect(doc.status).toBe(200);
      expect((doc.json as { openapi?: string }).openapi).toMatch(/^3\./);
    }
  });
});
