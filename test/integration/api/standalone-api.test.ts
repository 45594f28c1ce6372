import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnWebhook, type WebhookProcess } from '../webhook-process.js';

jest.setTimeout(60_000);

let server: WebhookProcess;
let apiUrl: string;
let ca: string;

function get(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, apiUrl), { method, ca, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The built server without any cluster, as `npm start` runs on a laptop.
beforeAll(async () => {
  server = spawnWebhook({ LOG_LEVEL: 'info' });
  const serving = await server.logLine('backup API serving');
  apiUrl = String(serving.url);
  ca = readFileSync(join(server.tlsDir, 'ca.crt'), 'utf8');
});
afterAll(() => server?.cleanup());

test('standalone, the API listens on its own port, and the curl its start-up log offers works as pasted', async () => {
  expect(new URL(apiUrl).port).not.toBe(new URL(String((await server.logLine('webhook serving')).url)).port);
  const hint = String((await server.logLine('try the backup API: ')).msg).slice('try the backup API: '.length);
  expect(hint).toMatch(/^curl .*\/v2\/openapi\.json$/);
  const { stdout } = await promisify(execFile)('sh', ['-c', hint]);
  expect((JSON.parse(stdout) as { openapi: string }).openapi).toMatch(/^3\./);
});

test('standalone, component routes answer 503 in the region API envelope saying no cluster is connected', async () => {
  const answer = await get('POST', '/v2/tenants/t/envs/e/services/a/backup', '{"desc":"x"}');
  expect(answer.status).toBe(503);
  expect(answer.type).toBe('application/json; charset=utf-8');
  expect(JSON.parse(answer.text)).toMatchObject({ code: 'no_cluster', msg: expect.stringContaining('no cluster is connected') as unknown });
  expect((await get('GET', '/v2/tenants/t/envs/e/services/a/backup/records')).status).toBe(503);
});

test('standalone, /metrics on the webhook port stays open (no API server to check a token with), and the start-up log says so', async () => {
  const serving = await server.logLine('webhook serving');
  expect(serving.metrics).toBe('open');
  const metrics = await new Promise<number>((resolve, reject) => {
    request(new URL('/metrics', String(serving.url)), { ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
  expect(metrics).toBe(200);
});

test('an unknown route is a 404 in the envelope, not an HTML page', async () => {
  const answer = await get('GET', '/v2/nothing');
  expect(answer.status).toBe(404);
  expect(answer.text).toBe('{"msg":"no route GET /v2/nothing","code":"no_route"}\n');
});

test('the OpenAPI 3 document describes every route with the schemas that validate its requests', async () => {
  const answer = await get('GET', '/v2/openapi.json');
  expect(answer.status).toBe(200);
  const doc = JSON.parse(answer.text) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[]; additionalProperties?: boolean } }> }; parameters: { name: string; in: string }[] }>> };
  expect(doc.openapi).toMatch(/^3\./);
  const prefix = '/v2/tenants/{tenant_name}/envs/{tenant_env_name}/services/{service_alias}';
  expect(Object.keys(doc.paths).sort()).toEqual(
    ['/backup', '/backup/records', '/backup/schedule', '/backup/{backup_id}/download', '/backup/{backup_id}', '/restore', '/restore/records', '/restore/{restore_id}'].map((p) => prefix + p).sort(),
  );
  expect(Object.keys(doc.paths[`${prefix}/backup/schedule`]!).sort()).toEqual(['delete', 'get', 'post', 'put']);
  const backupBody = doc.paths[`${prefix}/backup`]!.post!.requestBody!.content['application/json']!.schema;
  expect(Object.keys(backupBody.properties).sort()).toEqual(['desc', 'operator', 'service_id', 'ttl']);
  expect(backupBody.required).toEqual(['desc']);
  expect(backupBody.additionalProperties).toBe(false);
  expect(doc.paths[`${prefix}/backup`]!.post!.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:tenant_name', 'path:tenant_env_name', 'path:service_alias', 'header:Idempotency-Key']);
  expect(doc.paths[`${prefix}/backup/records`]!.get!.parameters.map((p) => `${p.in}:${p.name}`)).toContain('query:limit');
});
