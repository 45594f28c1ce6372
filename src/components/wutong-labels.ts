/**
 * The labels Wutong's worker puts on everything it makes for a component
 * (worker/appm/types/v1/labels.go): workloads, pods, PVCs from claim
 * templates. They are how a component is found without Wutong's database,
 * with or without its workload.
 */
export const WUTONG_LABEL = {
  creator: 'creator',
  serviceId: 'service_id',
  serviceAlias: 'service_alias',
  tenantName: 'tenant_name',
  tenantEnvName: 'tenant_env_name',
} as const;

/** The value of `creator` on Wutong's own objects. */
export const WUTONG_CREATOR = 'Wutong';
