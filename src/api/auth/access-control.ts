import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { errorMessage } from '../../error-message.js';
import { isObject } from '../../is-object.js';
import { authenticationRefusals } from '../../observability/auth-metrics.js';
import { logger, type Logger } from '../../observability/logger.js';
import { ACCESS_GROUP, isNonResourceRequest, type AccessQuestion } from './access-request.js';
import type { AuthReviews, TokenReviewResult } from './auth-reviews.js';
import { bearerToken } from './bearer-token.js';
import { DEFAULT_CLIENT_CERT_PREFIX, identityFromCertificate, type CertificatePrefixes } from './client-certificate.js';
import { FailedAuthentications } from './failed-authentications.js';
import type { Identity } from './identity.js';
import { reviewCache } from './review-cache.js';

/** Why a request may not proceed, as the HTTP status and message the API answers with. */
export interface AuthFailure {
  status: 401 | 403 | 429 | 503;
  message: string;
  /** With a 429: whole seconds until the source may try again (the Retry-After header). */
  retryAfterSeconds?: number;
}

export interface Credentials {
  authorization: string | undefined;
  /** Only a certificate the TLS layer verified against API_CLIENT_CA (see verifiedPeerCertificate in client-ca.ts). */
  clientCertificate: PeerCertificate | undefined;
  /** The TCP peer's address (sourceAddress in failed-authentications.ts), which failed authentications are counted against; none: not counted. */
  source?: string | undefined;
}

export interface AccessControl {
  authenticate(credentials: Credentials): Promise<Identity | AuthFailure>;
  /** undefined: allowed. */
  authorize(identity: Identity, question: AccessQuestion): Promise<AuthFailure | undefined>;
}

export interface AccessControlOptions {
  /** How long a review's verdict is reused (default 10 s), allowed or not; outages are never kept. */
  cacheTtlMs?: number;
  /** Verdicts held per review kind (default 10,000). */
  maxEntries?: number;
  /** The clock the TTL is measured on (tests inject one). */
  now?: () => number;
  /** Decisions are logged at debug with the username, never a token. */
  log?: Logger;
  /** API_TOKEN_AUDIENCES: a bearer token must be valid for at least one (TokenReview spec.audiences); empty or absent: any token the API server accepts. */
  audiences?: readonly string[];
  /** API_CLIENT_CERT_USER_PREFIX / _GROUP_PREFIX (default `wutong-backup-client:` both). */
  certificatePrefixes?: CertificatePrefixes;
  /** AUTH_FAILURE_LIMIT / AUTH_FAILURE_WINDOW: failed authentications per source and window before 429 (default 20 per 10 s; limit 0: none). */
  failureLimit?: { limit: number; windowMs: number };
  /** Which server this guards, for the refusals counter (default "api"). */
  server?: 'api' | 'metrics';
}

// Ten seconds: long enough that a console polling records every few seconds,
// or a client retrying in a loop, costs the API server one TokenReview and one
// SubjectAccessReview per token and route per ten seconds instead of two
// calls per request; short enough that a revoked token or a removed
// RoleBinding stops working, and a new RoleBinding starts working, within
// ten seconds. Denials are kept as long as grants: a caller retrying a 401 or
// 403 in a tight loop is the retry storm the cache exists to absorb, and
// kube-apiserver's own webhook authorizer caches denials too
// (--authorization-webhook-cache-unauthorized-ttl). A failure to ask (503) is
// never kept.
const DEFAULT_CACHE_TTL_MS = 10_000;
// Measured at about 300 bytes per held verdict (10,000 ServiceAccount
// identities and their 10,000 access verdicts: 5.9 MiB of heap after GC), so
// a flood of distinct tokens can hold at most ~6 MiB.
const DEFAULT_MAX_ENTRIES = 10_000;
// See config.ts (AUTH_FAILURE_LIMIT): what a source may fail before 429.
const DEFAULT_FAILURE_LIMIT = { limit: 20, windowMs: 10_000 };

// Certificate users whose dropped system: groups were logged at warn; bounded like every per-caller record here.
const MAX_WARNED_USERS = 1_000;

type AccessVerdict = { allowed: boolean; reason: string };

