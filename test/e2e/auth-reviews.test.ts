import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { accessControl, isAuthFailure } from '../../src/api/auth/access-control.js';
import type { AccessRequest } from '../../src/api/auth/access-request.js';
import type { Identity } from '../../src/api/auth/identity.js';
import { kubeAuthReviews } from '../../src/kube/auth-reviews.js';
import { kubeHttp, type KubeHttp } from '../../src/kube/kube-http.js';
import { startSilentEndpoint } from '../integration/kube/silent-endpoint.js';
import { apiRequest, kubeconfig, waitForServiceAccountToken } from './cluster/cluster.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { eventually } from './support/wait.js';
import { makeClientCertificates, startClientCaServer } from '../unit/api/auth/client-certificates.js';

// The reviews against the real API server (v1.20.2, RBAC), asked by a
// ServiceAccount that holds only system:auth-delegator, about real
// ServiceAccount tokens: one granted the example console ClusterRole through
// a RoleBinding (manifests/examples/console-access.yaml, as shipped), one not.
jest.setTimeout(90_000);

const EXAMPLE = new URL('../../manifests/examples/console-access.yaml', import.meta.url);
const silentLog = pino({ level: 'silent' });

let core: CoreV1Api;
let namespace: string;
/** Cluster-scoped names, unique to this run (the example's own name may be in use by another suite). */
let clusterRoleName: string;
let delegatorBindingName: string;
let consoleToken: string;
let strangerToken: string;
let consoleUid: string;
/** Every request the reviewer made, by path. */
const requests: string[] = [];
let reviewerHttp: KubeHttp;

const admin = () => clusterInfo();

/** The fields of the example's two objects this test rebinds. */
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef: { name: string };
  subjects?: unknown[];
}

async function create(path: string, body: unknown): Promise<void> {
  const res = await apiRequest(admin(), 'POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
}

/** A KubeHttp for one ServiceAccount token, that records the paths it sends to. */
function httpFor(token: string, record?: string[]): KubeHttp {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig(admin().server, admin().caPem, token));
  const http = kubeHttp(kc);
  if (!record) return http;
  return {
    ...http,
    send: (method, path, body, timeoutMs, query) => {
      record.push(path);
      return http.send(method, path, body, timeoutMs, query);
    },
  };
}

beforeAll(async () => {
  ({ core } = clients());
  namespace = await createNamespace(core, 'auth');
  clusterRoleName = `wutong-backup-console-${namespace}`;
  delegatorBindingName = `wutong-backup-auth-delegator-${namespace}`;

  // The example exactly as shipped, but for the names that bind it to this namespace.
  const [clusterRole, roleBinding] = parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS() as RbacObject);
  if (clusterRole?.kind !== 'ClusterRole' || roleBinding?.kind !== 'RoleBinding') throw new Error('the example is not a ClusterRole then a RoleBinding');
  clusterRole.metadata.name = clusterRoleName;
  roleBinding.metadata.namespace = namespace;
  roleBinding.roleRef.name = clusterRoleName;
  roleBinding.subjects = [{ kind: 'ServiceAccount', name: 'console', namespace }];

  for (const name of ['reviewer', 'console', 'stranger']) await create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', clusterRole);
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, roleBinding);
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: delegatorBindingName },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'reviewer', namespace }],
  });
  const [reviewerToken, c, s] = await Promise.all(['reviewer', 'console', 'stranger'].map((name) => waitForServiceAccountToken(admin(), namespace, name)));
  consoleToken = c ?? '';
  strangerToken = s ?? '';
  consoleUid = (await core.readNamespacedServiceAccount({ namespace, name: 'console' })).metadata?.uid ?? '';
  reviewerHttp = httpFor(reviewerToken ?? '', requests);
  // RBAC reaches the authorizer through an informer: wait until the reviewer may review.
  await eventually(async () => (await kubeAuthReviews(reviewerHttp).reviewToken(consoleToken)).authenticated || undefined, 'the reviewer to be allowed TokenReviews');
});

afterAll(async () => {
  await apiRequest(admin(), 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${delegatorBindingName}`).catch(() => undefined);
  await apiRequest(admin(), 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${clusterRoleName}`).catch(() => undefined);
  await deleteNamespace(core, namespace);
});

const request = (overrides: Partial<AccessRequest> = {}): AccessRequest => ({ namespace, verb: 'create', resource: 'componentbackups', shownAs: 'in tenant env e2e/auth', ...overrides });

