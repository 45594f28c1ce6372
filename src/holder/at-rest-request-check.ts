// What the controller checks before it acts on a request record. Only the
// API's ServiceAccount can write the records, but the controller is the one
// that creates pods: it runs only a request whose Backup backs up exactly
// the request's component, of a tenant env, and runs no commands in it.
import { componentKey } from '../components/component-key.js';
import { isObject } from '../is-object.js';
import { backupComponent } from '../velero/velero-scope.js';
import { viewBackup } from '../velero/velero-views.js';
import type { AtRestHandoff } from './at-rest-request.js';

export interface AtRestRequestCheckContext {
  /** A namespace is a tenant env by its own labels (TenantDirectory). */
  isTenantNamespace(namespace: string): boolean;
  /** VELERO_NAMESPACE: the only namespace Backups are created in. */
  veleroNamespace: string;
}

/** Why the request must not be run, or undefined when it may. */
export function atRestRequestRefusal(handoff: Pick<AtRestHandoff, 'component' | 'backup'>, context: AtRestRequestCheckContext): string | undefined {
  const { namespace, serviceId } = handoff.component;
  const { backup } = handoff;
  if (!context.isTenantNamespace(namespace)) return `namespace ${namespace} is not a tenant env`;
  if (backup.metadata.namespace !== context.veleroNamespace) return `its Backup is in namespace ${backup.metadata.namespace}, not Velero's (${context.veleroNamespace})`;
  const view = viewBackup(backup);
  const scope = view ? backupComponent(view) : undefined;
  if (scope !== componentKey(namespace, serviceId)) return `its Backup's scope (${scope ?? 'none'}) is not the component ${namespace}/${serviceId}`;
  // The holder carries the component's service_id label: the Backup selects it and the component's other objects, nothing else of the namespace.
  const selector = backup.spec.labelSelector;
  const matchLabels = isObject(selector) ? selector.matchLabels : undefined;
  if (!isObject(selector) || Object.keys(selector).some((k) => k !== 'matchLabels') || !isObject(matchLabels) || Object.keys(matchLabels).length !== 1 || matchLabels.service_id !== serviceId) {
    return `its Backup does not select exactly service_id=${serviceId}`;
  }
  if (backup.spec.orLabelSelectors !== undefined) return 'its Backup has orLabelSelectors';
  if (backup.spec.hooks !== undefined) return 'its Backup has spec.hooks (commands run in the pods)';
  return undefined;
}
