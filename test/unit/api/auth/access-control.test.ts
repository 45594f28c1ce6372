import type { PeerCertificate } from 'node:tls';
import { pino } from 'pino';
import { accessControl, isAuthFailure, type AccessControlOptions } from '../../../../src/api/auth/access-control.js';
import type { AccessRequest } from '../../../../src/api/auth/access-request.js';
import type { AuthReviews, TokenReviewResult } from '../../../../src/api/auth/auth-reviews.js';
import type { Identity } from '../../../../src/api/auth/identity.js';

// The access-control core against an in-memory stand-in for the API server's
// two reviews (the port), so outages, timing and counts are the test's to
// decide. The real API server's reviews, through src/kube/auth-reviews.ts,
// are in test/e2e/auth-reviews.test.ts.

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.console-token.sig';
const CONSOLE: Identity = { username: 'system:serviceaccount:wt-system:console', uid: 'u-1', groups: ['system:serviceaccounts', 'system:authenticated'], via: 'token' };
const GET_RECORDS: AccessRequest = { namespace: 'tenant-a', verb: 'get', resource: 'componentbackups', shownAs: 'in tenant env acme/prod' };

/** Plays TokenReview and SubjectAccessReview: knows some tokens and some grants; can be made unreachable. */
class ReviewsStandIn implements AuthReviews {
  tokenReviews: string[] = [];
  accessReviews: Array<{ identity: Identity; request: AccessRequest }> = [];
  reachable = true;
  /** Resolve reviews only when released (to hold many requests in flight together). */
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  constructor(
    readonly tokens: Record<string, Identity>,
    readonly grants: Array<(identity: Identity, request: AccessRequest) => boolean>,
  ) {}
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }
  async reviewToken(token: string): Promise<TokenReviewResult> {
    this.tokenReviews.push(token);
    await this.gate;
    if (!this.reachable) throw new Error('POST /apis/authentication.k8s.io/v1/tokenreviews: no answer from the API server within 5000 ms');
    const identity = this.tokens[token];
    return identity ? { authenticated: true, identity } : { authenticated: false, reason: '[invalid bearer token]' };
  }
  async reviewAccess(identity: Identity, request: AccessRequest): Promise<{ allowed: boolean; reason: string }> {
    this.accessReviews.push({ identity, request });
    await this.gate;
    if (!this.reachable) throw new Error('POST /apis/authorization.k8s.io/v1/subjectaccessreviews: no answer from the API server within 5000 ms');
    const allowed = this.grants.some((grant) => grant(identity, request));
    return { allowed, reason: allowed ? 'RBAC: allowed by RoleBinding "console-backups/tenant-a"' : '' };
  }
}

function setUp(options: AccessControlOptions = {}) {
  const reviews = new ReviewsStandIn({ [TOKEN]: CONSOLE }, [(i, r) => i.username === CONSOLE.username && r.namespace === 'tenant-a']);
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  let t = 5_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  return { reviews, lines, clock, access: accessControl(reviews, { now: clock.now, log, ...options }) };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, clientCertificate: undefined });

