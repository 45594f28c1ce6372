import type { PeerCertificate } from 'node:tls';
import { pino } from 'pino';
import { accessControl, authFailureCode, isAuthFailure, tokenKey, type AccessControlOptions } from '../../../../src/api/auth/access-control.js';
import type { AccessQuestion, AccessRequest } from '../../../../src/api/auth/access-request.js';
import type { AuthReviews, TokenReviewResult } from '../../../../src/api/auth/auth-reviews.js';
import type { Identity } from '../../../../src/api/auth/identity.js';

// The access-control core against an in-memory stand-in for the API server's
// two reviews (the port), so outages, timing and counts are the test's to
// decide. The real API server's reviews, through src/kube/auth-reviews.ts,
// are in test/e2e/auth-reviews.test.ts.

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.console-token.sig';
const CONSOLE: Identity = { username: 'system:serviceaccount:wt-system:console', uid: 'u-1', groups: ['system:serviceaccounts', 'system:authenticated'], via: 'token' };
const GET_RECORDS: AccessRequest = { namespace: 'tenant-a', verb: 'get', resource: 'componentbackups', shownAs: 'in tenant env acme/prod' };
const PROMETHEUS_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.prometheus-token.sig';
const PROMETHEUS: Identity = { username: 'system:serviceaccount:monitoring:prometheus-k8s', groups: ['system:serviceaccounts', 'system:authenticated'], via: 'token' };

/** Plays TokenReview and SubjectAccessReview: knows some tokens and some grants; can be made unreachable. */
class ReviewsStandIn implements AuthReviews {
  tokenReviews: string[] = [];
  /** The spec.audiences each TokenReview was asked with. */
  reviewedAudiences: Array<readonly string[] | undefined> = [];
  /** The audiences each known token was minted for (default: the API server's). */
  tokenAudiences: Record<string, string[]> = {};
  /** Play an API server that answers authenticated=false when no audience matches (kube-apiserver's JWT authenticator), instead of true with an empty intersection. */
  refuseForeignAudiences = false;
  accessReviews: Array<{ identity: Identity; request: AccessQuestion }> = [];
  reachable = true;
  /** Resolve reviews only when released (to hold many requests in flight together). */
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  constructor(
    readonly tokens: Record<string, Identity>,
    readonly grants: Array<(identity: Identity, request: AccessQuestion) => boolean>,
  ) {}
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }
  async reviewToken(token: string, audiences?: readonly string[]): Promise<TokenReviewResult> {
    this.tokenReviews.push(token);
    this.reviewedAudiences.push(audiences);
    await this.gate;
    if (!this.reachable) throw new Error('POST /apis/authentication.k8s.io/v1/tokenreviews: no answer from the API server within 5000 ms');
    const identity = this.tokens[token];
    if (!identity) return { authenticated: false, reason: '[invalid bearer token]' };
    if (!audiences || audiences.length === 0) return { authenticated: true, identity };
    const minted = this.tokenAudiences[token] ?? ['https://kubernetes.default.svc'];
    const valid = audiences.filter((a) => minted.includes(a));
    if (valid.length === 0 && this.refuseForeignAudiences) return { authenticated: false, reason: `[invalid bearer token, token audiences ${JSON.stringify(minted)} is invalid for the target audiences ${JSON.stringify(audiences)}]` };
    return { authenticated: true, identity, audiences: valid };
  }
  async reviewAccess(identity: Identity, request: AccessQuestion): Promise<{ allowed: boolean; reason: string }> {
    this.accessReviews.push({ identity, request });
    await this.gate;
    if (!this.reachable) throw new Error('POST /apis/authorization.k8s.io/v1/subjectaccessreviews: no answer from the API server within 5000 ms');
    const allowed = this.grants.some((grant) => grant(identity, request));
    return { allowed, reason: allowed ? 'RBAC: allowed by RoleBinding "console-backups/tenant-a"' : '' };
  }
}

