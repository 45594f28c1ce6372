/**
 * Who is calling, as the Kubernetes API server knows them: from a TokenReview
 * of their bearer token, or from a client certificate the TLS layer verified.
 * Passed unchanged into the SubjectAccessReview, so RBAC sees exactly the
 * user, groups, uid and extra the API server itself would.
 */
export interface Identity {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
  via: 'token' | 'client-certificate';
}
