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
