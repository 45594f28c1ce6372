import type { KubeHttp, KubeMethod, KubeResponse } from '../../../../src/kube/kube-http.js';
import { kubeAuthReviews } from '../../../../src/kube/auth-reviews.js';

// What the adapter makes of answers the real API server in the e2e test never
// gives (errors, nonsense): an outage (a rejection, so a 503), never a
// verdict about the caller. The real reviews: test/e2e/auth-reviews.test.ts.

/** Plays the API server's review endpoints with one canned answer, recording what was sent. */
function answering(response: KubeResponse): { http: KubeHttp; sent: Array<{ method: KubeMethod; path: string; body: unknown; timeoutMs: number }> } {
  const sent: Array<{ method: KubeMethod; path: string; body: unknown; timeoutMs: number }> = [];
  const http: KubeHttp = {
    send: (method, path, body, timeoutMs) => {
      sent.push({ method, path, body, timeoutMs });
      return Promise.resolve(response);
    },
    getJson: () => Promise.reject(new Error('not used')),
    stream: () => Promise.reject(new Error('not used')),
  };
  return { http, sent };
}

const IDENTITY = { username: 'alice', uid: 'u1', groups: ['g1'], extra: { scopes: ['a'] }, via: 'token' as const };

test('every review is one POST bounded by the timeout; the token travels only in the TokenReview body', async () => {
  const { http, sent } = answering({ status: 201, body: { status: { authenticated: true, user: { username: 'alice', uid: 'u1', groups: ['g1'], extra: { scopes: ['a'] } } } } });
  await expect(kubeAuthReviews(http, 1_234).reviewToken('tkn')).resolves.toEqual({ authenticated: true, identity: IDENTITY });
  expect(sent).toEqual([{ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'tkn' } }, timeoutMs: 1_234 }]);
});

test('the SubjectAccessReview carries the whole identity and the request, in group backup.wutong.io', async () => {
  const { http, sent } = answering({ status: 201, body: { status: { allowed: false, evaluationError: 'role "x" not found' } } });
  await expect(kubeAuthReviews(http).reviewAccess(IDENTITY, { namespace: 'ns', verb: 'delete', resource: 'componentrestores', name: 'r1', shownAs: 'in tenant env t/e' })).resolves.toEqual({ allowed: false, reason: 'role "x" not found' });
  expect(sent[0]?.body).toEqual({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: 'alice', uid: 'u1', groups: ['g1'], extra: { scopes: ['a'] }, resourceAttributes: { namespace: 'ns', verb: 'delete', group: 'backup.wutong.io', resource: 'componentrestores', name: 'r1' } },
  });
  expect(sent[0]?.timeoutMs).toBe(5_000);
});

test('with audiences the TokenReview carries spec.audiences, and the result the audiences status confirms', async () => {
  const { http, sent } = answering({ status: 201, body: { status: { authenticated: true, user: { username: 'alice', groups: ['g1'] }, audiences: ['wutong-backup'] } } });
  await expect(kubeAuthReviews(http).reviewToken('tkn', ['wutong-backup', 'other'])).resolves.toEqual({
    authenticated: true,
    identity: { username: 'alice', groups: ['g1'], via: 'token' },
    audiences: ['wutong-backup'],
  });
  expect(sent[0]?.body).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'tkn', audiences: ['wutong-backup', 'other'] } });
});

test('with audiences, an answer without status.audiences confirms none (access control then refuses the token)', async () => {
  const { http } = answering({ status: 201, body: { status: { authenticated: true, user: { username: 'alice' } } } });
  await expect(kubeAuthReviews(http).reviewToken('tkn', ['wutong-backup'])).resolves.toMatchObject({ authenticated: true, audiences: [] });
});

test('kube-apiserver refusing a token for its audience is a verdict (not authenticated, its error as the reason)', async () => {
  const error = '[invalid bearer token, token audiences ["https://kubernetes.default.svc"] is invalid for the target audiences ["wutong-backup"]]';
  const { http } = answering({ status: 201, body: { status: { authenticated: false, error } } });
  await expect(kubeAuthReviews(http).reviewToken('tkn', ['wutong-backup'])).resolves.toEqual({ authenticated: false, reason: error });
});

test('a non-resource question is asked as nonResourceAttributes', async () => {
  const { http, sent } = answering({ status: 201, body: { status: { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "wutong-backup-metrics-reader"' } } });
  await expect(kubeAuthReviews(http).reviewAccess(IDENTITY, { path: '/metrics', verb: 'get' })).resolves.toEqual({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "wutong-backup-metrics-reader"' });
  expect(sent[0]?.body).toEqual({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: 'alice', uid: 'u1', groups: ['g1'], extra: { scopes: ['a'] }, nonResourceAttributes: { path: '/metrics', verb: 'get' } },
  });
});

test.each([
  ['the API server forbids the review', { status: 403, body: { kind: 'Status', message: 'tokenreviews.authentication.k8s.io is forbidden' } }, /^TokenReview: the API server answered HTTP 403: tokenreviews.authentication.k8s.io is forbidden \(this server's ServiceAccount needs create on tokenreviews and subjectaccessreviews: the shipped ClusterRole wutong-backup-api, or system:auth-delegator\)$/],
  ['an internal error', { status: 500, body: { message: 'etcdserver: request timed out' } }, /^TokenReview: the API server answered HTTP 500: etcdserver: request timed out$/],
  ['a 201 without a status', { status: 201, body: { kind: 'TokenReview' } }, /^TokenReview: the API server's answer has no status$/],
])('%s: rejects (an outage), naming what came back', async (_what, response, message) => {
  await expect(kubeAuthReviews(answering(response).http).reviewToken('tkn')).rejects.toThrow(message);
});

test('authenticated without a username is not an identity', async () => {
  const { http } = answering({ status: 201, body: { status: { authenticated: true, user: {} } } });
  await expect(kubeAuthReviews(http).reviewToken('tkn')).resolves.toEqual({ authenticated: false, reason: 'the API server does not recognise it' });
});

test('a subresource is sent as resourceAttributes.subresource; a cluster-wide question has an empty namespace', async () => {
  const { http, sent } = answering({ status: 201, body: { status: { allowed: true } } });
  await expect(kubeAuthReviews(http).reviewAccess(IDENTITY, { namespace: '', verb: 'get', resource: 'componentbackups', subresource: 'download', name: 'gr0a1b2c', shownAs: 'in tenant env t/e' })).resolves.toEqual({ allowed: true, reason: '' });
  expect((sent[0]?.body as { spec: { resourceAttributes: unknown } }).spec.resourceAttributes).toEqual({ namespace: '', verb: 'get', group: 'backup.wutong.io', resource: 'componentbackups', subresource: 'download', name: 'gr0a1b2c' });
});
