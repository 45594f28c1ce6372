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

/**
 * Every label Wutong puts on all of a component's objects (labels.go), what
 * a holder pod copies from the component's PVCs so that it looks like part of
 * the component to Velero (service_id) and to whoever reads `kubectl get pods
 * --show-labels`. Not `creator`: see holder-pod.ts. Not the PVC-only
 * `volume_name` and `reclaim_policy`.
 */
export const WUTONG_COMPONENT_LABELS = [
  WUTONG_LABEL.serviceId,
  WUTONG_LABEL.serviceAlias,
  'tenant_id',
  WUTONG_LABEL.tenantName,
  'tenant_env_id',
  WUTONG_LABEL.tenantEnvName,
  'app_id',
  'app',
  'workload_name',
  'creater_id',
] as const;
