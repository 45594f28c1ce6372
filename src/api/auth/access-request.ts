/**
 * What a request to the backup API asks to do, in RBAC's terms: the API
 * group and resources are ours (no CRD backs them; RBAC does not need one),
 * so a console's ServiceAccount is granted access with an ordinary
 * ClusterRole and RoleBinding (manifests/examples/console-access.yaml).
 */
export const ACCESS_GROUP = 'backup.wutong.io';
export type ComponentResource = 'componentbackups' | 'componentrestores';
export type AccessVerb = 'create' | 'get' | 'update' | 'delete';
/** `componentbackups/download`: a download URL hands out the whole backup, so it is granted apart from reading records. */
export type ComponentSubresource = 'download';
export interface AccessRequest {
  /** The tenant env's namespace: where the RoleBinding must be (or a ClusterRoleBinding); '' asks cluster-wide. */
  namespace: string;
  verb: AccessVerb;
  resource: ComponentResource;
  subresource?: ComponentSubresource;
  /** The component's alias (RBAC resourceNames). */
  name?: string;
  /** How the 403 names what was asked for: the route's tenant env, never a namespace the caller may not know. */
  shownAs: string;
}

/**
 * A request for a path that is no resource, as RBAC's nonResourceURLs grant
 * it: `GET /metrics`, the way kube-rbac-proxy and controller-runtime's
 * metrics filter ask (ClusterRole rule `nonResourceURLs: ["/metrics"]`,
 * `verbs: ["get"]`).
 */
export interface NonResourceRequest {
  path: string;
  verb: 'get';
}

/** Whatever a SubjectAccessReview may be asked about. */
export type AccessQuestion = AccessRequest | NonResourceRequest;

export function isNonResourceRequest(question: AccessQuestion): question is NonResourceRequest {
  return 'path' in question;
}
