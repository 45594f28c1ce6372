// What `wutong-backup status` reads: the cluster as of now, in one pass of
// paginated lists, fed into the same ComponentRegistry the controller's
// watches feed and the same slim Velero views its caches keep, so the CLI and
// the metrics read components and coverage the same way.
import { ComponentRegistry } from '../components/component-registry.js';
import { identityOf, type ComponentKey } from '../components/component-key.js';
import { TenantDirectory } from '../tenancy/tenant-directory.js';
import type { TenantLabels } from '../tenancy/tenant-labels.js';
import { backupComponent, scheduleComponent } from '../velero/velero-scope.js';
import { namespaceSummary } from './tenant-namespace-watch.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import type { ComponentBackups } from '../controller/coverage.js';
import { VELERO_LABEL, veleroLabelValue } from '../velero/velero-labels.js';
import { veleroPath } from '../velero/velero-resources.js';
import { viewBackup, viewBackupStorageLocation, viewPodVolumeBackup, viewSchedule, type BackupStorageLocationView, type BackupView, type PodVolumeBackupView, type ScheduleView } from '../velero/velero-views.js';
import { defined } from '../defined.js';
import { COMPONENT_SOURCES } from './component-watch.js';
import type { KubeHttp } from './kube-http.js';
import { listAllPages } from './paginated-list.js';
import { ViewIndex } from './view-index.js';
import { isObject } from '../is-object.js';
import { listRetainedRecords, type ListedRecord } from './retained-records.js';

export interface ClusterSnapshot {
  registry: ComponentRegistry;
  backupsOf(component: ComponentKey): ComponentBackups;
  /** Records of volumes the data guard kept (ConfigMaps in the project's namespace). */
  retainedVolumes: readonly ListedRecord[];
  /** Every BackupStorageLocation in Velero's namespace. */
  storageLocations: readonly BackupStorageLocationView[];
}

export async function readClusterSnapshot(http: KubeHttp, veleroNamespace: string, pageTimeoutMs: number, ownNamespace: string, tenantLabels: TenantLabels): Promise<ClusterSnapshot> {
  const tenants = new TenantDirectory(tenantLabels);
  const registry = new ComponentRegistry(tenants);
  const schedules = new ViewIndex<ScheduleView>(VELERO_LABEL.serviceId);
  const backups = new ViewIndex<BackupView>(VELERO_LABEL.serviceId);
  const podVolumeBackups = new ViewIndex<PodVolumeBackupView>(VELERO_LABEL.backupName);
  const wutong = { labelSelector: `${WUTONG_LABEL.creator}=${WUTONG_CREATOR}` };
  const velero = <V extends ScheduleView | BackupView | PodVolumeBackupView>(
    resource: 'schedules' | 'backups' | 'podvolumebackups',
    view: (raw: unknown) => V | undefined,
    index: ViewIndex<V>,
  ): Promise<void> =>
    listAllPages(http, veleroPath(veleroNamespace, resource), {}, pageTimeoutMs).then((items) => {
      for (const item of items) {
        const v = view(item);
        if (v) index.upsert(v);
      }
    });
  let retainedVolumes: ListedRecord[] = [];
  let storageLocations: BackupStorageLocationView[] = [];
  await Promise.all([
    listAllPages(http, veleroPath(veleroNamespace, 'backupstoragelocations'), {}, pageTimeoutMs).then((items) => (storageLocations = items.map(viewBackupStorageLocation).filter(defined))),
    listAllPages(http, '/api/v1/namespaces', { labelSelector: tenantLabels.selector }, pageTimeoutMs).then((items) => {
      for (const item of items) {
        const summary = namespaceSummary(item);
        if (summary) tenants.upsert(summary);
      }
    }),
    listRetainedRecords(http, ownNamespace, pageTimeoutMs).then((records) => (retainedVolumes = records)),
    ...COMPONENT_SOURCES.map(async (source) => {
      for (const item of await listAllPages(http, source.path, wutong, pageTimeoutMs)) if (isObject(item)) registry.upsert(source.summarize(item));
    }),
    velero('schedules', viewSchedule, schedules),
    velero('backups', viewBackup, backups),
    velero('podvolumebackups', viewPodVolumeBackup, podVolumeBackups),
  ]);
  return {
    registry,
    retainedVolumes,
    storageLocations,
    backupsOf: (component) => ({
      schedules: schedules.withLabel(identityOf(component).serviceId).filter((v) => scheduleComponent(v) === component),
      backups: backups.withLabel(identityOf(component).serviceId).filter((v) => backupComponent(v) === component),
      // Velero writes this label through label.GetValidName: a name over 63 characters is shortened.
      podVolumeBackupsOf: (name) => podVolumeBackups.withLabel(veleroLabelValue(name)),
    }),
  };
}
