import { ACCESS_GROUP, isNonResourceRequest, type AccessQuestion } from '../api/auth/access-request.js';
import type { AuthReviews, TokenReviewResult } from '../api/auth/auth-reviews.js';
import type { Identity } from '../api/auth/identity.js';
import { isObject } from '../is-object.js';
import type { KubeHttp, KubeResponse } from './kube-http.js';

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const SUBJECT_ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
// A caller waits at most this long before its 503. The API server answers
// both reviews from memory in milliseconds, so this only trips on an outage
// or a dead connection; it stays well under a console's own request timeout.
const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * TokenReviews and SubjectAccessReviews against the API server, through the
 * project's one HTTP client. The server's own ServiceAccount needs ClusterRole
 * `system:auth-delegator` (create on both). Rejects (an outage, not a
 * verdict) when no answer came in time, or the answer was not a review;
 * errors never carry the token.
 */
export function kubeAuthReviews(http: KubeHttp, timeoutMs = DEFAULT_TIMEOUT_MS): AuthReviews {
  return {
    async reviewToken(token, audiences = []) {
      const spec = audiences.length > 0 ? { token, audiences: [...audiences] } : { token };
      const response = await http.send('POST', TOKEN_REVIEWS, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec }, timeoutMs);
      return tokenReviewResult(reviewStatus('TokenReview', response), audiences.length > 0);
    },
    async reviewAccess(identity, question) {
      const body = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: identity.username,
          groups: identity.groups,
          ...(identity.uid === undefined ? {} : { uid: identity.uid }),
          ...(identity.extra === undefined ? {} : { extra: identity.extra }),
          ...accessAttributes(question),
        },
      };
      const status = reviewStatus('SubjectAccessReview', await http.send('POST', SUBJECT_ACCESS_REVIEWS, body, timeoutMs));
      const allowed = status.allowed === true;
      // RBAC sets evaluationError when some binding could not be read; the
      // verdict still stands (not allowed unless some rule allowed it).
      const reason = [status.reason, status.evaluationError].filter((s): s is string => typeof s === 'string' && s !== '').join('; ');
      return { allowed, reason };
    },
  };
}

/** What the SubjectAccessReview asks: resourceAttributes in ACCESS_GROUP, or nonResourceAttributes for a path. */
function accessAttributes(question: AccessQuestion): Record<string, unknown> {
  if (isNonResourceRequest(question)) return { nonResourceAttributes: { path: question.path, verb: question.verb } };
  return {
    resourceAttributes: {
      namespace: question.namespace,
      verb: question.verb,
      group: ACCESS_GROUP,
      resource: question.resource,
      ...(question.subresource === undefined ? {} : { subresource: question.subresource }),
      ...(question.name === undefined ? {} : { name: question.name }),
    },
  };
}

/** The review's status, or an Error saying what the API server answered instead. */
function reviewStatus(kind: string, response: KubeResponse): Record<string, unknown> {
  if (response.status !== 200 && response.status !== 201) {
    const message = isObject(response.body) && typeof response.body.message === 'string' ? response.body.message : 'no message';
    const hint = response.status === 403 ? ` (this server's ServiceAccount needs create on tokenreviews and subjectaccessreviews: the shipped ClusterRole wutong-backup-api, or system:auth-delegator)` : '';
    throw new Error(`${kind}: the API server answered HTTP ${response.status}: ${message}${hint}`);
  }
  if (!isObject(response.body) || !isObject(response.body.status)) throw new Error(`${kind}: the API server's answer has no status`);
  return response.body.status;
}

/**
 * `askedAudiences`: the review named audiences, so status.audiences (the
 * ones the token is valid for, of those asked) is part of the verdict;
 * missing, it is empty, and access control refuses the token.
 */
function tokenReviewResult(status: Record<string, unknown>, askedAudiences: boolean): TokenReviewResult {
  const user = isObject(status.user) ? status.user : {};
  if (status.authenticated !== true || typeof user.username !== 'string' || user.username === '') {
    const error = typeof status.error === 'string' && status.error !== '' ? status.error : 'the API server does not recognise it';
    return { authenticated: false, reason: error };
  }
  const identity: Identity = { username: user.username, groups: strings(user.groups), via: 'token' };
  if (typeof user.uid === 'string' && user.uid !== '') identity.uid = user.uid;
  if (isObject(user.extra)) {
    const extra = Object.fromEntries(Object.entries(user.extra).map(([key, value]) => [key, strings(value)]));
    if (Object.keys(extra).length > 0) identity.extra = extra;
  }
  return askedAudiences ? { authenticated: true, identity, audiences: strings(status.audiences) } : { authenticated: true, identity };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
