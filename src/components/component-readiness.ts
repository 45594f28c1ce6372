// Whether a running component is Ready: every replica its workload asks for
// runs and passes its readiness probe. Resuming a paused Schedule makes
// Velero v1.11.1 back up at once when a run was missed (next run computed
// from status.lastBackup: pkg/controller/schedule_controller.go L246-257),
// and the backup's hooks dump the database: a pod that runs but is not Ready
// is a database still starting (recovering, replaying its log).
//
// Read from what tenants cannot write: the pods' Ready condition is pod
// status, which the kubelet sets (tenant roles cannot update pods/status),
// and spec.replicas is the workload's. Labels only say which pods and
// workload are the component's; a tenant who labels a pod of her own as
// one of her component's can only hold back (a pod not Ready) or speed up
// (a Ready one) her own component's Schedule, never another's: components
// are (namespace, service_id).
import type { ComponentSnapshot } from './component-registry.js';

export type ReadinessSubject = Pick<ComponentSnapshot, 'state' | 'workload' | 'pods'>;

/**
 * Ready: running, a live workload asking for at least one replica, at least
 * that many live pods Running and Ready, and no live pod that is not (one
 * starting beside the others, say a rollout's new pod, is a replica not
 * ready yet). A component half stopped (workload being deleted) is not.
 */
export function componentReady(component: ReadinessSubject): boolean {
  if (component.state !== 'running') return false;
  const { workload } = component;
  if (workload === undefined || workload.deletionTimestamp !== undefined || workload.replicas < 1) return false;
  const live = component.pods.filter((p) => p.deletionTimestamp === undefined);
  if (live.some((p) => p.phase !== 'Running' || !p.ready)) return false;
  return live.length >= workload.replicas;
}
