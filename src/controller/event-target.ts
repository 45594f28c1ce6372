import type { ComponentSnapshot } from '../components/component-registry.js';
import type { ObjectReference } from '../kube/object-reference.js';

/**
 * Where `kubectl describe` should tell a component's story: its workload,
 * else (stopped: Wutong deleted the workload) its first PVC. A component
 * with neither left has nowhere to show an Event.
 */
export function eventTarget(component: ComponentSnapshot | undefined): ObjectReference | undefined {
  if (!component) return undefined;
  const workload = component.workload;
  if (workload) return { apiVersion: 'apps/v1', kind: workload.kind, name: workload.name, namespace: workload.namespace, uid: workload.uid };
  const claim = component.claims.find((c) => c.deletionTimestamp === undefined) ?? component.claims[0];
  if (claim) return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claim.name, namespace: claim.namespace, uid: claim.uid };
  return undefined;
}
