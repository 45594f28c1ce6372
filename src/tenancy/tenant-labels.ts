import { WUTONG_LABEL } from '../components/wutong-labels.js';

/**
 * Which namespaces are Wutong tenant environments, and which tenant and env
 * each is, read from the namespace's own labels. Wutong sets them when it
 * creates a tenant env (wutong-paas/wutong api/handler/service.go
 * CreateTenantEnv; names in util/constants/constants.go). Namespace labels
 * are cluster-scoped: a tenant who administers her namespace cannot change
 * them, so they are identity where a label on a Deployment is only a claim.
 */
export interface TenantLabels {
  /** Label selector (equality terms only) a namespace must match to be a tenant env; `app.kubernetes.io/managed-by=wutong`. */
  selector: string;
  /** The label holding the tenant's name (`tenant_name`). */
  tenantName: string;
  /** The label holding the env's name (`tenant_env_name`). */
  tenantEnvName: string;
}

export const DEFAULT_TENANT_LABELS: TenantLabels = {
  selector: 'app.kubernetes.io/managed-by=wutong',
  tenantName: WUTONG_LABEL.tenantName,
  tenantEnvName: WUTONG_LABEL.tenantEnvName,
};

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The selector's `key=value` terms; throws naming the term that is not one (set-based terms are not supported: the match is done here too). */
export function selectorTerms(selector: string): Array<[string, string]> {
  if (selector.trim() === '') return [];
  return selector.split(',').map((term) => {
    const [key, value, extra] = term.trim().split(/==?/);
    if (key === undefined || value === undefined || extra !== undefined || !LABEL_KEY.test(key.trim()) || !LABEL_VALUE.test(value.trim())) {
      throw new RangeError(`"${term.trim()}" is not a key=value label term`);
    }
    return [key.trim(), value.trim()];
  });
}

export function matchesSelector(labels: Readonly<Record<string, string>>, terms: ReadonlyArray<readonly [string, string]>): boolean {
  return terms.every(([key, value]) => labels[key] === value);
}

/** TENANT_NAMESPACE_SELECTOR, TENANT_NAME_LABEL, TENANT_ENV_NAME_LABEL, each checked; errors name the variable. */
export function tenantLabelsFromEnv(env: NodeJS.ProcessEnv): TenantLabels {
  const selector = env.TENANT_NAMESPACE_SELECTOR ?? DEFAULT_TENANT_LABELS.selector;
  try {
    selectorTerms(selector);
  } catch (err) {
    throw new Error(`TENANT_NAMESPACE_SELECTOR: ${(err as Error).message}`);
  }
  const label = (name: string, fallback: string): string => {
    const value = env[name] ?? fallback;
    if (!LABEL_KEY.test(value)) throw new Error(`${name}: "${value}" is not a label key`);
    return value;
  };
  return { selector, tenantName: label('TENANT_NAME_LABEL', DEFAULT_TENANT_LABELS.tenantName), tenantEnvName: label('TENANT_ENV_NAME_LABEL', DEFAULT_TENANT_LABELS.tenantEnvName) };
}
