import type { KubeHttp, KubeResponse } from '../../../src/kube/kube-http.js';
import { KubeUnreachable } from '../../../src/kube/kube-http.js';
import { isObject } from '../../../src/is-object.js';

/** The audience of tokens kube-apiserver itself mints (its --api-audiences; a plain ServiceAccount token's). */
export const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export interface KnownToken {
  username: string;
  groups?: string[];
  /** What the token was minted for (default: the API server). */
  audiences?: string[];
}

export interface ReviewsStandIn {
  http: KubeHttp;
  /** Every TokenReview spec received. */
  tokenReviews: Array<{ token: string; audiences?: string[] }>;
  /** Every SubjectAccessReview spec received. */
  accessReviews: Array<Record<string, unknown>>;
  /** false: every review fails to connect (an outage). */
  reachable: boolean;
}

/**
 * The two review endpoints of kube-apiserver, behind the project's KubeHttp
 * port, so the real adapter (src/kube/auth-reviews.ts) and access control run
 * end to end without a cluster. TokenReview as the API server's JWT
 * authenticator answers it: the audiences asked (spec.audiences, else the API
 * server's own) must meet the token's, else authenticated=false with its
 * error text; status.audiences is the intersection. SubjectAccessReview:
 * allowed exactly when `allow` says so. The real API server's own behaviour
 * is checked in test/e2e/auth-reviews.test.ts.
 */
export function reviewsStandIn(tokens: Record<string, KnownToken>, allow: (spec: Record<string, unknown>) => boolean = () => false, delayMs = 0): ReviewsStandIn {
  const standIn: ReviewsStandIn = {
    tokenReviews: [],
    accessReviews: [],
    reachable: true,
    http: {
      async send(method, path, body): Promise<KubeResponse> {
        const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (!standIn.reachable) throw new KubeUnreachable(`${method} ${path}: no answer from the API server within 5000 ms`);
        if (path === '/apis/authentication.k8s.io/v1/tokenreviews') {
          const token = String(spec.token);
          const asked = Array.isArray(spec.audiences) ? spec.audiences.map(String) : undefined;
          standIn.tokenReviews.push({ token, ...(asked ? { audiences: asked } : {}) });
          const known = tokens[token];
          if (!known) return { status: 201, body: { status: { authenticated: false, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' } } };
          const minted = known.audiences ?? [API_SERVER_AUDIENCE];
          const target = asked ?? [API_SERVER_AUDIENCE];
          const audiences = target.filter((a) => minted.includes(a));
          if (audiences.length === 0) {
            return { status: 201, body: { status: { authenticated: false, error: `[invalid bearer token, token audiences ${JSON.stringify(minted)} is invalid for the target audiences ${JSON.stringify(target)}]` } } };
          }
          return { status: 201, body: { status: { authenticated: true, user: { username: known.username, groups: known.groups ?? ['system:authenticated'] }, audiences } } };
        }
        if (path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
          standIn.accessReviews.push(spec);
          return { status: 201, body: { status: { allowed: allow(spec), ...(allow(spec) ? { reason: 'RBAC: allowed by the stand-in' } : {}) } } };
        }
        return { status: 404, body: { message: `the stand-in does not serve ${method} ${path}` } };
      },
      getJson: () => Promise.reject(new Error('not served by the stand-in')),
      stream: () => Promise.reject(new Error('not served by the stand-in')),
    },
  };
  return standIn;
}
