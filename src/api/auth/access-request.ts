/**
 * What a request to the backup API asks to do, in RBAC's terms: the API
 * group and resources are ours (no CRD backs them; RBAC does not need one),
 * so a console's ServiceAccount is granted access with an ordinary
 * ClusterRole and RoleBinding (manifests/examples/console-access.yaml).
 */
export const ACCESS_GROUP = 'backup.wutong.io';
export type ComponentResource = 'componentbackups' | 'componentrestores';
export type AccessVerb = 'create' | 'get' | 'update' | 'delete';
export interface AccessRequest {
  /** The component's namespace: where the RoleBinding must be (or a ClusterRoleBinding). */
  namespace: string;
  verb: AccessVerb;
  resource: ComponentResource;
  /** The backup or restore by name, when the route names one (RBAC resourceNames). */
  name?: string;
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
