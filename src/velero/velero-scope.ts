// Which component a Velero object belongs to. The wutong.io/service_id label
// is what the region API selects by, but a service_id is a label any tenant
// can put on objects in her own namespace: two namespaces may hold the same
// one. What Velero actually backs up or restores is the object's scope, the
// namespace it includes; so an object belongs to (namespace, service_id) only
// when its label says the service_id and its scope is exactly that namespace.
// The region API's Backups and Schedules have the same spec shape (one
// included namespace and the service_id label), so they still count.
import { componentKey, type ComponentKey } from '../components/component-key.js';
import { VELERO_LABEL } from './velero-labels.js';
import type { BackupView, RestoreView, ScheduleView } from './velero-views.js';

/** The one namespace a list of included namespaces names, else undefined (none, several, or a wildcard). */
function onlyNamespace(included: readonly string[] | undefined): string | undefined {
  if (included?.length !== 1) return undefined;
  const [namespace] = included;
  return namespace === undefined || namespace === '' || namespace === '*' || namespace.includes('/') ? undefined : namespace;
}

function scoped(labels: Readonly<Record<string, string>>, included: readonly string[] | undefined): ComponentKey | undefined {
  const serviceId = labels[VELERO_LABEL.serviceId];
  const namespace = onlyNamespace(included);
  return serviceId && namespace ? componentKey(namespace, serviceId) : undefined;
}

export function backupComponent(backup: Pick<BackupView, 'metadata' | 'spec'>): ComponentKey | undefined {
  return scoped(backup.metadata.labels, backup.spec.includedNamespaces);
}

export function scheduleComponent(schedule: Pick<ScheduleView, 'metadata' | 'spec'>): ComponentKey | undefined {
  return scoped(schedule.metadata.labels, schedule.spec.template.includedNamespaces);
}

/**
 * A Restore is its component's when its own scope says so (ours name the
 * namespace), or, for the region API's (which include no namespace and
 * restore everything in the Backup), when the Backup it restores is.
 */
export function restoreComponent(restore: Pick<RestoreView, 'metadata' | 'spec'>, backupOf: (name: string) => Pick<BackupView, 'metadata' | 'spec'> | undefined): ComponentKey | undefined {
  const own = scoped(restore.metadata.labels, restore.spec.includedNamespaces);
  if (own) return own;
  if (restore.spec.includedNamespaces !== undefined && restore.spec.includedNamespaces.length > 0) return undefined;
  const backup = backupOf(restore.spec.backupName);
  const ofBackup = backup ? backupComponent(backup) : undefined;
  return ofBackup !== undefined && restore.metadata.labels[VELERO_LABEL.serviceId] === backup?.metadata.labels[VELERO_LABEL.serviceId] ? ofBackup : undefined;
}
