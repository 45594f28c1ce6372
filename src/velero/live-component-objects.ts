// A component's Velero objects read live (not from the cache): for the
// decisions that must see another replica's create of a moment ago. Listed
// by the service_id label (the region API's selector, so its objects are
// found too), then kept only when their scope is the component's namespace
// (velero-scope.ts): the label alone is any tenant's to write.
import { identityOf, type ComponentKey } from '../components/component-key.js';
import { defined } from '../defined.js';
import { VELERO_LABEL } from './velero-labels.js';
import type { VeleroStore } from './velero-ports.js';
import { backupComponent, restoreComponent, scheduleComponent } from './velero-scope.js';
import { viewBackup, viewRestore, viewSchedule, type BackupView, type RestoreView, type ScheduleView } from './velero-views.js';

const bySelector = (component: ComponentKey): string => `${VELERO_LABEL.serviceId}=${identityOf(component).serviceId}`;

export async function liveBackupsOf(store: Pick<VeleroStore, 'list'>, component: ComponentKey): Promise<BackupView[]> {
  return (await store.list('backups', bySelector(component))).map(viewBackup).filter(defined).filter((b) => backupComponent(b) === component);
}

export async function liveSchedulesOf(store: Pick<VeleroStore, 'list'>, component: ComponentKey): Promise<ScheduleView[]> {
  return (await store.list('schedules', bySelector(component))).map(viewSchedule).filter(defined).filter((s) => scheduleComponent(s) === component);
}

/** `backupOf`: where a region-API Restore (no scope of its own) finds the Backup that says whose it is. */
export async function liveRestoresOf(store: Pick<VeleroStore, 'list'>, component: ComponentKey, backupOf: (name: string) => BackupView | undefined): Promise<RestoreView[]> {
  return (await store.list('restores', bySelector(component))).map(viewRestore).filter(defined).filter((r) => restoreComponent(r, backupOf) === component);
}
