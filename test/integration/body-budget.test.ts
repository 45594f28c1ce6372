import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import type { AdmissionReviewResponse } from '../../src/admission/admission-review.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { BodyBudget } from '../../src/server/body-budget.js';
import { loadFixturePolicy, loadPodCase } from '../fixtures/pod-cases.js';
import { sample, startWebhook, type Webhook } from './https-harness.js';

const MiB = 1024 * 1024;
// Room for two maximum-size reviews being received at once, not three.
const BUDGET = 7 * MiB;
let webhook: Webhook;

beforeAll(async () => {
  webhook = await startWebhook(new PolicyStore(loadFixturePolicy()), undefined, new BodyBudget(BUDGET));
}, 30_000);
afterAll(async () => {
  await webhook.stop();
});

/** A MySQL review padded to exactly `bytes` bytes with one large annotation. */
function reviewOfSize(bytes: number): Buffer {
  const review = loadPodCase('mysql-statefulset').input;
  const metadata = review.request.object.metadata ?? {};
  metadata.annotations = { ...metadata.annotations, 'wutong.io/large': '' };
  review.request.object.metadata = metadata;
  metadata.annotations['wutong.io/large'] = 'x'.repeat(bytes - JSON.stringify(review).length);
  return Buffer.from(JSON.stringify(review));
}

interface Pending {
  req: ClientRequest;
  reply: Promise<{ status: number; body: string; retryAfter: string | undefined }>;
}

/** Starts a review whose body the test sends later (or never): a slow client, as a large object over a busy network is. */
function startReview(declaredLength: number | undefined): Pending {
  let req!: ClientRequest;
  const reply = new Promise<{ status: number; body: string; retryAfter: string | undefined }>((resolve, reject) => {
    req = request(
      {
        host: '127.0.0.1',
        port: webhook.server.port,
        path: '/mutate',
        method: 'POST',
        ca: webhook.ca,
        agent: false,
        headers: { 'content-type': 'application/json', ...(declaredLength === undefined ? {} : { 'content-length': String(declaredLength) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter });
        });
      },
    );
    req.on('error', reject);
  });
  return { req, reply };
}

async function metric(series: string): Promise<number> {
  return sample((await webhook.call('/metrics', { method: 'GET' })).body, series);
}

/** Resolves once the server holds `bytes` of bodies (its own gauge says so). */
async function serverHolds(bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await metric('wutong_backup_admission_body_bytes_in_flight')) !== bytes) {
    if (Date.now() > deadline) throw new Error(`server never held ${bytes} bytes of bodies`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const overloaded = 'wutong_backup_admission_requests_total{outcome="overloaded"}';

test('a burst of large reviews beyond the body budget is answered 429 at once, counted, and the budget comes back', async () => {
  const large = reviewOfSize(3 * MiB);
  const before = await metric(overloaded);

  // Two maximum-size reviews are being received: their bodies are half sent.
  const held = [startReview(large.length), startReview(large.length)];
  for (const { req } of held) req.write(large.subarray(0, large.length / 2));
  await serverHolds(2 * large.length);

  // A third does not fit: refused before its body is read, so it costs no memory.
  const third = startReview(large.length);
  third.req.flushHeaders();
  const refused = await third.reply;
  third.req.destroy();
  expect(refused).toEqual({ status: 429, retryAfter: '1', body: `too many admission bodies in flight (budget ${BUDGET} bytes); try again\n` });
  expect(await metric(overloaded)).toBe(before + 1);

  // An ordinary review still fits beside them.
  const small = reviewOfSize(15_000);
  expect((await webhook.call('/mutate', { body: small })).status).toBe(200);

  // The held reviews complete normally, and their bytes return to the budget.
  for (const { req } of held) req.end(large.subarray(large.length / 2));
  const answers = await Promise.all(held.map((h) => h.reply));
  expect(answers.map((a) => [a.status, (JSON.parse(a.body) as AdmissionReviewResponse).response.patchType])).toEqual([
    [200, 'JSONPatch'],
    [200, 'JSONPatch'],
  ]);
  await serverHolds(0);
  expect((await webhook.call('/mutate', { body: large })).status).toBe(200);
});

test('a body without Content-Length is counted as it arrives and refused once it outgrows the budget', async () => {
  const large = reviewOfSize(3 * MiB);
  const held = [startReview(large.length), startReview(large.length)];
  for (const { req } of held) req.write(large.subarray(0, 1024));
  await serverHolds(2 * large.length);
  const before = await metric(overloaded);

  const chunked = startReview(undefined);
  chunked.req.write(large.subarray(0, 512 * 1024));
  chunked.req.write(large.subarray(512 * 1024, 2 * MiB));
  const refused = await chunked.reply;
  chunked.req.destroy();
  expect(refused.status).toBe(429);
  expect(await metric(overloaded)).toBe(before + 1);

  for (const { req } of held) req.end(large.subarray(1024));
  expect((await Promise.all(held.map((h) => h.reply))).map((a) => a.status)).toEqual([200, 200]);
  await serverHolds(0);
});

test('a client that gives up mid-body gives its reservation back', async () => {
  const large = reviewOfSize(3 * MiB);
  const abandoned = startReview(large.length);
  abandoned.reply.catch(() => undefined);
  abandoned.req.write(large.subarray(0, 4096));
  await serverHolds(large.length);
  abandoned.req.destroy();
  await serverHolds(0);
});