describe('authenticate', () => {
  test('a valid bearer token is the identity its TokenReview names', async () => {
    const { access } = setUp();
    await expect(access.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
  });

  test.each([
    [undefined, /^missing Authorization header/],
    ['Basic dXNlcjpwYXNz', /scheme "Basic" is not Bearer/],
    ['Bearer ', /the bearer token is empty/],
  ])('Authorization %j is a 401 without asking the API server', async (authorization, message) => {
    const { access, reviews } = setUp();
    const result = await access.authenticate({ authorization, clientCertificate: undefined });
    expect(result).toEqual({ status: 401, message: expect.stringMatching(message) as unknown });
    expect(reviews.tokenReviews).toEqual([]);
  });

  test('a token the TokenReview does not authenticate is a 401 with its reason', async () => {
    const { access } = setUp();
    await expect(access.authenticate(bearer('garbage'))).resolves.toEqual({ status: 401, message: 'the bearer token is not valid: [invalid bearer token]' });
  });

  test('an unreachable API server is a 503, never a 401, and the outage is not remembered', async () => {
    const { access, reviews } = setUp();
    reviews.reachable = false;
    const failure = await access.authenticate(bearer(TOKEN));
    expect(failure).toEqual({ status: 503, message: expect.stringMatching(/^cannot check the bearer token now: .*no answer from the API server within 5000 ms/) as unknown });
    reviews.reachable = true;
    await expect(access.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    expect(reviews.tokenReviews).toHaveLength(2);
  });

  test('50 concurrent requests with one token make one TokenReview', async () => {
    const { access, reviews } = setUp();
    reviews.hold();
    const all = Promise.all(Array.from({ length: 50 }, () => access.authenticate(bearer(TOKEN))));
    await new Promise((resolve) => setImmediate(resolve));
    reviews.release();
    expect(await all).toEqual(Array(50).fill(CONSOLE));
    expect(reviews.tokenReviews).toHaveLength(1);
  });

  test('verdicts, valid or not, are reused for the TTL and asked again after it', async () => {
    const { access, reviews, clock } = setUp({ cacheTtlMs: 10_000 });
    await access.authenticate(bearer(TOKEN));
    await access.authenticate(bearer('garbage'));
    clock.advance(9_000);
    await expect(access.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    await expect(access.authenticate(bearer('garbage'))).resolves.toMatchObject({ status: 401 });
    expect(reviews.tokenReviews).toEqual([TOKEN, 'garbage']);
    clock.advance(1_000);
    await access.authenticate(bearer(TOKEN));
    await access.authenticate(bearer('garbage'));
    expect(reviews.tokenReviews).toEqual([TOKEN, 'garbage', TOKEN, 'garbage']);
  });

  test('the token cache is bounded: past maxEntries the least recently used token is asked again', async () => {
    const { access, reviews } = setUp({ maxEntries: 2 });
    for (const token of [TOKEN, 'b', 'c', TOKEN]) await access.authenticate(bearer(token));
    expect(reviews.tokenReviews).toEqual([TOKEN, 'b', 'c', TOKEN]);
  });

  test('a verified client certificate is its CN and O, with no TokenReview; a bearer token alongside it is not used', async () => {
    const { access, reviews } = setUp();
    const cert = { subject: { CN: 'wutong-console', O: ['wutong:consoles', 'tenant-a-admins'] } } as unknown as PeerCertificate;
    await expect(access.authenticate({ authorization: 'Bearer garbage', clientCertificate: cert })).resolves.toEqual({
      username: 'wutong-console',
      groups: ['wutong:consoles', 'tenant-a-admins'],
      via: 'client-certificate',
    });
    expect(reviews.tokenReviews).toEqual([]);
  });

  test('a certificate without a CN names nobody: 401 on its own, the bearer token when there is one', async () => {
    const { access } = setUp();
    const cert = { subject: { O: 'wutong:consoles' } } as unknown as PeerCertificate;
    await expect(access.authenticate({ authorization: undefined, clientCertificate: cert })).resolves.toEqual({ status: 401, message: 'the client certificate has no Common Name (CN), so it names no user' });
    await expect(access.authenticate({ authorization: `Bearer ${TOKEN}`, clientCertificate: cert })).resolves.toEqual(CONSOLE);
  });

  test('no token ever reaches the log; the username and decision do, at debug', async () => {
    const { access, lines, reviews } = setUp();
    await access.authenticate(bearer(TOKEN));
    await access.authenticate(bearer('garbage-token-value'));
    reviews.reachable = false;
    await access.authenticate(bearer('another-token-value'));
    const text = lines.join('');
    for (const token of [TOKEN, 'garbage-token-value', 'another-token-value']) expect(text).not.toContain(token);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 20, decision: 'authenticated', username: CONSOLE.username }),
        expect.objectContaining({ level: 20, decision: 'unauthenticated' }),
        expect.objectContaining({ level: 40, msg: 'TokenReview failed: answering 503' }),
      ]),
    );
  });
});

