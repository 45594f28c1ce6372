import { describeComponent, type Component, type ComponentRef, type WorkloadKind } from './component.js';
import { componentKey } from './component-key.js';
import { WUTONG_LABEL } from './wutong-labels.js';

/** The part of a workload, PVC or pod that resolution reads. */
export interface LabelledObject {
  metadata: { name: string; namespace: string; labels: Readonly<Record<string, string>>; deletionTimestamp?: string };
}
export interface PodSummary extends LabelledObject {
  phase: string;
}

/** What the cluster holds under one component's labels. */
export interface ComponentObjects {
  workloads: readonly (LabelledObject & { kind: WorkloadKind })[];
  volumeClaims: readonly LabelledObject[];
  pods: readonly PodSummary[];
}

export type Resolution = { found: true; component: Component } | { found: false; reason: 'not-found' | 'ambiguous'; message: string };

/**
 * Turns the objects carrying a service_alias in the tenant env's namespace
 * (mapped from the route's tenant/env through the namespace's labels, never
 * through labels on the objects) into one Component. Objects of any other
 * namespace are ignored whatever they claim. Two service_ids under one alias
 * in the namespace means the labels cannot tell which component the console
 * means: refusing is safer than backing up or restoring the wrong one (and
 * only that namespace's own tenant can have made it so).
 */
export function resolveComponent(ref: ComponentRef, namespace: string, found: ComponentObjects): Resolution {
  const inNamespace = <T extends LabelledObject>(items: readonly T[]): T[] => items.filter((o) => o.metadata.namespace === namespace);
  const objects: ComponentObjects = { workloads: inNamespace(found.workloads), volumeClaims: inNamespace(found.volumeClaims), pods: inNamespace(found.pods) };
  const all = [...objects.workloads, ...objects.volumeClaims, ...objects.pods];
  const name = describeComponent(ref);
  if (all.length === 0) return { found: false, reason: 'not-found', message: `component ${name} not found: no workload, pod or PVC in its namespace carries its alias` };
  const serviceIds = new Set(all.map((o) => o.metadata.labels[WUTONG_LABEL.serviceId] ?? ''));
  if (serviceIds.size > 1) {
    return {
      found: false,
      reason: 'ambiguous',
      message: `component ${name} is ambiguous: its alias is on objects of service_id ${[...serviceIds].sort().join(', ')} in namespace ${namespace}`,
    };
  }
  const [serviceId = ''] = serviceIds;
  if (!/^[0-9a-f]{32}$/.test(serviceId)) {
    return { found: false, reason: 'not-found', message: `component ${name} not found: its objects carry no valid service_id label` };
  }
  const live = <T extends LabelledObject>(items: readonly T[]): T[] => items.filter((o) => !o.metadata.deletionTimestamp);
  const workload = live(objects.workloads)[0];
  return {
    found: true,
    component: {
      key: componentKey(namespace, serviceId),
      ref,
      serviceId,
      namespace,
      ...(workload ? { workload: { kind: workload.kind, name: workload.metadata.name } } : {}),
      volumeClaims: live(objects.volumeClaims).map((o) => o.metadata.name).sort(),
      runningPods: live(objects.pods)
        .filter((p) => p.phase === 'Running')
        .map((p) => p.metadata.name)
        .sort(),
      pods: objects.pods.map((p) => p.metadata.name).sort(),
    },
  };
}
