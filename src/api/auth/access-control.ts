import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { errorMessage } from '../../error-message.js';
import { isObject } from '../../is-object.js';
import { logger, type Logger } from '../../observability/logger.js';
import { ACCESS_GROUP, type AccessRequest } from './access-request.js';
import type { AuthReviews, TokenReviewResult } from './auth-reviews.js';
import { bearerToken } from './bearer-token.js';
import { identityFromCertificate } from './client-certificate.js';
import type { Identity } from './identity.js';
import { reviewCache } from './review-cache.js';

/** Why a request may not proceed, as the HTTP status and message the API answers with. */
export interface AuthFailure {
  status: 401 | 403 | 503;
  message: string;
}

export interface Credentials {
  authorization: string | undefined;
  /** Only a certificate the TLS layer verified against API_CLIENT_CA (see verifiedPeerCertificate in client-ca.ts). */
  clientCertificate: PeerCertificate | undefined;
}

export interface AccessControl {
  authenticate(credentials: Credentials): Promise<Identity | AuthFailure>;
  /** undefined: allowed. */
  authorize(identity: Identity, request: AccessRequest): Promise<AuthFailure | undefined>;
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

type AccessVerdict = { allowed: boolean; reason: string };

/**
 * Authentication and authorization of the backup API, by the cluster's own
 * rules: a bearer token is whatever a TokenReview says it is, a verified
 * client certificate is its CN and O (like kube-apiserver's x509
 * authenticator), and either identity may do exactly what a
 * SubjectAccessReview in the component's namespace allows. Verdicts are
 * cached briefly, keyed by a sha256 of the token (never the token) or of the
 * identity and request.
 */
export function accessControl(reviews: AuthReviews, options: AccessControlOptions = {}): AccessControl {
  const cacheOptions = {
    ttlMs: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
    now: options.now ?? Date.now,
  };
  const log = options.log ?? logger;
  const tokens = reviewCache<TokenReviewResult>(cacheOptions);
  const verdicts = reviewCache<AccessVerdict>(cacheOptions);

  const authenticateToken = async (authorization: string | undefined, certificateProblem: string | undefined): Promise<Identity | AuthFailure> => {
    if (authorization === undefined && certificateProblem !== undefined) return { status: 401, message: certificateProblem };
    const parsed = bearerToken(authorization);
    if ('problem' in parsed) {
      log.debug({ decision: 'unauthenticated', via: 'token' }, 'no usable bearer token');
      return { status: 401, message: parsed.problem };
    }
    const { token } = parsed;
    let result: TokenReviewResult;
    try {
      result = await tokens.get(sha256(token), () => reviews.reviewToken(token));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'TokenReview failed: answering 503');
      return { status: 503, message: `cannot check the bearer token now: ${errorMessage(err)}` };
    }
    if (!result.authenticated) {
      log.debug({ decision: 'unauthenticated', via: 'token', reason: result.reason }, 'bearer token rejected by TokenReview');
      return { status: 401, message: `the bearer token is not valid: ${result.reason}` };
    }
    log.debug({ decision: 'authenticated', via: 'token', username: result.identity.username }, 'bearer token accepted');
    return result.identity;
  };

  return {
    async authenticate({ authorization, clientCertificate }) {
      // kube-apiserver's order: a verified certificate first (no API call),
      // then the bearer token.
      if (clientCertificate) {
        const identity = identityFromCertificate(clientCertificate);
        if (identity.username !== '') {
          log.debug({ decision: 'authenticated', via: 'client-certificate', username: identity.username }, 'client certificate accepted');
          return identity;
        }
        return authenticateToken(authorization, 'the client certificate has no Common Name (CN), so it names no user');
      }
      return authenticateToken(authorization, undefined);
    },

    async authorize(identity, request) {
      let verdict: AccessVerdict;
      try {
        verdict = await verdicts.get(accessKey(identity, request), () => reviews.reviewAccess(identity, request));
      } catch (err) {
        log.warn({ err: errorMessage(err), username: identity.username }, 'SubjectAccessReview failed: answering 503');
        return { status: 503, message: `cannot check access now: ${errorMessage(err)}` };
      }
      const resource = `${request.resource}${request.subresource === undefined ? '' : `/${request.subresource}`}.${ACCESS_GROUP}`;
      const target = `${resource}${request.name === undefined ? '' : ` "${request.name}"`} ${request.shownAs}`;
      log.debug({ decision: verdict.allowed ? 'allowed' : 'denied', username: identity.username, verb: request.verb, resource, namespace: request.namespace }, 'access reviewed');
      if (verdict.allowed) return undefined;
      return { status: 403, message: `${identity.username} may not ${request.verb} ${target}${verdict.reason === '' ? '' : `: ${verdict.reason}`}` };
    },
  };
}

export function isAuthFailure(x: unknown): x is AuthFailure {
  return isObject(x) && (x.status === 401 || x.status === 403 || x.status === 503) && typeof x.message === 'string';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Everything the SubjectAccessReview is asked, in a fixed order (extra's keys sorted), hashed. */
function accessKey(identity: Identity, request: AccessRequest): string {
  const extra = Object.entries(identity.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify([identity.username, identity.uid ?? '', identity.groups, extra, request.namespace, request.verb, request.resource, request.subresource ?? '', request.name ?? '']));
}
