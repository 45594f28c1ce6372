import { jest } from '@jest/globals';
import type { ClientRequest } from 'node:http';
import { constants } from 'node:http2';
import { request } from 'node:https';
import type { AdmissionReviewResponse } from '../../src/admission/admission-review.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { BodyBudget } from '../../src/server/body-budget.js';
import { loadFixturePolicy, loadPodCase } from '../fixtures/pod-cases.js';
import { h2Connect, h2Request } from './http2-client.js';
import { sample, startWebhook, type Webhook } from './https-harness.js';

// ADMISSION_BODY_READ_TIMEOUT against slow clients: headers, then a byte a
// second. Without the deadline such a client holds its share of the body
// budget (and a connection) for as long as it keeps dribbling.

jest.setTimeout(30_000);

const MiB = 1024 * 1024;
const BUDGET = 7 * MiB;
const DEADLINE_MS = 1_500;
let webhook: Webhook;

beforeAll(async () => {
  webhook = await startWebhook(new PolicyStore(loadFixturePolicy()), undefined, new BodyBudget(BUDGET), { bodyReadTimeoutMs: DEADLINE_MS });
}, 30_000);
afterAll(async () => {
  await webhook.stop();
});

function reviewOfSize(bytes: number): Buffer {
  const review = loadPodCase('mysql-statefulset').input;
  const metadata = review.request.object.metadata ?? {};
  metadata.annotations = { ...metadata.annotations, 'wutong.io/large': '' };
  review.request.object.metadata = metadata;
  metadata.annotations['wutong.io/large'] = 'x'.repeat(bytes - JSON.stringify(review).length);
  return Buffer.from(JSON.stringify(review));
}

async function metric(series: string): Promise<number> {
  return sample((await webhook.call('/metrics', { method: 'GET' })).body, series);
}
const inFlight = (): Promise<number> => metric('wutong_backup_admission_body_bytes_in_flight');
const timedOut = 'wutong_backup_admission_requests_total{outcome="body_timeout"}';

async function serverHolds(bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await inFlight()) !== bytes) {
    if (Date.now() > deadline) throw new Error(`server never held ${bytes} bytes of bodies`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface SlowReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** ms from the request's start to its answer. */
  afterMs: number;
}

/** POST /mutate over HTTP/1.1 declaring `body`'s length, then sending it a byte a second, never finishing. */
function slowHttp1(body: Buffer): { req: ClientRequest; reply: Promise<SlowReply>; socketClosed: Promise<void> } {
  const started = Date.now();
  let req!: ClientRequest;
  let sent = 0;
  let closed!: () => void;
  const socketClosed = new Promise<void>((resolve) => (closed = resolve));
  const reply = new Promise<SlowReply>((resolve, reject) => {
    req = request(
      { host: '127.0.0.1', port: webhook.server.port, path: '/mutate', method: 'POST', ca: webhook.ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), afterMs: Date.now() - started }));
      },
    );
    req.on('error', (err) => (req.socket?.destroyed ? undefined : reject(err)));
    req.on('socket', (socket) => socket.once('close', () => closed()));
  });
  req.flushHeaders();
  const dripOne = (): void => {
    if (req.destroyed || sent >= body.length) return;
    req.write(body.subarray(sent, sent + 1));
    sent++;
  };
  dripOne();
  const drip = setInterval(dripOne, 1_000);
  void socketClosed.then(() => clearInterval(drip));
  return { req, reply, socketClosed };
}

test('HTTP/1.1: a body sent a byte a second is answered 408 at the deadline, its budget given back at once, and its connection closed', async () => {
  const large = reviewOfSize(3 * MiB);
  const before = await metric(timedOut);
  const slow = slowHttp1(large);
  await serverHolds(large.length);

  const answer = await slow.reply;
  expect(answer.status).toBe(408);
  expect(answer.body).toBe('request body not received within 1500ms (ADMISSION_BODY_READ_TIMEOUT); the rest of it is refused\n');
  expect(answer.headers.connection).toBe('close');
  expect(answer.afterMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
  expect(answer.afterMs).toBeLessThan(DEADLINE_MS + 1_500);
  // Given back before the answer was written.
  expect(await inFlight()).toBe(0);
  expect(await metric(timedOut)).toBe(before + 1);
  await slow.socketClosed;
});

test('slow clients cannot keep a large review out past the deadline: refused (429) while they hold the budget, admitted once it passes', async () => {
  const large = reviewOfSize(3 * MiB);
  const slow = [slowHttp1(large), slowHttp1(large)];
  await serverHolds(2 * large.length);
  expect((await webhook.call('/mutate', { body: large })).status).toBe(429);
  expect((await Promise.all(slow.map((s) => s.reply))).map((a) => a.status)).toEqual([408, 408]);
  const admitted = await webhook.call('/mutate', { body: large });
  expect(admitted.status).toBe(200);
  expect((JSON.parse(admitted.body) as AdmissionReviewResponse).response.patchType).toBe('JSONPatch');
});

test('HTTP/2: the slow stream is answered 408 and reset, its budget given back; the connection goes on serving reviews', async () => {
  const large = reviewOfSize(3 * MiB);
  const session = await h2Connect(webhook.server.port, webhook.ca);
  try {
    const started = Date.now();
    const stream = session.request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: '/mutate', 'content-type': 'application/json', 'content-length': String(large.length) });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => (status = Number(headers[constants.HTTP2_HEADER_STATUS])));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('error', () => undefined);
    let sent = 0;
    const drip = setInterval(() => {
      if (!stream.closed && !stream.destroyed) stream.write(large.subarray(sent, ++sent));
    }, 1_000);
    stream.write(large.subarray(0, ++sent));
    await serverHolds(large.length);
    const rstCode = await new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
    clearInterval(drip);
    expect(status).toBe(408);
    expect(body).toMatch(/^request body not received within 1500ms/);
    expect(rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 1_500);
    expect(await inFlight()).toBe(0);
    // Same connection, next review: served.
    const next = await h2Request(session, '/mutate', { body: reviewOfSize(15_000) });
    expect(next.status).toBe(200);
    expect(session.closed).toBe(false);
  } finally {
    session.close();
  }
});

test('a body that arrives in pieces within the deadline is reviewed as usual', async () => {
  const review = reviewOfSize(20_000);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: webhook.server.port, path: '/mutate', method: 'POST', ca: webhook.ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(review.length) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(review.subarray(0, 5_000));
    setTimeout(() => req.write(review.subarray(5_000, 10_000)), 400);
    setTimeout(() => req.end(review.subarray(10_000)), 900);
  });
  expect(answer.status).toBe(200);
  expect((JSON.parse(answer.body) as AdmissionReviewResponse).response.patchType).toBe('JSONPatch');
});
