import { describeComponent, type Component } from './component.js';

/**
 * Why a backup cannot start now, or undefined when it can. File-system
 * backup reads each volume through a running pod that mounts it, so a
 * component without one would produce a backup with no data that still
 * says Completed.
 */
export function backupBlocker(component: Component): string | undefined {
  const name = describeComponent(component.ref);
  if (component.volumeClaims.length === 0) return `component ${name} has no persistent volume claims: there is no data to back up`;
  if (component.runningPods.length === 0) {
    return `component ${name} has no running pods: file-system backup reads volumes through a running pod, start the component first`;
  }
  return undefined;
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
