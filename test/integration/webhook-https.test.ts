import { Agent } from 'node:https';
import type { AdmissionReviewResponse } from '../../src/admission/admission-review.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { decodePatch, loadFixturePolicy, loadPodCase } from '../fixtures/pod-cases.js';
import { h2Connect, h2Request } from './http2-client.js';
import { sample, startWebhook, type Webhook } from './https-harness.js';

const MiB = 1024 * 1024;
let webhook: Webhook;
let notReady: string | undefined;

beforeAll(async () => {
  const readiness = new Map([['policy', () => notReady]]);
  webhook = await startWebhook(new PolicyStore(loadFixturePolicy()), readiness);
}, 30_000); // RSA key generation on a busy machine
afterAll(async () => {
  await webhook.stop();
});

/** The hook annotations the MySQL fixture's answer adds: what one such review adds to the injected-hook counter. */
const HOOK_ANNOTATIONS_PER_MYSQL_REVIEW = (loadPodCase('mysql-statefulset').expected.response.patch ?? []).filter((op) =>
  /^\/metadata\/annotations\/[a-z]+\.hook\.(backup|restore)\.velero\.io~1/.test(op.path),
).length;

function mysqlReview(): string {
  return JSON.stringify(loadPodCase('mysql-statefulset').input);
}

/** A MySQL review padded with one large annotation to exactly `bytes` bytes of JSON. */
function reviewOfSize(bytes: number): string {
  const review = loadPodCase('mysql-statefulset').input;
  const annotations = review.request.object.metadata?.annotations ?? {};
  annotations['wutong.io/large'] = '';
  if (review.request.object.metadata) review.request.object.metadata.annotations = annotations;
  const padding = bytes - JSON.stringify(review).length;
  annotations['wutong.io/large'] = 'x'.repeat(padding);
  const body = JSON.stringify(review);
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

function parse(body: string): AdmissionReviewResponse {
  return JSON.parse(body) as AdmissionReviewResponse;
}

describe('POST /mutate over HTTPS', () => {
  test('a MySQL pod review is answered with the patch the fixture expects', async () => {
    const { expected } = loadPodCase('mysql-statefulset');
    const reply = await webhook.call('/mutate', { body: mysqlReview() });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const answer = parse(reply.body);
    expect({ ...answer, response: { ...answer.response, patch: decodePatch(answer.response.patch) } }).toStrictEqual(expected);
  });

  test('the API server\'s ?timeout=10s query is tolerated', async () => {
    const reply = await webhook.call('/mutate?timeout=10s', { body: mysqlReview() });
    expect(reply.status).toBe(200);
    expect(parse(reply.body).response.patchType).toBe('JSONPatch');
  });

  test('a v1beta1 review is answered in v1beta1', async () => {
    const reply = await webhook.call('/mutate', { body: JSON.stringify(loadPodCase('v1beta1-review').input) });
    expect(parse(reply.body)).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' });
  });

  test('the body is read as JSON whatever the content type says', async () => {
    const reply = await webhook.call('/mutate', { body: mysqlReview(), headers: { 'content-type': 'text/plain' } });
    expect(reply.status).toBe(200);
    expect(parse(reply.body).response.uid).toBe('3b6c2f0e-1a4d-4e8b-9c7f-5d2a1b0e9f86');
  });

  test('a body that is not JSON gets 400 with a one-line reason', async () => {
    const reply = await webhook.call('/mutate', { body: '{"apiVersion": "admission.k8s.io/v1", kind: AdmissionReview' });
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    expect(reply.body).toMatch(/^bad AdmissionReview: body is not valid JSON \(.+\)\n$/);
    expect(reply.body.trimEnd()).not.toContain('\n');
  });

  test.each([
    ['JSON that is not an AdmissionReview', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }, 'kind is not AdmissionReview'],
    ['a review without request.uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: {} } }, 'request.uid is missing'],
    ['a JSON array', [1, 2], 'body is not a JSON object'],
  ])('%s gets 400 naming what is wrong', async (_what, body, reason) => {
    const reply = await webhook.call('/mutate', { body: JSON.stringify(body) });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 400, body: `bad AdmissionReview: ${reason}\n` });
  });

  test('an empty body gets 400', async () => {
    const reply = await webhook.call('/mutate', { body: '' });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 400, body: 'bad AdmissionReview: body is not valid JSON (Unexpected end of JSON input)\n' });
  });

  test('a 2.9 MiB review (a pod with a huge annotation) is accepted and patched', async () => {
    const reply = await webhook.call('/mutate', { body: reviewOfSize(Math.floor(2.9 * MiB)) });
    expect(reply.status).toBe(200);
    expect(parse(reply.body).response.patchType).toBe('JSONPatch');
  });

  test('exactly 3 MiB is still accepted; one byte more gets 413', async () => {
    expect((await webhook.call('/mutate', { body: reviewOfSize(3 * MiB) })).status).toBe(200);
    const reply = await webhook.call('/mutate', { body: reviewOfSize(3 * MiB + 1) });
    expect(reply.status).toBe(413);
    expect(reply.body).toBe("request body exceeds 3 MiB (3145728 bytes), the API server's own object limit\n");
  });
});

