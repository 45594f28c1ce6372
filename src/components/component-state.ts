import { describeComponent, type Component } from './component.js';

/**
 * How a backup of the component can be taken now. File-system backup reads
 * each volume through a running pod that mounts it: a running component's
 * own pods (hooks and all, for an application-consistent copy), or, for a
 * stopped one (what Wutong's stop leaves: PVCs, no workload, no pod), a
 * holder pod started for the backup (src/holder/), which copies the data as
 * the stop left it. A component half way (a workload whose pods do not run,
 * or pods still going away) is neither: a holder would race its pods for the
 * volumes.
 */
export type BackupRoute = { kind: 'running' } | { kind: 'at-rest' } | { kind: 'blocked'; reason: string; code: 'no_volumes' | 'component_not_running' };

export function backupRoute(component: Component): BackupRoute {
  const name = describeComponent(component.ref);
  if (component.volumeClaims.length === 0) return { kind: 'blocked', reason: `component ${name} has no persistent volume claims: there is no data to back up`, code: 'no_volumes' };
  if (component.runningPods.length > 0) return { kind: 'running' };
  if (component.workload) {
    return {
      kind: 'blocked',
      reason: `component ${name} has a ${component.workload.kind} (${component.workload.name}) but no running pod: wait until it runs, or stop it to back up its data at rest`,
      code: 'component_not_running',
    };
  }
  if (component.pods.length > 0) {
    return { kind: 'blocked', reason: `component ${name} is stopping (pods ${component.pods.join(', ')} still present): wait for them to go`, code: 'component_not_running' };
  }
  return { kind: 'at-rest' };
}

/**
 * Why a restore cannot start now, or undefined when it can. Velero restores
 * volume data through the pod it recreates; a live workload or pod would
 * keep writing to (or re-create) what is being restored.
 */
export function restoreBlocker(component: Component): string | undefined {
  const name = describeComponent(component.ref);
  if (component.workload) return `component ${name} is running (${component.workload.kind} ${component.workload.name}): stop it first, then restore`;
  if (component.pods.length > 0) return `component ${name} still has pods (${component.pods.join(', ')}): stop it first and wait for them to go, then restore`;
  return undefined;
}
