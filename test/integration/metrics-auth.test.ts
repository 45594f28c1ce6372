import { pino } from 'pino';
import { accessControl } from '../../src/api/auth/access-control.js';
import { metricsAccessOptions } from '../../src/api/auth/access-settings.js';
import { configFromEnv } from '../../src/config.js';
import { kubeAuthReviews } from '../../src/kube/auth-reviews.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { metricsAccess } from '../../src/server/metrics-access.js';
import { loadFixturePolicy } from '../fixtures/pod-cases.js';
import { reviewsStandIn, type ReviewsStandIn } from './api/reviews-stand-in.js';
import { h2Connect, h2Request } from './http2-client.js';
import { startWebhook, type Webhook } from './https-harness.js';

// /metrics on the webhook's port as it runs in a cluster (METRICS_AUTH,
// default true): the scraper's bearer token through a TokenReview, then a
// SubjectAccessReview of GET /metrics, against a stand-in for kube-apiserver's
// review endpoints whose RBAC lets only Prometheus's ServiceAccount in (the
// ClusterRole wutong-backup-metrics-reader of manifests/overlays/monitoring).

const PROMETHEUS = 'system:serviceaccount:monitoring:prometheus-k8s';
let reviews: ReviewsStandIn;
let webhook: Webhook;

beforeAll(async () => {
  reviews = reviewsStandIn(
    { 'prometheus-token': { username: PROMETHEUS }, 'console-token': { username: 'system:serviceaccount:wt-system:wutong-console' } },
    (spec) => spec.user === PROMETHEUS && JSON.stringify(spec.nonResourceAttributes) === JSON.stringify({ path: '/metrics', verb: 'get' }),
  );
  const access = accessControl(kubeAuthReviews(reviews.http), { ...metricsAccessOptions(configFromEnv({})), log: pino({ level: 'silent' }), cacheTtlMs: 0 });
  webhook = await startWebhook(new PolicyStore(loadFixturePolicy()), undefined, undefined, { metricsAccess: metricsAccess(access) });
}, 30_000);
afterAll(async () => {
  await webhook.stop();
});
beforeEach(() => {
  reviews.reachable = true;
});

const scrape = (token?: string) => webhook.call('/metrics', { method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {} });

test("Prometheus's token, allowed by RBAC to get /metrics, gets the metrics; the SubjectAccessReview asked about the non-resource path", async () => {
  const reply = await scrape('prometheus-token');
  expect(reply.status).toBe(200);
  expect(reply.body).toMatch(/^# HELP wutong_backup_/m);
  expect(reviews.accessReviews.at(-1)).toEqual({ user: PROMETHEUS, groups: ['system:authenticated'], nonResourceAttributes: { path: '/metrics', verb: 'get' } });
});

test('no token, or one the API server does not know: 401 naming the Bearer scheme, and no metrics', async () => {
  for (const token of [undefined, 'garbage']) {
    const reply = await scrape(token);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="wutong-backup"');
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    expect(reply.body).not.toContain('wutong_backup_');
  }
});

test('a valid token RBAC does not allow: 403 naming the user and the path', async () => {
  const reply = await scrape('console-token');
  expect(reply.status).toBe(403);
  expect(reply.body).toBe('system:serviceaccount:wt-system:wutong-console may not get /metrics\n');
});

test('the API server cannot be asked: 503, never a 401', async () => {
  reviews.reachable = false;
  const reply = await scrape('prometheus-token');
  expect(reply.status).toBe(503);
  expect(reply.body).toMatch(/^cannot check the bearer token now: .*no answer from the API server/);
});

test('over HTTP/2 the same; /healthz and /readyz stay open for the kubelet', async () => {
  const session = await h2Connect(webhook.server.port, webhook.ca);
  try {
    expect((await h2Request(session, '/metrics', { method: 'GET' })).status).toBe(401);
    expect((await h2Request(session, '/metrics', { method: 'GET', headers: { authorization: 'Bearer prometheus-token' } })).status).toBe(200);
    expect((await h2Request(session, '/healthz', { method: 'GET' })).status).toBe(200);
  } finally {
    session.close();
  }
  expect((await webhook.call('/healthz', { method: 'GET' })).status).toBe(200);
  expect((await webhook.call('/readyz', { method: 'GET' })).status).toBe(200);
});