/**
 * Authentication and authorization of the backup API (and of /metrics), by
 * the cluster's own rules: a bearer token is whatever a TokenReview says it
 * is (for this API's audiences, when set), a verified client certificate is
 * its prefixed CN and O (like kube-apiserver's x509 authenticator, never a
 * system: user or group), and either identity may do exactly what a
 * SubjectAccessReview allows. Verdicts are cached briefly, keyed by a sha256
 * of the token and audiences (never the token) or of the identity and
 * request. A source that keeps failing is refused with 429 before it costs
 * another TokenReview.
 */
export function accessControl(reviews: AuthReviews, options: AccessControlOptions = {}): AccessControl {
  const now = options.now ?? Date.now;
  const cacheOptions = {
    ttlMs: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
    now,
  };
  const log = options.log ?? logger;
  const audiences = [...new Set(options.audiences ?? [])].sort();
  const prefixes = options.certificatePrefixes ?? { user: DEFAULT_CLIENT_CERT_PREFIX, group: DEFAULT_CLIENT_CERT_PREFIX };
  const server = options.server ?? 'api';
  const failures = new FailedAuthentications({ ...(options.failureLimit ?? DEFAULT_FAILURE_LIMIT), now });
  const warnedDroppedGroups = new Set<string>();
  const tokens = reviewCache<TokenReviewResult>(cacheOptions);
  const verdicts = reviewCache<AccessVerdict>(cacheOptions);

  /** Why an authenticated token is still refused here: it is not meant for this API's audiences. */
  const audienceProblem = (result: TokenReviewResult & { authenticated: true }): string | undefined => {
    if (audiences.length === 0) return undefined;
    if ((result.audiences ?? []).some((audience) => audiences.includes(audience))) return undefined;
    return `the bearer token is not valid for this API's audience (${audiences.join(', ')}): send a token made for it, such as a projected ServiceAccount token with that audience`;
  };

  const throttled = (source: string | undefined, retryAfterMs: number): AuthFailure => {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    log.debug({ decision: 'throttled', source, retryAfterSeconds }, 'too many failed authentications from this source');
    return { status: 429, message: `too many failed authentications from ${source ?? 'this address'}; try again in ${retryAfterSeconds} s`, retryAfterSeconds };
  };

  const authenticateToken = async (authorization: string | undefined, certificateProblem: string | undefined, source: string | undefined): Promise<Identity | AuthFailure> => {
    const parsed = authorization === undefined && certificateProblem !== undefined ? { problem: certificateProblem } : bearerToken(authorization);
    const key = 'token' in parsed ? tokenKey(parsed.token, audiences) : undefined;
    const known = key === undefined ? undefined : tokens.peek(key);
    // A token already known to be good costs nothing to accept, so a source
    // that is being refused for others' failures (a shared NAT address, say)
    // keeps serving its valid clients.
    const knownGood = known?.authenticated === true && audienceProblem(known) === undefined;
    if (!knownGood) {
      const retryAfterMs = failures.retryAfterMs(source);
      if (retryAfterMs > 0) return throttled(source, retryAfterMs);
    }
    if ('problem' in parsed) {
      log.debug({ decision: 'unauthenticated', via: certificateProblem === undefined ? 'token' : 'client-certificate' }, 'no usable credentials');
      return { status: 401, message: parsed.problem };
    }
    const { token } = parsed;
    const tokenHash = key ?? tokenKey(token, audiences);
    // A TokenReview will be made only when the verdict is neither held nor
    // being fetched; that one needs a slot of this source's allowance.
    const costsAReview = known === undefined && !tokens.isLoading(tokenHash);
    if (costsAReview && !failures.tryStartReview(source)) return throttled(source, failures.retryAfterMs(source));
    let result: TokenReviewResult;
    try {
      result = await tokens.get(tokenHash, () => reviews.reviewToken(token, audiences));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'TokenReview failed: answering 503');
      return { status: 503, message: `cannot check the bearer token now: ${errorMessage(err)}` };
    } finally {
      if (costsAReview) failures.endReview(source);
    }
    if (!result.authenticated) {
      log.debug({ decision: 'unauthenticated', via: 'token', reason: result.reason }, 'bearer token rejected by TokenReview');
      return { status: 401, message: `the bearer token is not valid: ${result.reason}` };
    }
    const wrongAudience = audienceProblem(result);
    if (wrongAudience !== undefined) {
      log.debug({ decision: 'unauthenticated', via: 'token', username: result.identity.username, audiences: result.audiences ?? [] }, 'bearer token not meant for this API');
      return { status: 401, message: wrongAudience };
    }
    log.debug({ decision: 'authenticated', via: 'token', username: result.identity.username }, 'bearer token accepted');
    return result.identity;
  };

  return {
    async authenticate({ authorization, clientCertificate, source }) {
      // kube-apiserver's order: a verified certificate first (no API call),
      // then the bearer token.
      let certificateProblem: string | undefined;
      if (clientCertificate) {
        const named = identityFromCertificate(clientCertificate, prefixes);
        if ('identity' in named) {
          const { identity, droppedGroups } = named;
          if (droppedGroups.length > 0) {
            // Once per user at warn (a console polling with such a certificate would fill the log), at debug after.
            const first = !warnedDroppedGroups.has(identity.username) && warnedDroppedGroups.size < MAX_WARNED_USERS;
            if (first) warnedDroppedGroups.add(identity.username);
            log[first ? 'warn' : 'debug']({ username: identity.username, droppedGroups }, 'client certificate: system: groups left out');
          }
          log.debug({ decision: 'authenticated', via: 'client-certificate', username: identity.username }, 'client certificate accepted');
          return identity;
        }
        certificateProblem = named.problem;
      }
      const outcome = await authenticateToken(authorization, certificateProblem, source);
      if (isAuthFailure(outcome)) {
        if (outcome.status === 401) failures.recordFailure(source);
        if (outcome.status === 401 || outcome.status === 429) authenticationRefusals.inc({ server, status: String(outcome.status) });
      }
      return outcome;
    },

    async authorize(identity, question) {
      let verdict: AccessVerdict;
      try {
        verdict = await verdicts.get(accessKey(identity, question), () => reviews.reviewAccess(identity, question));
      } catch (err) {
        log.warn({ err: errorMessage(err), username: identity.username }, 'SubjectAccessReview failed: answering 503');
        return { status: 503, message: `cannot check access now: ${errorMessage(err)}` };
      }
      log.debug({ decision: verdict.allowed ? 'allowed' : 'denied', username: identity.username, ...question }, 'access reviewed');
      if (verdict.allowed) return undefined;
      return { status: 403, message: `${identity.username} may not ${question.verb} ${target(question)}${verdict.reason === '' ? '' : `: ${verdict.reason}`}` };
    },
  };
}

