import { isAuthFailure, type AccessControl, type AuthFailure } from '../api/auth/access-control.js';
import type { NonResourceRequest } from '../api/auth/access-request.js';
import { sourceAddress } from '../api/auth/failed-authentications.js';
import type { WebhookRequest } from './protocols.js';

/** Whether a request may read /metrics: undefined when it may, the refusal otherwise. */
export type MetricsAccess = (req: WebhookRequest) => Promise<AuthFailure | undefined>;

/** What RBAC is asked, as for kube-apiserver's own /metrics: ClusterRole rule nonResourceURLs ["/metrics"], verbs ["get"]. */
export const METRICS_REQUEST: NonResourceRequest = { path: '/metrics', verb: 'get' };

/**
 * /metrics behind the cluster's own authentication and authorization, as
 * controller-runtime's `filters.WithAuthenticationAndAuthorization` (and
 * kube-rbac-proxy) do it: the scraper's bearer token through a TokenReview,
 * then a SubjectAccessReview of GET on the non-resource path /metrics. The
 * metrics name every protected component with its tenant, namespace and
 * backup state, which is not for every pod in the cluster to read.
 * 401 without a valid token, 403 when RBAC says no, 503 when the API server
 * cannot be asked, 429 for a source that keeps failing; all cached and
 * limited like the backup API's checks (access-control.ts).
 */
export function metricsAccess(access: AccessControl): MetricsAccess {
  return async (req) => {
    const authorization = req.headers.authorization;
    const identity = await access.authenticate({ authorization, clientCertificate: undefined, source: sourceAddress(req.socket) });
    if (isAuthFailure(identity)) return identity;
    return access.authorize(identity, METRICS_REQUEST);
  };
}