function setUp(options: AccessControlOptions = {}) {
  const reviews = new ReviewsStandIn({ [TOKEN]: CONSOLE, [PROMETHEUS_TOKEN]: PROMETHEUS }, [
    (i, r) => i.username === CONSOLE.username && 'namespace' in r && r.namespace === 'tenant-a',
    (i, r) => i.username === PROMETHEUS.username && 'path' in r && r.path === '/metrics' && r.verb === 'get',
  ]);
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

  test('a verified client certificate is its prefixed CN and O, with no TokenReview; a bearer token alongside it is not used', async () => {
    const { access, reviews } = setUp();
    const cert = { subject: { CN: 'wutong-console', O: ['wutong:consoles', 'tenant-a-admins'] } } as unknown as PeerCertificate;
    await expect(access.authenticate({ authorization: 'Bearer garbage', clientCertificate: cert })).resolves.toEqual({
      username: 'wutong-backup-client:wutong-console',
      groups: ['wutong-backup-client:wutong:consoles', 'wutong-backup-client:tenant-a-admins'],
      via: 'client-certificate',
    });
    expect(reviews.tokenReviews).toEqual([]);
  });

  test('the certificate prefixes are the configured ones; a certificate naming a system: user is refused, system: groups are dropped and logged', async () => {
    const { access, lines } = setUp({ certificatePrefixes: { user: '', group: '' } });
    const admin = { subject: { CN: 'system:admin', O: 'system:masters' } } as unknown as PeerCertificate;
    await expect(access.authenticate({ authorization: undefined, clientCertificate: admin })).resolves.toEqual({
      status: 401,
      message: `the client certificate's Common Name would make the user "system:admin": a certificate may never name a system: user`,
    });
    // ...and, like a certificate without a CN, it leaves the bearer token to decide.
    await expect(access.authenticate({ authorization: `Bearer ${TOKEN}`, clientCertificate: admin })).resolves.toEqual(CONSOLE);
    const bot = { subject: { CN: 'ops-bot', O: ['system:masters', 'ops'] } } as unknown as PeerCertificate;
    await expect(access.authenticate({ authorization: undefined, clientCertificate: bot })).resolves.toEqual({ username: 'ops-bot', groups: ['ops'], via: 'client-certificate' });
    await access.authenticate({ authorization: undefined, clientCertificate: bot });
    const dropped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.username === 'ops-bot' && l.droppedGroups !== undefined);
    // At warn the first time, at debug after: a polling client does not fill the log.
    expect(dropped.map((l) => l.level)).toEqual([40, 20]);
    expect(dropped[0]).toMatchObject({ droppedGroups: ['system:masters'] });
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
    expect(reviews.accessReviews.map((r) => ('subresource' in r.request ? r.request.subresource : undefined))).toEqual(['download', undefined]);
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

describe('authorize a non-resource path (/metrics)', () => {
  test('asks the SubjectAccessReview about the path and verb; allowed → undefined, others → 403 naming the path', async () => {
    const { access, reviews } = setUp();
    const metrics = { path: '/metrics', verb: 'get' } as const;
    await expect(access.authorize(PROMETHEUS, metrics)).resolves.toBeUndefined();
    await expect(access.authorize(CONSOLE, metrics)).resolves.toEqual({ status: 403, message: 'system:serviceaccount:wt-system:console may not get /metrics' });
    expect(reviews.accessReviews).toEqual([
      { identity: PROMETHEUS, request: metrics },
      { identity: CONSOLE, request: metrics },
    ]);
  });

  test('its verdicts are cached apart from resource verdicts of the same identity', async () => {
    const { access, reviews } = setUp();
    for (let i = 0; i < 3; i++) {
      await access.authorize(CONSOLE, { path: '/metrics', verb: 'get' });
      await access.authorize(CONSOLE, GET_RECORDS);
    }
    expect(reviews.accessReviews.map((r) => r.request)).toEqual([{ path: '/metrics', verb: 'get' }, GET_RECORDS]);
  });
});

describe('token audiences (API_TOKEN_AUDIENCES)', () => {
  const AUDIENCE = 'https://wutong-backup-api.wutong-backup.svc';

  test('without audiences the TokenReview names none, and any token the API server accepts is accepted (the default)', async () => {
    const { access, reviews } = setUp();
    await expect(access.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    expect(reviews.reviewedAudiences).toEqual([[]]);
  });

  test('a token minted for this API is accepted; the TokenReview carried the audiences', async () => {
    const { access, reviews } = setUp({ audiences: [AUDIENCE, 'wutong-backup'] });
    reviews.tokenAudiences[TOKEN] = [AUDIENCE];
    await expect(access.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    expect(reviews.reviewedAudiences).toEqual([[AUDIENCE, 'wutong-backup'].sort()]);
  });

  test.each([
    ['answers authenticated with no audience in common', false],
    ['answers not authenticated', true],
  ])('a token minted for the API server is refused with 401 when the API server %s', async (_how, refuse) => {
    const { access, reviews } = setUp({ audiences: [AUDIENCE] });
    reviews.refuseForeignAudiences = refuse;
    const failure = await access.authenticate(bearer(TOKEN));
    expect(failure).toMatchObject({ status: 401 });
    expect(isAuthFailure(failure) && failure.message).toMatch(refuse ? /^the bearer token is not valid: \[invalid bearer token, token audiences/ : /^the bearer token is not valid for this API's audience \(https:\/\/wutong-backup-api\.wutong-backup\.svc\)/);
  });

  test('the token cache key is a hash of the token and the audiences (sorted), never the token', () => {
    expect(tokenKey(TOKEN, ['a'])).not.toBe(tokenKey(TOKEN, ['b']));
    expect(tokenKey(TOKEN, [])).not.toBe(tokenKey(TOKEN, ['a']));
    expect(tokenKey(TOKEN, ['a'])).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenKey(TOKEN, ['a'])).not.toContain('console-token');
  });

  test('each access control asks with its own audiences: a token good for one is refused by another', async () => {
    const reviews = new ReviewsStandIn({ [TOKEN]: CONSOLE }, []);
    reviews.tokenAudiences[TOKEN] = ['a'];
    const forA = accessControl(reviews, { audiences: ['a'], log: pino({ level: 'silent' }) });
    await expect(forA.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    await expect(forA.authenticate(bearer(TOKEN))).resolves.toEqual(CONSOLE);
    expect(reviews.tokenReviews).toHaveLength(1);
    const forB = accessControl(reviews, { audiences: ['b'], log: pino({ level: 'silent' }) });
    await expect(forB.authenticate(bearer(TOKEN))).resolves.toMatchObject({ status: 401 });
    expect(reviews.reviewedAudiences).toEqual([['a'], ['b']]);
  });
});

describe('failed authentications per source (AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW)', () => {
  const limited = (limit = 5) => setUp({ failureLimit: { limit, windowMs: 10_000 } });
  const from = (source: string, token: string) => ({ authorization: `Bearer ${token}`, clientCertificate: undefined, source });

  test('a flood of distinct bad tokens from one source costs at most `limit` TokenReviews, then 429 with Retry-After', async () => {
    const { access, reviews } = limited(5);
    const outcomes = [];
    for (let i = 0; i < 100; i++) outcomes.push(await access.authenticate(from('10.0.0.66', `bad-${i}`)));
    expect(reviews.tokenReviews).toHaveLength(5);
    expect(outcomes.slice(0, 5).map((o) => isAuthFailure(o) && o.status)).toEqual([401, 401, 401, 401, 401]);
    expect(outcomes[5]).toEqual({ status: 429, message: 'too many failed authentications from 10.0.0.66; try again in 10 s', retryAfterSeconds: 10 });
    expect(outcomes.slice(5).every((o) => isAuthFailure(o) && o.status === 429)).toBe(true);
  });

  test('concurrent new tokens from one source (one HTTP/2 connection) make at most `limit` TokenReviews', async () => {
    const { access, reviews } = limited(5);
    reviews.hold();
    const all = Promise.all(Array.from({ length: 50 }, (_, i) => access.authenticate(from('10.0.0.66', `bad-${i}`))));
    await new Promise((resolve) => setImmediate(resolve));
    reviews.release();
    const statuses = (await all).map((o) => (isAuthFailure(o) ? o.status : 200));
    expect(reviews.tokenReviews).toHaveLength(5);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
  });

  test('another source is unaffected, and a valid token already verified is accepted even from the refused source', async () => {
    const { access, reviews } = limited(3);
    await access.authenticate(from('10.0.0.7', TOKEN));
    for (let i = 0; i < 10; i++) await access.authenticate(from('10.0.0.7', `bad-${i}`));
    await expect(access.authenticate(from('10.0.0.7', 'bad-next'))).resolves.toMatchObject({ status: 429 });
    // The console behind the same address: its token's verdict is held, so it costs nothing.
    await expect(access.authenticate(from('10.0.0.7', TOKEN))).resolves.toEqual(CONSOLE);
    // Another address is a fresh start.
    await expect(access.authenticate(from('10.0.0.8', 'bad-elsewhere'))).resolves.toMatchObject({ status: 401 });
    await expect(access.authenticate(from('10.0.0.8', PROMETHEUS_TOKEN))).resolves.toEqual(PROMETHEUS);
    expect(reviews.tokenReviews).toEqual([TOKEN, 'bad-0', 'bad-1', 'bad-2', 'bad-elsewhere', PROMETHEUS_TOKEN]);
  });

  test('successes do not count; a missing header or a bad certificate is a failure too; the window slides', async () => {
    const { access, clock } = limited(3);
    for (let i = 0; i < 20; i++) await expect(access.authenticate(from('10.0.0.9', TOKEN))).resolves.toEqual(CONSOLE);
    await access.authenticate({ authorization: undefined, clientCertificate: undefined, source: '10.0.0.9' });
    clock.advance(4_000);
    await access.authenticate({ authorization: undefined, clientCertificate: { subject: { O: 'x' } } as unknown as PeerCertificate, source: '10.0.0.9' });
    clock.advance(4_000);
    await access.authenticate(from('10.0.0.9', 'bad'));
    await expect(access.authenticate(from('10.0.0.9', 'bad'))).resolves.toMatchObject({ status: 429, retryAfterSeconds: 2 });
    // The first failure leaves the window 10 s after it happened.
    clock.advance(2_000);
    await expect(access.authenticate(from('10.0.0.9', 'bad'))).resolves.toMatchObject({ status: 401 });
  });

  test('a 429 costs nothing: no TokenReview, not counted as a failure', async () => {
    const { access, reviews, clock } = limited(2);
    for (const token of ['a', 'b', 'c', 'd', 'e']) await access.authenticate(from('10.0.0.10', token));
    expect(reviews.tokenReviews).toEqual(['a', 'b']);
    clock.advance(10_000);
    await expect(access.authenticate(from('10.0.0.10', TOKEN))).resolves.toEqual(CONSOLE);
  });

  test('limit 0 turns the limit off; requests without a source are never limited', async () => {
    const off = limited(0);
    for (let i = 0; i < 30; i++) await off.access.authenticate(from('10.0.0.11', `bad-${i}`));
    expect(off.reviews.tokenReviews).toHaveLength(30);
    const { access, reviews } = limited(2);
    for (let i = 0; i < 5; i++) await access.authenticate(bearer(`bad-${i}`));
    expect(reviews.tokenReviews).toHaveLength(5);
  });
});

test('isAuthFailure tells a failure from an identity', () => {
  expect(isAuthFailure({ status: 401, message: 'x' })).toBe(true);
  expect(isAuthFailure({ status: 503, message: 'x' })).toBe(true);
  expect(isAuthFailure({ status: 429, message: 'x', retryAfterSeconds: 3 })).toBe(true);
  expect(isAuthFailure(CONSOLE)).toBe(false);
  expect(isAuthFailure({ status: 500, message: 'x' })).toBe(false);
  expect(isAuthFailure(undefined)).toBe(false);
});

test('authFailureCode: the envelope code of each failure', () => {
  expect([401, 403, 429, 503].map((status) => authFailureCode({ status: status as 401 | 403 | 429 | 503, message: '' }))).toEqual(['unauthenticated', 'forbidden', 'too_many_failed_authentications', 'unavailable']);
});