test('a ServiceAccount token is the ServiceAccount, with its uid and groups, by TokenReview', async () => {
  const result = await kubeAuthReviews(reviewerHttp).reviewToken(consoleToken);
  expect(result).toEqual({
    authenticated: true,
    identity: {
      username: `system:serviceaccount:${namespace}:console`,
      uid: consoleUid,
      groups: expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated']) as unknown,
      via: 'token',
    },
  });
});

test('the example ClusterRole, bound by RoleBinding, allows every verb on both resources in that namespace only', async () => {
  const reviews = kubeAuthReviews(reviewerHttp);
  const identity = await identityOf(consoleToken);
  for (const resource of ['componentbackups', 'componentrestores'] as const) {
    for (const verb of ['create', 'get', 'update', 'delete'] as const) {
      const verdict = await reviews.reviewAccess(identity, request({ verb, resource, name: verb === 'create' ? undefined : 'some-backup' }));
      expect({ resource, verb, ...verdict }).toEqual({ resource, verb, allowed: true, reason: expect.stringContaining(`RoleBinding "wutong-backup-console/${namespace}"`) as unknown });
    }
  }
  await expect(reviews.reviewAccess(identity, request({ namespace: 'kube-system' }))).resolves.toMatchObject({ allowed: false });
  await expect(reviews.reviewAccess(identity, request({ verb: 'list' as AccessRequest['verb'] }))).resolves.toMatchObject({ allowed: false });
});

test('through access control: allowed → identity and no failure; unbound → 403; garbage token → 401', async () => {
  const access = accessControl(kubeAuthReviews(reviewerHttp), { log: silentLog });
  const consoleIdentity = await access.authenticate({ authorization: `Bearer ${consoleToken}`, clientCertificate: undefined });
  if (isAuthFailure(consoleIdentity)) throw new Error(consoleIdentity.message);
  await expect(access.authorize(consoleIdentity, request())).resolves.toBeUndefined();

  const stranger = await access.authenticate({ authorization: `Bearer ${strangerToken}`, clientCertificate: undefined });
  if (isAuthFailure(stranger)) throw new Error(stranger.message);
  expect(stranger.username).toBe(`system:serviceaccount:${namespace}:stranger`);
  await expect(access.authorize(stranger, request({ verb: 'delete', name: 'x-backup' }))).resolves.toEqual({
    status: 403,
    message: `system:serviceaccount:${namespace}:stranger may not delete componentbackups.backup.wutong.io "x-backup" in tenant env e2e/auth`,
  });

  await expect(access.authenticate({ authorization: 'Bearer not-a-token', clientCertificate: undefined })).resolves.toEqual({
    status: 401,
    message: expect.stringMatching(/^the bearer token is not valid: /) as unknown,
  });
  // A token signed by the cluster, one character changed: still only a 401.
  const tampered = consoleToken.slice(0, -2) + (consoleToken.endsWith('AA') ? 'BB' : 'AA');
  await expect(access.authenticate({ authorization: `Bearer ${tampered}`, clientCertificate: undefined })).resolves.toMatchObject({ status: 401 });
});

test('a client certificate from API_CLIENT_CA goes through the same SubjectAccessReview (its O as an RBAC Group); one from another CA is no identity', async () => {
  const certs = makeClientCertificates();
  const tls = await startClientCaServer(certs);
  try {
    const access = accessControl(kubeAuthReviews(reviewerHttp), { log: silentLog });
    await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: 'certificate-consoles' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
      // The certificate's O, with the default API_CLIENT_CERT_GROUP_PREFIX.
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'wutong-backup-client:wutong:consoles' }],
    });
    const consoleCert = (await tls.connectAs('console')).cert;
    const member = await access.authenticate({ authorization: undefined, clientCertificate: consoleCert });
    expect(member).toEqual({ username: 'wutong-backup-client:wutong-console', groups: ['wutong-backup-client:wutong:consoles', 'wutong-backup-client:tenant-a-admins'], via: 'client-certificate' });
    if (isAuthFailure(member)) throw new Error(member.message);
    await eventually(async () => ((await kubeAuthReviews(reviewerHttp).reviewAccess(member, request())).allowed ? true : undefined), 'the group binding to be in force');
    await expect(access.authorize(member, request({ verb: 'get' }))).resolves.toBeUndefined();
    await expect(access.authorize(member, request({ verb: 'get', namespace: 'kube-system' }))).resolves.toMatchObject({ status: 403 });

    // CN admin, O system:masters, signed by a CA the server does not trust: nobody.
    const strangerCert = (await tls.connectAs('stranger')).cert;
    expect(strangerCert).toBeUndefined();
    await expect(access.authenticate({ authorization: undefined, clientCertificate: strangerCert })).resolves.toMatchObject({ status: 401 });
  } finally {
    await tls.close();
    certs.remove();
  }
});