export function isAuthFailure(x: unknown): x is AuthFailure {
  return isObject(x) && (x.status === 401 || x.status === 403 || x.status === 429 || x.status === 503) && typeof x.message === 'string';
}

/** The region API envelope's `code` for a failure (what clients branch on). */
export function authFailureCode(failure: AuthFailure): string {
  switch (failure.status) {
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 429:
      return 'too_many_failed_authentications';
    case 503:
      return 'unavailable';
  }
}

/** What was asked about, in a 403's words. */
/** What the 403 names: the path, or the resource and the route's tenant env (shownAs), never a namespace the caller may not know. */
function target(question: AccessQuestion): string {
  if (isNonResourceRequest(question)) return question.path;
  const resource = `${question.resource}${question.subresource === undefined ? '' : `/${question.subresource}`}.${ACCESS_GROUP}`;
  return `${resource}${question.name === undefined ? '' : ` "${question.name}"`} ${question.shownAs}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The token cache's key: the token with the audiences it is reviewed for (one token may be valid for one audience and not another), hashed. */
export function tokenKey(token: string, audiences: readonly string[]): string {
  return sha256(JSON.stringify([audiences, token]));
}

/** Everything the SubjectAccessReview is asked, in a fixed order (extra's keys sorted), hashed. */
function accessKey(identity: Identity, question: AccessQuestion): string {
  const extra = Object.entries(identity.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const asked = isNonResourceRequest(question)
    ? ['non-resource', question.path, question.verb]
    : [question.namespace, question.verb, question.resource, question.subresource ?? '', question.name ?? ''];
  return sha256(JSON.stringify([identity.username, identity.uid ?? '', identity.groups, extra, ...asked]));
}
