import type { ComponentKey } from './component-key.js';

/** How the console names a component: the three path segments of its routes. */
export interface ComponentRef {
  tenantName: string;
  tenantEnvName: string;
  serviceAlias: string;
}

export type WorkloadKind = 'StatefulSet' | 'Deployment';

/**
 * A Wutong component as the cluster shows it right now. A stopped component
 * has no workload and no pods (Wutong's stop deletes both) but keeps its
 * PVCs, so it still resolves.
 */
export interface Component {
  /** (namespace, service_id): what the component is everywhere (component-key.ts). */
  key: ComponentKey;
  /** Tenant and env from the namespace's labels, the alias the route named. */
  ref: ComponentRef;
  serviceId: string;
  namespace: string;
  workload?: { kind: WorkloadKind; name: string };
  volumeClaims: string[];
  /** Pods in phase Running and not being deleted: what file-system backup reads volumes through. */
  runningPods: string[];
  /** Every pod, running or not, still present: a restore must not race any of them. */
  pods: string[];
}

export function describeComponent(ref: ComponentRef): string {
  return `${ref.tenantName}/${ref.tenantEnvName}/${ref.serviceAlias}`;
}