describe('authorize', () => {
  test('allowed by the SubjectAccessReview: undefined, after asking with the identity and the request', async () => {
    const { access, reviews } = setUp();
    await expect(access.authorize(CONSOLE, GET_RECORDS)).resolves.toBeUndefined();
    expect(reviews.accessReviews).toEqual([{ identity: CONSOLE, request: GET_RECORDS }]);
  });

  test('denied: 403 naming the user, verb, resource, name and what the route called it, never the namespace', async () => {
    const { access } = setUp();
    const answer = await access.authorize(CONSOLE, { namespace: 'tenant-b', verb: 'delete', resource: 'componentbackups', name: 'gr0a1b2c', shownAs: 'in tenant env beta/test' });
    expect(answer).toEqual({
      status: 403,
      message: 'system:serviceaccount:wt-system:console may not delete componentbackups.backup.wutong.io "gr0a1b2c" in tenant env beta/test',
    });
    expect(answer?.message).not.toContain('tenant-b');
  });

  test('a subresource is asked for and named as resource/subresource, and its verdict is cached apart from the resource\'s', async () => {
    const { access, reviews } = setUp();
    const download: AccessRequest = { ...GET_RECORDS, namespace: 'tenant-b', subresource: 'download', name: 'gr0a1b2c' };
    await expect(access.authorize(CONSOLE, download)).resolves.toEqual({
      status: 403,
      message: 'system:serviceaccount:wt-system:console may not get componentbackups/download.backup.wutong.io "gr0a1b2c" in tenant env acme/prod',
    });
    await access.authorize(CONSOLE, { ...download, subresource: undefined });
    await access.authorize(CONSOLE, download);
    expect(reviews.accessReviews.map((r) => r.request.subresource)).toEqual(['download', undefined]);
  });

  test('an unreachable API server is a 503, not a 403', async () => {
    const { access, reviews } = setUp();
    reviews.reachable = false;
    await expect(access.authorize(CONSOLE, GET_RECORDS)).resolves.toEqual({ status: 503, message: expect.stringMatching(/^cannot check access now: .*subjectaccessreviews: no answer/) as unknown });
    reviews.reachable = true;
    await expect(access.authorize(CONSOLE, GET_RECORDS)).resolves.toBeUndefined();
  });

  test('verdicts are cached per identity and request, allowed and denied alike, for the TTL', async () => {
    const { access, reviews, clock } = setUp();
    const denied: AccessRequest = { ...GET_RECORDS, namespace: 'tenant-b' };
    for (let i = 0; i < 3; i++) {
      await access.authorize(CONSOLE, GET_RECORDS);
      await access.authorize(CONSOLE, denied);
      await access.authorize({ ...CONSOLE, groups: [...CONSOLE.groups, 'extra-group'] }, GET_RECORDS);
      await access.authorize(CONSOLE, { ...GET_RECORDS, verb: 'create' });
    }
    expect(reviews.accessReviews).toHaveLength(4);
    clock.advance(10_000);
    await access.authorize(CONSOLE, denied);
    expect(reviews.accessReviews).toHaveLength(5);
  });

  test('50 concurrent identical checks make one SubjectAccessReview', async () => {
    const { access, reviews } = setUp();
    reviews.hold();
    const all = Promise.all(Array.from({ length: 50 }, () => access.authorize(CONSOLE, GET_RECORDS)));
    await new Promise((resolve) => setImmediate(resolve));
    reviews.release();
    expect(await all).toEqual(Array(50).fill(undefined));
    expect(reviews.accessReviews).toHaveLength(1);
  });
});

test('isAuthFailure tells a failure from an identity', () => {
  expect(isAuthFailure({ status: 401, message: 'x' })).toBe(true);
  expect(isAuthFailure({ status: 503, message: 'x' })).toBe(true);
  expect(isAuthFailure(CONSOLE)).toBe(false);
  expect(isAuthFailure({ status: 500, message: 'x' })).toBe(false);
  expect(isAuthFailure(undefined)).toBe(false);
});