test('50 concurrent requests with one token: one TokenReview and one SubjectAccessReview', async () => {
  const counted: string[] = [];
  const access = accessControl(kubeAuthReviews(httpFor(await reviewerToken(), counted)), { log: silentLog });
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const identity = await access.authenticate({ authorization: `Bearer ${consoleToken}`, clientCertificate: undefined });
      if (isAuthFailure(identity)) return identity;
      return (await access.authorize(identity, request({ verb: 'get' }))) ?? 'allowed';
    }),
  );
  expect(outcomes).toEqual(Array(50).fill('allowed'));
  expect(counted).toEqual(['/apis/authentication.k8s.io/v1/tokenreviews', '/apis/authorization.k8s.io/v1/subjectaccessreviews']);
});

test('a removed RoleBinding stops working once the cached grant expires (injected clock)', async () => {
  let now = 1_000_000;
  const access = accessControl(kubeAuthReviews(reviewerHttp), { log: silentLog, now: () => now, cacheTtlMs: 10_000 });
  const bindingName = 'revocable';
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    metadata: { name: bindingName },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
    subjects: [{ kind: 'ServiceAccount', name: 'stranger', namespace }],
  });
  const stranger = await identityOf(strangerToken);
  await eventually(async () => ((await kubeAuthReviews(reviewerHttp).reviewAccess(stranger, request({ resource: 'componentrestores' }))).allowed ? true : undefined), 'the binding to be in force');
  await expect(access.authorize(stranger, request({ resource: 'componentrestores' }))).resolves.toBeUndefined();

  const deleted = await apiRequest(admin(), 'DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/${bindingName}`);
  expect(deleted.status).toBe(200);
  await eventually(async () => (!(await kubeAuthReviews(reviewerHttp).reviewAccess(stranger, request({ resource: 'componentrestores' }))).allowed ? true : undefined), 'the removal to be in force');
  // Within the TTL the grant is still the cached one...
  now += 9_999;
  await expect(access.authorize(stranger, request({ resource: 'componentrestores' }))).resolves.toBeUndefined();
  // ...and after it the API server's current answer.
  now += 1;
  await expect(access.authorize(stranger, request({ resource: 'componentrestores' }))).resolves.toMatchObject({ status: 403 });
});

test('a reviewer without system:auth-delegator: 503 saying what it lacks, never a 401 about the caller', async () => {
  const access = accessControl(kubeAuthReviews(httpFor(strangerToken)), { log: silentLog });
  await expect(access.authenticate({ authorization: `Bearer ${consoleToken}`, clientCertificate: undefined })).resolves.toEqual({
    status: 503,
    message: expect.stringMatching(/^cannot check the bearer token now: TokenReview: the API server answered HTTP 403: .*needs create on tokenreviews and subjectaccessreviews/) as unknown,
  });
});

test('an API server that never answers: 503 within the review timeout, for both reviews', async () => {
  const silent = await startSilentEndpoint();
  try {
    const access = accessControl(kubeAuthReviews(kubeHttp(silent.kubeConfig()), 1_000), { log: silentLog });
    const started = Date.now();
    const failure = await access.authenticate({ authorization: `Bearer ${consoleToken}`, clientCertificate: undefined });
    const tookMs = Date.now() - started;
    expect(failure).toEqual({ status: 503, message: expect.stringMatching(/no answer from the API server within 1000 ms/) as unknown });
    // Generous bound on a loaded machine; the point is that it ends near the timeout, not never.
    expect(tookMs).toBeLessThan(5_000);
    const identity: Identity = { username: 'wutong-console', groups: [], via: 'client-certificate' };
    await expect(access.authorize(identity, request())).resolves.toEqual({ status: 503, message: expect.stringMatching(/no answer from the API server within 1000 ms/) as unknown });
    expect(silent.accepted()).toBeGreaterThanOrEqual(2);
  } finally {
    await silent.close();
  }
});

async function identityOf(token: string): Promise<Identity> {
  const result = await kubeAuthReviews(reviewerHttp).reviewToken(token);
  if (!result.authenticated) throw new Error(`token not authenticated: ${result.reason}`);
  return result.identity;
}

async function reviewerToken(): Promise<string> {
  return waitForServiceAccountToken(admin(), namespace, 'reviewer');
}
