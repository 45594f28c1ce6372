/**
 * Namespaces whose pods the webhook leaves alone even when the API server
 * sends them. The webhook configuration's namespaceSelector excludes
 * kube-system and the webhook's own namespace by label
 * kubernetes.io/metadata.name, which only Kubernetes >= 1.21 sets: on 1.20
 * (what Wutong runs on) that selector excludes nothing, so the webhook checks
 * the namespace itself.
 */
export type ExcludedNamespaces = ReadonlySet<string>;

const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];

/**
 * EXCLUDED_NAMESPACES (comma-separated, default kube-system) plus the
 * webhook's own namespace (POD_NAMESPACE, default wutong-backup), which is
 * always excluded: its own pods must start while it is down.
 */
export function excludedNamespacesFrom(env: Readonly<Record<string, string | undefined>>): ExcludedNamespaces {
  const listed = env.EXCLUDED_NAMESPACES === undefined
    ? DEFAULT_EXCLUDED_NAMESPACES
    : env.EXCLUDED_NAMESPACES.split(',').map((n) => n.trim()).filter((n) => n !== '');
  return new Set([...listed, env.POD_NAMESPACE || 'wutong-backup']);
}

/** Nothing excluded: what a review means when no deployment says otherwise (the offline CLI, tests). */
export const NO_EXCLUDED_NAMESPACES: ExcludedNamespaces = new Set();

/** Why a pod in `namespace` is skipped, or undefined when it is not excluded. */
export function namespaceExclusion(namespace: string, excluded: ExcludedNamespaces): string | undefined {
  return excluded.has(namespace) ? `namespace ${namespace} is excluded (EXCLUDED_NAMESPACES or the webhook's own)` : undefined;
}
