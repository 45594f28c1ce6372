import type { AccessQuestion } from './access-request.js';
import type { Identity } from './identity.js';

export type TokenReviewResult =
  | {
      authenticated: true;
      identity: Identity;
      /**
       * Only when the review named audiences: those of them the token is
       * valid for (status.audiences, the intersection kube-apiserver
       * computes).
       */
      audiences?: string[];
    }
  | { authenticated: false; reason: string };

/**
 * The API server's two reviews, behind a port so the access-control core
 * stays pure; the adapter is src/kube/auth-reviews.ts. Both reject only when
 * the API server could not be asked or answered nonsense (an outage, never a
 * verdict about the caller).
 */
export interface AuthReviews {
  /** A TokenReview (authentication.k8s.io/v1), with spec.audiences when `audiences` is not empty. */
  reviewToken(token: string, audiences?: readonly string[]): Promise<TokenReviewResult>;
  /** A SubjectAccessReview (authorization.k8s.io/v1) for the identity: a resource in ACCESS_GROUP, or a non-resource path. */
  reviewAccess(identity: Identity, question: AccessQuestion): Promise<{ allowed: boolean; reason: string }>;
}
