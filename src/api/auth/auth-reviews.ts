import type { AccessRequest } from './access-request.js';
import type { Identity } from './identity.js';

export type TokenReviewResult = { authenticated: true; identity: Identity } | { authenticated: false; reason: string };

/**
 * The API server's two reviews, behind a port so the access-control core
 * stays pure; the adapter is src/kube/auth-reviews.ts. Both reject only when
 * the API server could not be asked or answered nonsense (an outage, never a
 * verdict about the caller).
 */
export interface AuthReviews {
  /** A TokenReview (authentication.k8s.io/v1). */
  reviewToken(token: string): Promise<TokenReviewResult>;
  /** A SubjectAccessReview (authorization.k8s.io/v1) for the identity, in ACCESS_GROUP. */
  reviewAccess(identity: Identity, request: AccessRequest): Promise<{ allowed: boolean; reason: string }>;
}