describe('health and metrics', () => {
  test.each(['/healthz', '/readyz'])('%s answers 200', async (path) => {
    const reply = await webhook.call(path, { method: 'GET' });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: 'ok\n' });
  });

  test('/readyz answers 503 naming the check that fails', async () => {
    notReady = 'no valid policy yet';
    try {
      const reply = await webhook.call('/readyz', { method: 'GET' });
      expect({ status: reply.status, body: reply.body }).toEqual({ status: 503, body: 'policy: no valid policy yet\n' });
      expect((await webhook.call('/healthz', { method: 'GET' })).status).toBe(200);
    } finally {
      notReady = undefined;
    }
  });

  test('/metrics counts patched reviews and records their duration', async () => {
    const metrics = async (): Promise<string> => (await webhook.call('/metrics', { method: 'GET' })).body;
    const before = await metrics();
    await webhook.call('/mutate', { body: mysqlReview() });
    await webhook.call('/mutate', { body: 'not json' });
    const after = await metrics();

    const patched = 'wutong_backup_admission_requests_total{outcome="patched"}';
    const badRequest = 'wutong_backup_admission_requests_total{outcome="bad_request"}';
    expect(sample(after, patched)).toBe(sample(before, patched) + 1);
    expect(sample(after, badRequest)).toBe(sample(before, badRequest) + 1);
    // The histogram times answered reviews; a body that never parsed is not one.
    const count = 'wutong_backup_admission_duration_seconds_count';
    expect(sample(after, count)).toBe(sample(before, count) + 1);
    expect(after).toContain('# TYPE wutong_backup_admission_duration_seconds histogram');
    expect(sample(after, 'wutong_backup_admission_duration_seconds_bucket{le="+Inf"}')).toBe(sample(after, count));
    // Counted per review, not per process: other tests in this file add to the same counter.
    const hooks = 'wutong_backup_annotations_injected_total{kind="hook"}';
    expect(sample(after, hooks) - sample(before, hooks)).toBe(HOOK_ANNOTATIONS_PER_MYSQL_REVIEW);
  });
});

describe('transport', () => {
  test('a TLS 1.1 client is refused (minVersion TLSv1.2)', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all; the refusal must come from the server.
    const old = webhook.call('/healthz', { method: 'GET', tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } });
    // Alert 70 (protocol_version) is the server saying no, not this client giving up.
    await expect(old).rejects.toMatchObject({ code: 'EPROTO', message: expect.stringMatching(/alert protocol version.*SSL alert number 70/) as unknown });
    const modern = await webhook.call('/healthz', { method: 'GET', tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'DEFAULT@SECLEVEL=0' } });
    expect(modern.status).toBe(200);
  });

  test('a client that does not trust the generated CA is refused', async () => {
    const { request } = await import('node:https');
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const req = request({ host: '127.0.0.1', port: webhook.server.port, path: '/healthz', agent: false }, () => resolve(new Error('connected')));
      req.on('error', resolve);
      req.end();
    });
    expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('keep-alive: two reviews over one agent share one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: webhook.ca });
    try {
      const first = await webhook.call('/mutate', { body: mysqlReview(), agent });
      const second = await webhook.call('/mutate', { body: mysqlReview(), agent });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect([first.reusedSocket, second.reusedSocket]).toEqual([false, true]);
      expect(first.headers.connection).toBe('keep-alive');
    } finally {
      agent.destroy();
    }
  });
});

describe('HTTP/2 (what Go clients negotiate when the webhook offers it)', () => {
  test('reviews, health, readiness and metrics are served over HTTP/2 exactly as over HTTP/1.1', async () => {
    const session = await h2Connect(webhook.server.port, webhook.ca);
    try {
      expect(session.alpnProtocol).toBe('h2');
      const { expected } = loadPodCase('mysql-statefulset');
      const review = await h2Request(session, '/mutate?timeout=10s', { body: mysqlReview() });
      expect(review.status).toBe(200);
      const answer = parse(review.body);
      expect({ ...answer, response: { ...answer.response, patch: decodePatch(answer.response.patch) } }).toStrictEqual(expected);
      for (const path of ['/healthz', '/readyz']) {
        const reply = await h2Request(session, path, { method: 'GET' });
        expect({ path, status: reply.status, body: reply.body }).toEqual({ path, status: 200, body: 'ok\n' });
      }
      const metrics = await h2Request(session, '/metrics', { method: 'GET' });
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('wutong_backup_tls_connections_established_total{protocol="h2"}');
      expect((await h2Request(session, '/nowhere', { method: 'GET' })).status).toBe(404);
      expect((await h2Request(session, '/mutate', { body: reviewOfSize(3 * MiB + 1) })).status).toBe(413);
    } finally {
      session.close();
    }
  });

  test('fifty concurrent reviews share one connection: one TLS handshake, fifty patches', async () => {
    const metricsText = async (): Promise<string> => (await webhook.call('/metrics', { method: 'GET' })).body;
    const established = 'wutong_backup_tls_connections_established_total{protocol="h2"}';
    const before = sample(await metricsText(), established);
    const session = await h2Connect(webhook.server.port, webhook.ca);
    try {
      const replies = await Promise.all(Array.from({ length: 50 }, () => h2Request(session, '/mutate', { body: mysqlReview() })));
      expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
      expect(new Set(replies.map((r) => parse(r.body).response.patchType))).toEqual(new Set(['JSONPatch']));
    } finally {
      session.close();
    }
    expect(sample(await metricsText(), established)).toBe(before + 1);
  });
});
