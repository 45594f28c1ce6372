import { createHmac, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { apiRequest, type ApiResponse } from '../cluster/cluster.js';
import { formatGoDuration, parseGoDuration } from './go-duration.js';
import { clusterInfo } from './kube.js';
import type { NodeRuntime } from './node-runtime.js';
import { parseStandardCron } from './robfig-cron.js';
import { backupHookFromAnnotations, initContainersWithRestoreHooks, runBackupHook, type InitContainer, type RestoreHooksSpec } from './velero-hooks.js';
import { groupRestoreExecHooks, handleRestoreExecHooks, HooksContext, type RestoredPod } from './velero-restore-exec-hooks.js';
import { resticBackup, resticRepositoryDir, resticRestore, veleroRepoIdentifier, writeRestoreDoneFile, type ResticStore, type UploaderProgress } from './velero-restic.js';
import {
  BACKED_UP_RESOURCES, collectionPath, podForRestore, qualified, resetForRestore, resetVolumeBindingInfo, restoreOrder, restoreTakes, serviceForRestore,
  type ItemManifest, type RestoreFilter, type StoredItem,
} from './velero-restore-items.js';

/**
 * VELERO STAND-IN: plays Velero v1.11.1's server and node agent against the
 * test API server (Velero cannot run here: no container engine, no object
 * storage). It reproduces what Velero's controllers write to the Kubernetes
 * API, read from vmware-tanzu/velero v1.11.1 `pkg/controller/`:
 *
 * - backup_controller.go: one Backup at a time, oldest first; phase ""/New →
 *   validation (storage location must exist and not be ReadOnly, else
 *   FailedValidation with status.validationErrors) → InProgress with
 *   startTimestamp, expiration (start + spec.ttl, default 720h), formatVersion,
 *   label velero.io/storage-location and defaulted spec (ttl, csiSnapshotTimeout,
 *   defaultVolumesToFsBackup) → Finalizing → Completed with completionTimestamp
 *   (backup_finalizer_controller.go). A location whose phase is Unavailable
 *   passes validation, as in Velero, and the backup then fails when the store
 *   is reached: Failed with failureReason "error checking if backup already
 *   exists in object storage: …". At start, InProgress Backups and Restores are
 *   marked Failed (server.go markInProgressBackupsFailed).
 * - pkg/podvolume (util.go GetVolumesByPod, backupper.go): PodVolumeBackups
 *   for the volumes of the Running pods that the Backup selects (namespaces,
 *   labelSelector/orLabelSelectors); with defaultVolumesToFsBackup every volume
 *   but hostPath, secret, configMap, projected, downwardAPI, `default-token-*`
 *   and those in backup.velero.io/backup-volumes-excludes; without it only those
 *   in backup.velero.io/backup-volumes. A volume no container mounts is
 *   skipped, one PVC is backed up once per backup, a missing PVC is an error
 *   (PartiallyFailed). PVBs: generateName `<backup>-`, labels
 *   velero.io/backup-name, velero.io/backup-uid, velero.io/pvc-uid, annotation
 *   velero.io/pvc-name, controller ownerReference to the Backup.
 * - pod_volume_backup_controller.go: PVB ""(New) → InProgress → Completed with
 *   status.progress {totalBytes, bytesDone}, snapshotID, path.
 * - restore_controller.go: one Restore at a time; missing backup →
 *   FailedValidation ("Error retrieving backup: can't find backup …"); else
 *   InProgress → PodVolumeRestores (label velero.io/restore-name, one per
 *   Completed PVB of the backup) → Completed with progress
 *   {totalItems, itemsRestored}.
 * - backup_deletion_controller.go: a DeleteBackupRequest first deletes the
 *   other requests for the same backup (L153-157, L426-448), refuses a backup
 *   still being backed up ("backup is still in progress", L159-166) or missing
 *   ("backup not found", L168-182), one whose storage location is missing or
 *   ReadOnly ("cannot delete backup because backup storage location … is
 *   currently in read-only mode", L184-206: Processed, the Backup untouched),
 *   then InProgress (labels velero.io/backup-name, velero.io/backup-uid), Backup
 *   phase Deleting (L228-236), deletes every Restore whose spec.backupName is
 *   that backup, whatever its phase (L324-351), and the Backup (the garbage
 *   collector removes its PodVolumeBackups through their owner references),
 *   Processed, and on success deletes every request for that backup — itself
 *   included — right away, as Velero does (L373-389). When a step fails (the
 *   object store unreachable: the location Unavailable) the request is
 *   Processed with the errors (L366-371) and the Backup stays Deleting: v1.11.1
 *   never sets the phase back.
 * - download_request_controller.go: status.downloadURL (a pre-signed-looking
 *   URL), phase Processed, expiration now + 10 min; a missing backup leaves the
 *   request unprocessed and retried with controller-runtime's backoff;
 *   expired requests are deleted.
 * - schedule_controller.go: robfig/cron v1.1.0 ParseStandard → Enabled or
 *   FailedValidation; paused schedules are ignored (L73-79: nothing happens
 *   while paused, so a resume is checked like any change); checked every
 *   minute (scaled by timeScale) and on a spec change (L81); due when now is
 *   after cron.Next(status.lastBackup, else creationTimestamp) under the spec
 *   as it is now (L246-257), so a resume after a missed run and a cron edit
 *   whose new spec has a run in between back up at once, once (L228-231), and
 *   a spec with no run within five years (robfig's zero time) is always due;
 *   skipped while one of its backups is New or InProgress, phase "" (not yet
 *   picked up by the backup controller) not counted (L201-205); Backup
 *   `<schedule>-<yyyyMMddHHmmss>` from spec.template, with the template's
 *   labels (else the Schedule's), velero.io/schedule-name, the Schedule's
 *   annotations (pkg/builder/backup_builder.go L84-126); status.lastBackup.
 * - backup_storage_location_controller.go L125-144: status.phase/message kept at
 *   what the test sets (setStorageLocation), lastValidationTime written on every
 *   validation: at once, then every spec.validationFrequency or Velero's default
 *   1 minute, never again when it is 0 (internal/storage/storagelocation.go
 *   IsReadyToValidate L48-75). A stopped stand-in validates nothing, so the
 *   time ages as it does when no Velero server runs. spec.accessMode ReadOnly is
 *   the test's to set: backups there fail validation and deletions are refused
 *   (below).
 * - backup_sync_controller.go: the stand-in keeps what Velero uploads (a
 *   finished backup's metadata and PodVolumeBackups) as its "object store";
 *   every sync period (1 min, scaled by timeScale) a stored backup of an
 *   Available location that is missing from the cluster is created again with
 *   its PodVolumeBackups. So a Backup object deleted directly comes back, as
 *   with Velero; only a DeleteBackupRequest removes it from the store.
 *
 * DATA MODE (options.nodes given; the pods those NodeRuntimes run carry real
 * data, pods elsewhere stay objects-only):
 * - pkg/backup/item_backupper.go backupItem L181-263, one pod at a time: the
 *   pre hook (velero-hooks.ts; a failed on-error Fail hook drops the pod and
 *   its volumes from the backup), the pod's PodVolumeBackups, which
 *   BackupPodVolumes waits for in v1.11 (the node agent copies each with
 *   Debian's restic, velero-restic.ts: repository per location and volume
 *   namespace, parent snapshot per claim, empty volumes without a snapshot),
 *   then the post hook — in v1.11.1 after the copy (the post hook running
 *   before the copy, velero#8159, came with the asynchronous FSB of 1.12+).
 *   Every error and warning Velero logs is counted in status.errors/warnings.
 * - backupper.go L207-224: a volume on a hostPath PV is skipped with a warning.
 * - the backup keeps the manifests of everything it selected
 *   (velero-restore-items.ts BACKED_UP_RESOURCES); a Restore restores them as
 *   pkg/restore/restore.go does (velero-restore-items.ts), creates a
 *   PodVolumeRestore for each volume with a snapshot of each pod it created
 *   (L1525-1538), and ends only when they have (podVolumeWaitGroup):
 *   PartiallyFailed with "pod volume restore failed: …" when one failed.
 *   Then it waits for the post-restore exec hooks of every pod it created
 *   (restore.go waitExec / hooksWaitGroup; velero-restore-exec-hooks.ts):
 *   each error of a hook with on-error Fail is an error of the Restore.
 * - pod_volume_restore_controller.go: a PVR is processed when its pod runs
 *   on a data node with restore-wait Running (isInitContainerRunning): restic
 *   restore into the volume, then .velero/<restore uid>.
 * A Restore of a backup the stand-in did not take itself (one a test seeded)
 * has no kept objects and follows the objects-only way.
 *
 * Left out: object storage (repositories are local directories; objects-only
 * mode copies nothing and reports the configured volumeBytes), backup hooks
 * from spec.hooks and on pods not on a data node, snapshots and CSI, plugins, resource
 * filtering beyond namespaces and labels in objects-only mode (totalItems counts the selected
 * pods, PVCs, Services, ConfigMaps, Secrets, workloads, bound PVs and included
 * namespaces), restoring objects other than pods in objects-only mode
 * (PodVolumeRestores name the backed-up pods), the node-agent presence check, garbage collection of
 * expired backups, and the sync's deletion of Completed Backups missing from
 * the store (tests seed Backups directly; Velero would delete those). Every v1.11.1 Velero CRD is
 * without a status subresource, so status is written with merge patches of the
 * whole object, as Velero's kubeutil.PatchResource does.
 */
export interface VeleroStandInOptions {
  /** Velero's namespace (default 'velero'). */
  namespace?: string;
  /** Schedules: real seconds per stand-in second, e.g. 60 = a "* * * * *" schedule fires every second. */
  timeScale?: number;
  /** Delay between phase steps (New → InProgress → Completed), default 100 ms. */
  stepMs?: number;
  /** Bytes each PodVolumeBackup reports (totalBytes), default 82,854,982 ("83 MB"). */
  volumeBytes?: number;
  /** Base of the download URLs written to DownloadRequest status. */
  downloadBaseUrl?: string;
  /**
   * Data mode: the nodes whose pods carry real data (their volumes are copied with restic, their
   * hooks run); a Restore then restores every kept object, not only pods. Undefined: objects-only.
   */
  nodes?: readonly NodeRuntime[];
  /** Where the restic repositories live (default: a new directory under the OS temp dir, removed at stop). */
  repositoryRoot?: string;
}

export type BackupFailure = 'Failed' | 'PartiallyFailed' | 'FailedValidation';

export interface VeleroStandIn {
  /** Creates (if absent) BackupStorageLocation `name` and keeps its status.phase. */
  setStorageLocation(name: string, phase: 'Available' | 'Unavailable'): Promise<void>;
  /**
   * The next backup (whose name matches `match`, default any) ends this way:
   * FailedValidation with `failureReason` as its validation error, Failed with it
   * as failureReason, or PartiallyFailed with its last PodVolumeBackup Failed
   * with it as message (Velero sets no failureReason on PartiallyFailed).
   * Calls queue up, one backup each.
   */
  failNextBackup(outcome: BackupFailure, failureReason?: string, match?: RegExp): void;
  /** Hold backups in InProgress (PodVolumeBackups half done) until released; Velero runs one backup at a time, so later ones stay New. */
  holdBackups(hold: boolean): void;
  /** Leave DeleteBackupRequests unprocessed (no phase, Backup untouched) until released, as a busy Velero would. */
  holdDeletions(hold: boolean): void;
  /** What Velero would write to the backup's or restore's log (data mode: hooks, skips, errors). */
  log(name: string): readonly string[];
  stop(): Promise<void>;
}

/** What the stand-in needs to reach the API server: ClusterInfo fits. */
export interface StandInConnection { server: string; token: string; caPem: string }

const VELERO_API = '/apis/velero.io/v1';
const POLL_MS = 200;
const CALL_TIMEOUT_MS = 10_000;
const CALL_ATTEMPTS = 4;
const DEFAULT_TTL_MS = 30 * 24 * 3_600_000;
const DEFAULT_CSI_SNAPSHOT_TIMEOUT = '10m0s';
const DOWNLOAD_URL_TTL_MS = 10 * 60_000;
const DELETE_BACKUP_REQUEST_MAX_AGE_MS = 24 * 3_600_000;
const SCHEDULE_SYNC_PERIOD_MS = 60_000;
/** Velero's --store-validation-frequency default (pkg/cmd/server/server.go L89): how often a location is validated again. */
const STORE_VALIDATION_FREQUENCY_MS = 60_000;
/** Velero's --backup-sync-period default. */
const BACKUP_SYNC_PERIOD_MS = 60_000;
const RETRY_BASE_MS = 5;
const RETRY_MAX_MS = 1_000_000;
/** File name endings by DownloadRequest target kind. */
const DOWNLOAD_SUFFIXES: Record<string, string> = {
  BackupContents: '.tar.gz',
  BackupLog: '-logs.gz',
  BackupVolumeSnapshots: '-volumesnapshots.json.gz',
  BackupResourceList: '-resource-list.json.gz',
  BackupItemOperations: '-itemoperations.json.gz',
  CSIBackupVolumeSnapshots: '-csi-volumesnapshots.json.gz',
  CSIBackupVolumeSnapshotContents: '-csi-volumesnapshotcontents.json.gz',
  RestoreLog: '-logs.gz',
  RestoreResults: '-results.gz',
  RestoreResourceList: '-resource-list.json.gz',
  RestoreItemOperations: '-itemoperations.json.gz',
};
/** Volume kinds Velero's GetVolumesByPod never backs up. */
const SKIPPED_VOLUME_KINDS = ['hostPath', 'secret', 'configMap', 'projected', 'downwardAPI'] as const;
/** Namespaced kinds counted into a backup's totalItems, besides pods and PVCs. */
const COUNTED_PATHS = ['/api/v1/services', '/api/v1/configmaps', '/api/v1/secrets', '/apis/apps/v1/statefulsets', '/apis/apps/v1/deployments', '/apis/apps/v1/replicasets'];

const LABEL = {
  storageLocation: 'velero.io/storage-location',
  scheduleName: 'velero.io/schedule-name',
  backupName: 'velero.io/backup-name',
  backupUid: 'velero.io/backup-uid',
  restoreName: 'velero.io/restore-name',
  restoreUid: 'velero.io/restore-uid',
  pvcUid: 'velero.io/pvc-uid',
  podUid: 'velero.io/pod-uid',
} as const;
const ANNOTATION = {
  volumesToBackup: 'backup.velero.io/backup-volumes',
  volumesToExclude: 'backup.velero.io/backup-volumes-excludes',
  pvcName: 'velero.io/pvc-name',
} as const;

interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { uid: string; controller?: boolean }[];
}
/** Velero objects as JSON: only what the stand-in reads is typed. */
interface Obj<Spec = unknown, Status = unknown> {
  metadata: Meta;
  spec?: Spec;
  status?: Status;
}
interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
interface BackupSpec {
  storageLocation?: string;
  ttl?: string;
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
  defaultVolumesToFsBackup?: boolean;
  defaultVolumesToRestic?: boolean;
  csiSnapshotTimeout?: string;
  includedResources?: string[];
  excludedResources?: string[];
}
interface BackupStatus { phase?: string; progress?: { totalItems?: number; itemsBackedUp?: number } }
type Backup = Obj<BackupSpec, BackupStatus>;
interface PodVolume { name: string; persistentVolumeClaim?: { claimName: string }; [kind: string]: unknown }
type Pod = Obj<
  { nodeName?: string; volumes?: PodVolume[]; containers?: { name: string; volumeMounts?: { name: string }[] }[]; initContainers?: { name: string }[] },
  { phase?: string; initContainerStatuses?: { name: string; state?: { running?: unknown } }[] }
>;
interface PodVolumeBackupSpec { pod: { namespace: string; name: string; uid?: string }; volume: string; uploaderType?: string; repoIdentifier?: string; backupStorageLocation?: string }
interface PodVolumeBackupStatus { phase?: string; snapshotID?: string; startTimestamp?: string; message?: string; progress?: { totalBytes?: number } }
type PodVolumeBackup = Obj<PodVolumeBackupSpec, PodVolumeBackupStatus>;
type Restore = Obj<{ backupName?: string; scheduleName?: string; namespaceMapping?: Record<string, string>; hooks?: RestoreHooksSpec; preserveNodePorts?: boolean } & RestoreFilter, { phase?: string }>;
interface PodVolumeRestoreSpec { pod: { namespace: string; name: string; uid?: string }; volume: string; snapshotID: string; backupStorageLocation: string; repoIdentifier: string; sourceNamespace: string }
type PodVolumeRestore = Obj<PodVolumeRestoreSpec, { phase?: string; message?: string }>;
type PersistentVolume = Obj<{ hostPath?: unknown }>;
type DeleteBackupRequest = Obj<{ backupName?: string }, { phase?: string }>;
type DownloadRequest = Obj<{ target?: { kind?: string; name?: string } }, { phase?: string; expiration?: string }>;
type Schedule = Obj<{ schedule?: string; paused?: boolean; useOwnerReferencesInBackup?: boolean; template?: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown> }, { phase?: string; lastBackup?: string }>;
type StorageLocation = Obj<{ accessMode?: string; default?: boolean; validationFrequency?: string }, { phase?: string; lastValidationTime?: string }>;

class Stopped extends Error {}

/** Kubernetes' metav1.Time: RFC 3339 in whole seconds. */
const kubeTime = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const byAge = (a: Obj, b: Obj): number => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);

/** Velero's label.GetValidName: values over 63 characters become 57 characters and 6 of their sha256. */
export function veleroLabelValue(value: string): string {
  return value.length <= 63 ? value : value.slice(0, 57) + createHash('sha256').update(value).digest('hex').slice(0, 6);
}

/** pkg/podvolume GetVolumesByPod of Velero v1.11.1. */
export function volumesVeleroBacksUp(pod: Pod, defaultVolumesToFsBackup: boolean): string[] {
  const annotations = pod.metadata.annotations ?? {};
  if (!defaultVolumesToFsBackup) {
    const listed = annotations[ANNOTATION.volumesToBackup] ?? '';
    return listed === '' ? [] : listed.split(',');
  }
  const excluded = (annotations[ANNOTATION.volumesToExclude] ?? '').split(',');
  return (pod.spec?.volumes ?? [])
    .filter((v) => !SKIPPED_VOLUME_KINDS.some((kind) => v[kind] !== undefined && v[kind] !== null))
    .filter((v) => !excluded.includes(v.name) && !v.name.startsWith('default-token'))
    .map((v) => v.name);
}

function selectorQuery(selector: LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function connectionFrom(kubeconfigOrConn: StandInConnection | string): StandInConnection {
  if (typeof kubeconfigOrConn !== 'string') return kubeconfigOrConn;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigOrConn);
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster || !token) throw new Error(`Velero stand-in: ${kubeconfigOrConn} has no current cluster with a bearer token`);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
  return { server: cluster.server, token, caPem };
}

export async function startVeleroStandIn(kubeconfigOrConn: StandInConnection | string = clusterInfo(), options: VeleroStandInOptions = {}): Promise<VeleroStandIn> {
  const conn = connectionFrom(kubeconfigOrConn);
  const ns = options.namespace ?? 'velero';
  const timeScale = options.timeScale ?? 1;
  const stepMs = options.stepMs ?? 100;
  const volumeBytes = options.volumeBytes ?? 82_854_982;
  const downloadBaseUrl = (options.downloadBaseUrl ?? 'https://object-store.velero-stand-in.invalid/velero/backups').replace(/\/+$/, '');
  const signingKey = randomBytes(32);
  const startedAt = Date.now();
  /** The schedules' clock: starts at the real time and runs timeScale times faster. */
  const virtual = (realMs: number): number => startedAt + (realMs - startedAt) * timeScale;

  /** Data mode: the nodes whose pods carry data, by name; undefined in objects-only mode. */
  const dataNodes = options.nodes ? new Map(options.nodes.map((n) => [n.nodeName, n])) : undefined;
  /** A repository root the stand-in made itself goes with it; one the test gave stays (the test owns it). */
  const ownRepositoryRoot = dataNodes !== undefined && options.repositoryRoot === undefined;
  const resticStore: ResticStore = { root: options.repositoryRoot ?? (ownRepositoryRoot ? mkdtempSync(join(tmpdir(), 'velero-stand-in-')) : '') };
  /** Velero's backup and restore logs, by backup or restore name. */
  const logs = new Map<string, string[]>();
  const logTo = (name: string, ...lines: string[]): void => {
    logs.set(name, [...(logs.get(name) ?? []), ...lines]);
  };

  let stopped = false;
  let hold = false;
  let holdDeletions = false;
  const failures: { outcome: BackupFailure; reason: string | undefined; match: RegExp | undefined }[] = [];
  const locations = new Map<string, 'Available' | 'Unavailable'>();
  /** Velero's backupTracker: backups the backup controller is running (DeleteBackupRequests refuse them). */
  const running = new Set<string>();
  const workers = {
    backups: undefined as Promise<void> | undefined,
    restores: undefined as Promise<void> | undefined,
    deletions: undefined as Promise<void> | undefined,
    podVolumeRestores: undefined as Promise<void> | undefined,
  };
  let lastError: unknown;
  const downloadRetries = new Map<string, { failures: number; notBefore: number }>();
  /** The spec each Schedule was last reconciled with, by uid. */
  const scheduleSeen = new Map<string, string>();
  /**
   * Each Schedule's last run on the scaled clock, with the status.lastBackup the stand-in wrote for it: metav1.Time
   * keeps whole seconds, which timeScale would stretch into a minute (a "* * * * *" schedule firing twice). Used only
   * while status.lastBackup is still what the stand-in wrote; a lastBackup someone else wrote is read as Velero reads it.
   */
  const scheduleLastRun = new Map<string, { written: string; at: number }>();
  let lastScheduleSync = 0;
  let lastBackupSync = Date.now();
  /** The object store: what Velero uploaded for each backup (its metadata and PodVolumeBackups), by backup name. */
  const objectStore = new Map<string, { backup: Backup; volumes: PodVolumeBackup[]; pods: Pod[]; items: StoredItem[] }>();
  /** The pod manifests a running backup selected (its "resource tarball"), until the upload stores them. */
  const backedUpPods = new Map<string, Pod[]>();
  /** Data mode: every manifest a running backup selected, until the upload stores them. */
  const backedUpItems = new Map<string, StoredItem[]>();

  const path = (resource: string, name?: string): string => `${VELERO_API}/namespaces/${ns}/${resource}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

  /**
   * One API call with a timeout, retried on transport errors, 429 and 5xx: a stand-in that gives up
   * mid-backup would leave it InProgress. A POST is retried only on 429, which says nothing was
   * created: a second generateName POST after a lost answer would make a second PodVolumeBackup.
   */
  const call = async (method: string, url: string, body?: unknown, contentType?: string): Promise<ApiResponse> => {
    const idempotent = method !== 'POST';
    for (let attempt = 1; ; attempt++) {
      let res: ApiResponse | undefined;
      try {
        res = await apiRequest(conn, method, url, body, contentType, CALL_TIMEOUT_MS);
      } catch (err) {
        if (!idempotent || attempt >= CALL_ATTEMPTS || stopped) throw err;
      }
      const retry = res === undefined || res.status === 429 || (idempotent && res.status >= 500);
      if (res && (!retry || attempt >= CALL_ATTEMPTS)) return res;
      await sleep(100 * 2 ** attempt);
    }
  };
  const ok = (res: ApiResponse, what: string, also: number[] = []): ApiResponse => {
    if ((res.status < 200 || res.status > 299) && !also.includes(res.status)) throw new Error(`Velero stand-in: ${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    return res;
  };
  const list = async <T extends Obj>(url: string, labelSelector?: string): Promise<T[]> => {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const res = ok(await call('GET', url + query), `listing ${url}`);
    return ((res.json as { items?: T[] }).items ?? []);
  };
  const get = async <T extends Obj>(url: string): Promise<T | undefined> => {
    const res = ok(await call('GET', url), `reading ${url}`, [404]);
    return res.status === 404 ? undefined : (res.json as T);
  };
  /** A Velero object by name; an empty name (which would make the URL a list) is simply absent. */
  const getVelero = async <T extends Obj>(resource: string, name: string | undefined): Promise<T | undefined> =>
    name ? get<T>(path(resource, name)) : undefined;
  /** A JSON merge patch of the whole object, as Velero's kubeutil.PatchResource (client.MergeFrom). */
  const patch = async (resource: string, name: string, body: unknown, also: number[] = []): Promise<ApiResponse> =>
    ok(await call('PATCH', path(resource, name), body, 'application/merge-patch+json'), `patching ${resource}/${name}`, also);
  const remove = async (url: string, what: string): Promise<void> => {
    ok(await call('DELETE', url), `deleting ${what}`, [404]);
  };
  /** A step of Velero's work; ends the worker when the stand-in stops. */
  const step = async (ms = stepMs): Promise<void> => {
    await sleep(ms);
    if (stopped) throw new Stopped();
  };

  // ---- BackupStorageLocations (backup_storage_location_controller.go) ----
  /**
   * internal/storage/storagelocation.go IsReadyToValidate L48-75: a location never validated is due at
   * once; else every spec.validationFrequency, or the server's --store-validation-frequency (1 minute,
   * pkg/cmd/server/server.go L89); a frequency of 0 turns validation off after the first.
   */
  const dueForValidation = (location: StorageLocation): boolean => {
    const last = location.status?.lastValidationTime === undefined ? Number.NaN : Date.parse(location.status.lastValidationTime);
    if (Number.isNaN(last)) return true;
    const own = location.spec?.validationFrequency === undefined ? undefined : parseGoDuration(location.spec.validationFrequency);
    const frequency = own === undefined || own < 0 ? STORE_VALIDATION_FREQUENCY_MS : own;
    if (frequency === 0) return false;
    return Date.now() >= last + frequency;
  };
  const keepLocation = async (name: string, phase: 'Available' | 'Unavailable'): Promise<void> => {
    // Go's omitempty: an Available location has no message (null removes it in a merge patch).
    const message = phase === 'Available' ? undefined : `BackupStorageLocation "${name}" is unavailable: stand-in: the object store is unreachable`;
    // backup_storage_location_controller.go L125-144: every validation writes phase, message and lastValidationTime.
    const status = { phase, lastValidationTime: kubeTime(), ...(message ? { message } : {}) };
    const current = await getVelero<StorageLocation>('backupstoragelocations', name);
    if (!current) {
      ok(await call('POST', path('backupstoragelocations'), {
        apiVersion: 'velero.io/v1',
        kind: 'BackupStorageLocation',
        metadata: { name, namespace: ns },
        spec: { provider: 'aws', default: name === 'default', objectStorage: { bucket: 'velero-stand-in' }, config: { region: 'stand-in' } },
        status,
      }), `creating BackupStorageLocation ${name}`, [409]);
    } else if (current.status?.phase !== phase || dueForValidation(current)) {
      await patch('backupstoragelocations', name, { status: { ...status, message: message ?? null } }, [404]);
    }
  };

  // ---- Backups (backup_controller.go, pkg/podvolume, pod_volume_backup_controller.go) ----
  const takeFailure = (name: string): (typeof failures)[number] | undefined => {
    const i = failures.findIndex((f) => !f.match || f.match.test(name));
    return i < 0 ? undefined : failures.splice(i, 1)[0];
  };

  const selectedNamespaces = (spec: BackupSpec): string[] | undefined => {
    const included = spec.includedNamespaces ?? [];
    if (included.length === 0 || included.includes('*')) return undefined; // every namespace
    const excluded = new Set(spec.excludedNamespaces ?? []);
    return included.filter((n) => !excluded.has(n));
  };
  /** Lists `collection` (a cluster-wide path such as /api/v1/pods) in the backup's namespaces, with its selectors. */
  const selected = async <T extends Obj>(spec: BackupSpec, collection: string): Promise<T[]> => {
    const namespaces = selectedNamespaces(spec);
    const selectors = spec.orLabelSelectors?.length ? spec.orLabelSelectors.map(selectorQuery) : [selectorQuery(spec.labelSelector)];
    const excluded = new Set(spec.excludedNamespaces ?? []);
    const [prefix = '', kind = ''] = /^(.*)\/([^/]+)$/.exec(collection)?.slice(1) ?? [];
    const urls = namespaces === undefined ? [collection] : namespaces.map((n) => `${prefix}/namespaces/${n}/${kind}`);
    const seen = new Map<string, T>();
    for (const url of urls) {
      for (const selector of selectors) {
        for (const item of await list<T>(url, selector)) {
          if (!excluded.has(item.metadata.namespace ?? '')) seen.set(item.metadata.uid, item);
        }
      }
    }
    return [...seen.values()];
  };

  /** persistBackup and the finalizer's upload: the backup's metadata and PodVolumeBackups as they stand. */
  const upload = async (name: string): Promise<void> => {
    const backup = await getVelero<Backup>('backups', name);
    if (backup) {
      objectStore.set(name, {
        backup,
        volumes: await list<PodVolumeBackup>(path('podvolumebackups'), `${LABEL.backupName}=${veleroLabelValue(name)}`),
        pods: backedUpPods.get(name) ?? [],
        items: backedUpItems.get(name) ?? [],
      });
    }
    backedUpPods.delete(name);
    backedUpItems.delete(name);
  };

  /**
   * Data mode: the manifests the backup selects (item_collector.go): the namespaced kinds the stand-in
   * keeps in the backup's namespaces with its label selectors and resource filters, the Namespaces
   * named, and each selected claim's PV (pkg/backup/backup_pv_action.go adds it as an additional item).
   */
  const collectItems = async (spec: BackupSpec): Promise<StoredItem[]> => {
    const items: StoredItem[] = [];
    const takes = (resource: string, group: string): boolean => {
      const q = qualified({ resource, group });
      const excluded = spec.excludedResources ?? [];
      const included = spec.includedResources ?? [];
      if (excluded.includes(resource) || excluded.includes(q)) return false;
      return included.length === 0 || included.includes('*') || included.includes(resource) || included.includes(q);
    };
    for (const r of BACKED_UP_RESOURCES) {
      if (!r.namespaced || !takes(r.resource, r.group)) continue;
      for (const manifest of await selected<Obj>(spec, collectionPath(r.resource, r.group))) {
        items.push({ resource: r.resource, group: r.group, manifest: { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, ...structuredClone(manifest) } as ItemManifest });
      }
    }
    if (takes('persistentvolumes', '')) {
      for (const claim of items.filter((i) => i.resource === 'persistentvolumeclaims')) {
        const volumeName = claim.manifest.spec?.volumeName;
        if (typeof volumeName !== 'string' || volumeName === '') continue;
        const pv = await get<Obj>(`/api/v1/persistentvolumes/${encodeURIComponent(volumeName)}`);
        if (pv) items.push({ resource: 'persistentvolumes', group: '', manifest: { apiVersion: 'v1', kind: 'PersistentVolume', ...structuredClone(pv) } as ItemManifest });
      }
    }
    if (takes('namespaces', '')) {
      for (const namespace of selectedNamespaces(spec) ?? []) {
        const found = await get<Obj>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
        if (found) items.push({ resource: 'namespaces', group: '', manifest: { apiVersion: 'v1', kind: 'Namespace', ...structuredClone(found) } as ItemManifest });
      }
    }
    return items;
  };

  /**
   * The node agent's pod_volume_backup_controller.go Reconcile for one PVB on a data node: InProgress,
   * the pod's volume directory (GetVolumeDirectory + SinglePathMatch), the parent snapshot (the newest
   * Completed PVB of the same claim, uploader and location: getParentSnapshot), restic backup, then
   * Completed with path and snapshotID (message for an empty volume) or Failed with Velero's message.
   */
  const runPodVolumeBackup = async (pvbName: string, node: NodeRuntime): Promise<{ phase: string; message?: string }> => {
    const pvb = await getVelero<PodVolumeBackup & { spec: PodVolumeBackupSpec & { tags?: Record<string, string> } }>('podvolumebackups', pvbName);
    if (!pvb?.spec) return { phase: 'Failed', message: `PodVolumeBackup ${pvbName} is gone` };
    const spec = pvb.spec;
    const startTimestamp = kubeTime();
    await patch('podvolumebackups', pvbName, { status: { phase: 'InProgress', startTimestamp } }, [404]);
    const failed = async (message: string): Promise<{ phase: string; message: string }> => {
      await patch('podvolumebackups', pvbName, { status: { phase: 'Failed', message, completionTimestamp: kubeTime() } }, [404]);
      return { phase: 'Failed', message };
    };
    const volumeDir = node.volumeDir(spec.pod.uid ?? '', spec.volume);
    if (!volumeDir) return failed(`identifying unique volume path on host: expected one matching path: /host_pods/${spec.pod.uid ?? ''}/volumes/*/${spec.volume}, got 0`);
    let parentSnapshotId: string | undefined;
    const pvcUid = pvb.metadata.labels?.[LABEL.pvcUid];
    if (pvcUid) {
      const parents = (await list<PodVolumeBackup>(path('podvolumebackups'), `${LABEL.pvcUid}=${pvcUid}`))
        .filter((p) => p.status?.phase === 'Completed' && p.spec?.uploaderType === spec.uploaderType && p.spec?.backupStorageLocation === spec.backupStorageLocation)
        .sort((a, b) => (b.status?.startTimestamp ?? '').localeCompare(a.status?.startTimestamp ?? ''));
      parentSnapshotId = parents[0]?.status?.snapshotID || undefined;
    }
    let progressPatch: Promise<unknown> = Promise.resolve();
    const onProgress = (progress: UploaderProgress): void => {
      progressPatch = progressPatch.then(() => patch('podvolumebackups', pvbName, { status: { progress } }, [404])).catch(() => undefined);
    };
    try {
      const result = await resticBackup(resticStore, {
        repoDir: resticRepositoryDir(resticStore, spec.backupStorageLocation ?? '', spec.pod.namespace),
        volumeDir,
        tags: spec.tags ?? {},
        ...(parentSnapshotId ? { parentSnapshotId } : {}),
        onProgress,
      });
      await progressPatch;
      await patch('podvolumebackups', pvbName, {
        status: {
          phase: 'Completed',
          path: volumeDir,
          completionTimestamp: kubeTime(),
          // Go's omitempty: an empty volume's PVB has no snapshotID at all.
          ...(result.empty ? { message: 'volume was empty so no snapshot was taken' } : { snapshotID: result.snapshotId }),
        },
      }, [404]);
      return { phase: 'Completed' };
    } catch (err) {
      await progressPatch;
      const e = (err as Error).message;
      return failed(`running backup, stderr=${e}: ${e}`);
    }
  };

  const runBackup = async (backup: Backup): Promise<void> => {
    const { name } = backup.metadata;
    const spec = backup.spec ?? {};
    const failure = takeFailure(name);
    const validationErrors: string[] = [];
    const ttlMs = spec.ttl ? (parseGoDuration(spec.ttl) ?? 0) : 0;
    const ttl = ttlMs === 0 ? DEFAULT_TTL_MS : ttlMs;
    let storageLocation = spec.storageLocation ?? '';
    if (storageLocation === '') {
      const defaultOne = (await list<StorageLocation>(path('backupstoragelocations'))).find((l) => l.spec?.default);
      storageLocation = defaultOne?.metadata.name ?? 'default';
    }
    const location = await getVelero<StorageLocation>('backupstoragelocations', storageLocation);
    if (!location) {
      validationErrors.push(`an existing backup storage location wasn't specified at backup creation time and the default '${storageLocation}' wasn't found. Please address this issue (see \`velero backup-location -h\` for options) and create a new backup. Error: backupstoragelocations.velero.io "${storageLocation}" not found`);
    } else if (location.spec?.accessMode === 'ReadOnly') {
      validationErrors.push(`backup can't be created because backup storage location ${storageLocation} is currently in read-only mode`);
    }
    if (spec.labelSelector && spec.orLabelSelectors) validationErrors.push('encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified');
    if (failure?.outcome === 'FailedValidation') validationErrors.push(failure.reason ?? 'stand-in: validation failed as the test asked');
    const fsBackup = spec.defaultVolumesToRestic === true || spec.defaultVolumesToFsBackup === true;
    const now = Date.now();
    // Velero patches the difference between the object as read and as defaulted: a field it fills in is
    // written (Go's form, "720h0m0s"); one the client set is left as written ("720h" stays "720h").
    const prepared = {
      metadata: { labels: { [LABEL.storageLocation]: veleroLabelValue(storageLocation) } },
      spec: {
        ...(spec.storageLocation ? {} : { storageLocation }),
        ...(ttlMs === 0 ? { ttl: formatGoDuration(ttl) } : {}),
        ...(parseGoDuration(spec.csiSnapshotTimeout ?? '') ? {} : { csiSnapshotTimeout: DEFAULT_CSI_SNAPSHOT_TIMEOUT }),
        ...(spec.defaultVolumesToFsBackup === fsBackup ? {} : { defaultVolumesToFsBackup: fsBackup }),
      },
      status: { version: 1, formatVersion: '1.1.0', expiration: kubeTime(now + ttl) },
    };
    if (validationErrors.length > 0) {
      await patch('backups', name, { ...prepared, status: { ...prepared.status, phase: 'FailedValidation', validationErrors } }, [404]);
      return;
    }
    running.add(name);
    try {
      const started = await patch('backups', name, { ...prepared, status: { ...prepared.status, phase: 'InProgress', startTimestamp: kubeTime(now) } }, [404]);
      if (started.status === 404) return;
      const uid = backup.metadata.uid;
      const finish = async (status: Record<string, unknown>): Promise<void> => {
        await patch('backups', name, { status }, [404]);
      };
      if (location?.status?.phase === 'Unavailable') {
        await step();
        await finish({
          phase: 'Failed',
          completionTimestamp: kubeTime(),
          failureReason: `error checking if backup already exists in object storage: stand-in: BackupStorageLocation "${storageLocation}" is Unavailable`,
        });
        return;
      }

      const pods = await selected<Pod>(spec, '/api/v1/pods');
      // pkg/backup/item_collector.go: every selected pod's manifest goes into the backup, running or not.
      backedUpPods.set(name, structuredClone(pods));
      const pvcs = await selected<Obj<{ volumeName?: string }>>(spec, '/api/v1/persistentvolumeclaims');
      // Kept in both modes: objects-only restores bring the claims back too (Velero restores PVCs before pods).
      backedUpItems.set(name, await collectItems(spec));
      let others = 0;
      for (const collection of COUNTED_PATHS) others += (await selected(spec, collection)).length;
      const namespaces = selectedNamespaces(spec)?.length ?? 0;
      const totalItems = pods.length + pvcs.length + pvcs.filter((p) => p.spec?.volumeName).length + others + namespaces;
      await patch('backups', name, { status: { progress: { totalItems, itemsBackedUp: 0 } } }, [404]);

      const errors: string[] = [];
      /** Velero counts every warning its backup log gets (logging.LogHook). */
      const warnings: string[] = [];
      const warn = (message: string): void => {
        warnings.push(message);
        logTo(name, `level=warning msg="${message}"`);
      };
      const fail = (message: string): void => {
        errors.push(message);
        logTo(name, `level=error msg="${message}"`);
      };
      const pvbs: string[] = [];
      const takenClaims = new Set<string>();
      // The stand-in's locations are "aws" ones with bucket velero-stand-in, region stand-in (keepLocation).
      const repoLocation = { bucket: 'velero-stand-in', region: 'stand-in' };
      for (const pod of pods.sort(byAge)) {
        const podNs = pod.metadata.namespace ?? '';
        const podId = `${podNs}/${pod.metadata.name}`;
        const node = dataNodes?.get(pod.spec?.nodeName ?? '');
        // item_backupper.go L181-184: the pre hook first; on-error Fail ends this pod's backup there (its
        // manifest and volumes are not in the backup) with the error logged twice (hook, item).
        if (node) {
          const hookWarnings: string[] = [];
          const pre = backupHookFromAnnotations(pod.metadata.annotations, 'pre', hookWarnings);
          hookWarnings.forEach(warn);
          if (pre) {
            const outcome = await runBackupHook(node, pod, pre, 'pre');
            logTo(name, ...outcome.log.map((l) => `${l} pod=${podId}`));
            if (outcome.error !== undefined) errors.push(`pre hook of pod ${podId}: ${outcome.error}`);
            if (outcome.failsItem) {
              fail(`Error backing up item: pod ${podId}: ${outcome.error ?? ''}`);
              backedUpPods.set(name, (backedUpPods.get(name) ?? []).filter((p) => p.metadata.uid !== pod.metadata.uid));
              backedUpItems.set(name, (backedUpItems.get(name) ?? []).filter((i) => i.manifest.metadata.uid !== pod.metadata.uid));
              continue;
            }
          }
        }
        const volumesToBackup = volumesVeleroBacksUp(pod, fsBackup);
        // backupper.go L135-143 kube.IsPodRunning: scheduled, Running, not terminating; else a warning per volume.
        if (!pod.spec?.nodeName || pod.status?.phase !== 'Running' || pod.metadata.deletionTimestamp) {
          for (const volumeName of volumesToBackup) warn(`backup for volume ${volumeName} is skipped: pod is not in the expected status, name=${pod.metadata.name}, namespace=${podNs}, phase=${pod.status?.phase ?? ''}: pod is not running`);
          continue;
        }
        const mounted = new Set((pod.spec.containers ?? []).flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
        const podPvbs: string[] = [];
        for (const volumeName of volumesToBackup) {
          const volume = pod.spec.volumes?.find((v) => v.name === volumeName);
          if (!volume) {
            warn(`No volume named ${volumeName} found in pod ${podId}, skipping`);
            continue;
          }
          const claimName = volume.persistentVolumeClaim?.claimName;
          // item_backupper.go L196-207: a claim another pod's PVB has taken is not backed up twice.
          if (claimName !== undefined && takenClaims.has(`${podNs}/${claimName}`)) continue;
          let pvc: Obj<{ volumeName?: string }> | undefined;
          if (claimName !== undefined) {
            pvc = await get(`/api/v1/namespaces/${podNs}/persistentvolumeclaims/${encodeURIComponent(claimName)}`);
            if (!pvc) {
              fail(`error getting persistent volume claim for volume: persistentvolumeclaims "${claimName}" not found`);
              continue;
            }
          }
          // backupper.go L207-216 isHostPathVolume (L274-289): a hostPath volume, or a claim on a hostPath PV,
          // is skipped with only a warning, and the Backup still ends Completed.
          let hostPath = volume.hostPath !== undefined && volume.hostPath !== null;
          if (!hostPath && pvc?.spec?.volumeName) {
            const pv = await get<PersistentVolume>(`/api/v1/persistentvolumes/${encodeURIComponent(pvc.spec.volumeName)}`);
            if (!pv) {
              fail(`error checking if volume is a hostPath volume: persistentvolumes "${pvc.spec.volumeName}" not found`);
              continue;
            }
            hostPath = pv.spec?.hostPath !== undefined && pv.spec.hostPath !== null;
          }
          if (hostPath) {
            warn(`Volume ${volumeName} in pod ${podId} is a hostPath volume which is not supported for pod volume backup, skipping`);
            continue;
          }
          // backupper.go L218-224: volumes no container mounts have no directory.
          if (!mounted.has(volumeName)) {
            warn(`Volume ${volumeName} is declared in pod ${podId} but not mounted by any container, skipping`);
            continue;
          }
          const created = ok(await call('POST', path('podvolumebackups'), {
            apiVersion: 'velero.io/v1',
            kind: 'PodVolumeBackup',
            metadata: {
              generateName: `${name}-`,
              namespace: ns,
              ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Backup', name, uid, controller: true }],
              labels: { [LABEL.backupName]: veleroLabelValue(name), [LABEL.backupUid]: uid, ...(pvc ? { [LABEL.pvcUid]: pvc.metadata.uid } : {}) },
              ...(pvc ? { annotations: { [ANNOTATION.pvcName]: pvc.metadata.name } } : {}),
            },
            spec: {
              node: pod.spec.nodeName,
              pod: { kind: 'Pod', namespace: podNs, name: pod.metadata.name, uid: pod.metadata.uid },
              volume: volumeName,
              tags: { backup: name, 'backup-uid': uid, pod: pod.metadata.name, 'pod-uid': pod.metadata.uid, ns: podNs, volume: volumeName, ...(pvc ? { 'pvc-uid': pvc.metadata.uid } : {}) },
              backupStorageLocation: storageLocation,
              repoIdentifier: dataNodes ? veleroRepoIdentifier(repoLocation, podNs) : `s3:${downloadBaseUrl.replace(/^https?:\/\//, '')}/restic/${podNs}`,
              uploaderType: 'restic',
            },
          }), `creating a PodVolumeBackup for ${podId} volume ${volumeName}`);
          if (claimName !== undefined) takenClaims.add(`${podNs}/${claimName}`);
          podPvbs.push((created.json as Obj).metadata.name);
        }
        if (!node) {
          pvbs.push(...podPvbs);
          continue;
        }
        // BackupPodVolumes waits for this pod's PVBs (the node agent runs one at a time).
        for (const pvbName of podPvbs) {
          const result = await runPodVolumeBackup(pvbName, node);
          if (result.phase === 'Failed') fail(`pod volume backup failed: ${result.message ?? ''}`);
        }
        // item_backupper.go L260-263: the post hook, after the copy in v1.11.1; on-error Fail fails the item.
        const post = backupHookFromAnnotations(pod.metadata.annotations, 'post');
        if (post) {
          const outcome = await runBackupHook(node, pod, post, 'post');
          logTo(name, ...outcome.log.map((l) => `${l} pod=${podId}`));
          if (outcome.error !== undefined) errors.push(`post hook of pod ${podId}: ${outcome.error}`);
          if (outcome.failsItem) {
            fail(`Error backing up item: pod ${podId}: ${outcome.error ?? ''}`);
            backedUpPods.set(name, (backedUpPods.get(name) ?? []).filter((p) => p.metadata.uid !== pod.metadata.uid));
            backedUpItems.set(name, (backedUpItems.get(name) ?? []).filter((i) => i.manifest.metadata.uid !== pod.metadata.uid));
          }
        }
      }
      // The node agent's part: every PVB of this backup runs at once.
      await step();
      for (const pvb of pvbs) {
        await patch('podvolumebackups', pvb, { status: { phase: 'InProgress', startTimestamp: kubeTime(), progress: { totalBytes: volumeBytes, bytesDone: 0 } } }, [404]);
      }
      await step();
      for (const pvb of pvbs) await patch('podvolumebackups', pvb, { status: { progress: { totalBytes: volumeBytes, bytesDone: Math.floor(volumeBytes / 2) } } }, [404]);
      while (hold) await step(POLL_MS);
      await step();
      const failedVolume = failure?.outcome === 'PartiallyFailed' ? pvbs[pvbs.length - 1] : undefined;
      for (const pvb of pvbs) {
        if (pvb === failedVolume) {
          const message = failure?.reason ?? 'stand-in: the volume could not be read';
          await patch('podvolumebackups', pvb, { status: { phase: 'Failed', message, completionTimestamp: kubeTime() } }, [404]);
          errors.push(`pod volume backup failed: ${message}`);
        } else {
          await patch('podvolumebackups', pvb, {
            status: {
              phase: 'Completed',
              completionTimestamp: kubeTime(),
              path: `/host_pods/${pvb}/volumes`,
              snapshotID: randomBytes(4).toString('hex'),
              progress: { totalBytes: volumeBytes, bytesDone: volumeBytes },
            },
          }, [404]);
        }
      }
      if (failure?.outcome === 'PartiallyFailed' && errors.length === 0) errors.push(failure.reason ?? 'stand-in: partial failure as the test asked');
      await step();
      if (failure?.outcome === 'Failed') {
        await finish({ phase: 'Failed', completionTimestamp: kubeTime(), failureReason: failure.reason ?? 'stand-in: failed as the test asked', progress: { totalItems, itemsBackedUp: totalItems } });
        await upload(name);
        return;
      }
      const partial = errors.length > 0;
      await finish({ phase: partial ? 'FinalizingPartiallyFailed' : 'Finalizing', errors: errors.length, warnings: warnings.length, progress: { totalItems, itemsBackedUp: totalItems } });
      await step();
      await finish({ phase: partial ? 'PartiallyFailed' : 'Completed', completionTimestamp: kubeTime() });
      await upload(name);
    } finally {
      running.delete(name);
      backedUpPods.delete(name);
      backedUpItems.delete(name);
    }
  };

  // ---- Restores (restore_controller.go, pod_volume_restore_controller.go) ----
  /**
   * Velero v1.11.1 pkg/restore/restore.go restoreItem for pods: an absent pod is created from its
   * backed-up manifest; one that exists is left as it is ("already exists", a warning) and gets no
   * volume data. The manifest goes through resetMetadataAndStatus (no uid, resourceVersion,
   * generateName, generation, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds,
   * ownerReferences; no status), addRestoreLabels (velero.io/backup-name, velero.io/restore-name),
   * pod_action.go (spec.nodeName and spec.priority cleared, service account token volumes and their
   * mounts dropped) and, when it has volumes to restore, pod_volume_restore_action.go (an init
   * container restore-wait, first, mounting each of them under /restores/<volume> and waiting for
   * the node agent to write the data). Returns the pods created, by namespace/name.
   */
  const restorePods = async (
    pods: readonly Pod[],
    volumes: readonly PodVolumeBackup[],
    restore: { name: string; uid: string; backupName: string; targetNamespace: (ns: string) => string; hooks?: RestoreHooksSpec; namespaceMapping?: Record<string, string> },
  ): Promise<Map<string, Pod>> => {
    const created = new Map<string, Pod>();
    for (const pod of pods) {
      const namespace = restore.targetNamespace(pod.metadata.namespace ?? '');
      const podPath = `/api/v1/namespaces/${namespace}/pods`;
      if (await get(`${podPath}/${encodeURIComponent(pod.metadata.name)}`)) continue;
      const meta = { ...pod.metadata } as Record<string, unknown>;
      for (const key of ['uid', 'resourceVersion', 'generateName', 'selfLink', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'managedFields']) delete meta[key];
      meta.namespace = namespace;
      meta.labels = { ...pod.metadata.labels, [LABEL.backupName]: veleroLabelValue(restore.backupName), [LABEL.restoreName]: veleroLabelValue(restore.name) };
      const podSpec = structuredClone(pod.spec ?? {}) as Record<string, unknown> & { volumes?: PodVolume[]; containers?: { volumeMounts?: { name: string }[] }[]; initContainers?: unknown[] };
      delete podSpec.nodeName;
      delete podSpec.priority;
      const account = typeof podSpec.serviceAccountName === 'string' ? podSpec.serviceAccountName : 'default';
      const isToken = (v: PodVolume): boolean => v.name.startsWith('default-token-') || v.name.startsWith(`${account}-token-`);
      const tokens = new Set((podSpec.volumes ?? []).filter(isToken).map((v) => v.name));
      podSpec.volumes = (podSpec.volumes ?? []).filter((v) => !tokens.has(v.name));
      for (const c of podSpec.containers ?? []) c.volumeMounts = (c.volumeMounts ?? []).filter((m) => !tokens.has(m.name));
      const toRestore = volumes.filter((v) => v.spec?.pod.name === pod.metadata.name && v.spec.pod.namespace === pod.metadata.namespace).map((v) => v.spec?.volume ?? '');
      if (toRestore.length > 0) {
        podSpec.initContainers = [
          {
            name: 'restore-wait',
            image: 'velero/velero-restore-helper:v1.11.1',
            imagePullPolicy: 'IfNotPresent',
            command: ['/velero-restore-helper'],
            args: [restore.uid],
            env: [
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
            volumeMounts: toRestore.map((volume) => ({ name: volume, mountPath: `/restores/${volume}` })),
          },
          ...(podSpec.initContainers ?? []),
        ];
      }
      // Every restored pod goes through the init restore hooks, whatever the mode: v1.11.1
      // pkg/restore/init_restorehook_pod_action.go L48-57 (HandleRestoreHooks; velero-hooks.ts).
      const hooked = initContainersWithRestoreHooks(
        { namespace: pod.metadata.namespace ?? '', labels: pod.metadata.labels ?? {}, annotations: pod.metadata.annotations ?? {}, initContainers: (podSpec.initContainers ?? []) as InitContainer[] },
        restore.hooks,
        restore.namespaceMapping,
        () => randomBytes(4).toString('hex'),
      );
      if (hooked.length > 0) podSpec.initContainers = hooked;
      const answer = await call('POST', podPath, { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: podSpec });
      // 409: made meanwhile (Velero: already exists, a warning). Anything else is a restore error Velero logs and counts.
      if (answer.status === 201) created.set(`${namespace}/${pod.metadata.name}`, answer.json as Pod);
    }
    return created;
  };

  // ---- Data mode restores (pkg/restore/restore.go, pkg/podvolume/restorer.go) ----
  /**
   * Restores the kept objects in Velero's order (velero-restore-items.ts), a PodVolumeRestore per volume
   * with a snapshot of each pod this restore created (restore.go L1525-1538, restorer.go
   * RestorePodVolumes / newPodVolumeRestore), then waits for them as the podVolumeWaitGroup does.
   */
  const restoreWithData = async (restore: Restore, backupName: string, items: readonly StoredItem[], finish: (status: Record<string, unknown>) => Promise<void>): Promise<void> => {
    const { name, uid } = restore.metadata;
    const spec = restore.spec ?? {};
    const warnings: string[] = [];
    const errors: string[] = [];
    const warn = (message: string): void => {
      warnings.push(message);
      logTo(name, `level=warning msg="${message}"`);
    };
    const fail = (message: string): void => {
      errors.push(message);
      logTo(name, `level=error msg="${message}"`);
    };
    const backup = await getVelero<Backup>('backups', backupName);
    const storageLocation = backup?.spec?.storageLocation ?? '';
    // ctx.podVolumeBackups: the backup's PVBs; those without a snapshot (failed, empty volumes) restore nothing.
    const volumes = await list<PodVolumeBackup>(path('podvolumebackups'), `${LABEL.backupName}=${veleroLabelValue(backupName)}`);
    const targetNamespace = (namespace: string): string => spec.namespaceMapping?.[namespace] ?? namespace;
    const selected = items.filter((i) => restoreTakes(spec, i));
    // pkg/restore/add_pv_from_pvc_action.go: a claim that was Bound brings its PV as an additional item, and
    // additional items skip the label selector (restore.go L1243-1270 restores them through restoreItem; the
    // selector is applied only where items are listed, L2063): a provisioned PV carries no labels of the claim.
    const claimedVolumes = new Set(selected.filter((i) => i.resource === 'persistentvolumeclaims' && (i.manifest.status as { phase?: string } | undefined)?.phase === 'Bound').map((i) => i.manifest.spec?.volumeName));
    const additional = items.filter((i) => i.resource === 'persistentvolumes' && claimedVolumes.has(i.manifest.metadata.name) && !selected.includes(i) && restoreTakes({ ...spec, labelSelector: undefined }, i));
    const taken = restoreOrder([...selected, ...additional]);
    const totalItems = taken.length;
    let itemsRestored = 0;
    await patch('restores', name, { status: { progress: { totalItems, itemsRestored } } }, [404]);
    const restoresVolumes = restoreTakes({ includedResources: spec.includedResources, excludedResources: spec.excludedResources }, { resource: 'persistentvolumeclaims', group: '', manifest: { metadata: { name: '' } } })
      && restoreTakes({ includedResources: spec.includedResources, excludedResources: spec.excludedResources }, { resource: 'persistentvolumes', group: '', manifest: { metadata: { name: '' } } });
    const pvsToProvision = new Set<string>();
    const readyNamespaces = new Set<string>();
    const labels = { backupName: veleroLabelValue(backupName), restoreName: veleroLabelValue(name) };
    const pvrs: string[] = [];
    // restore.go hooksContext / hooksWaitGroup / hooksErrs: post-restore exec hooks of the pods this restore created.
    const hooksContext = new HooksContext();
    const hookRuns: Promise<{ errors: string[] } | { thrown: unknown }>[] = [];
    /** restore.go waitExec (L1709-1744): started at once for a created pod, waited for at the end. */
    const waitExec = (created: RestoredPod): void => {
      const hookWarnings: string[] = [];
      const byContainer = groupRestoreExecHooks(spec.hooks, created, hookWarnings);
      for (const w of hookWarnings) logTo(name, `level=warning msg="${w}"`);
      const deps = {
        readPod: (podNs: string, podName: string) => get<RestoredPod & Obj>(`/api/v1/namespaces/${podNs}/pods/${encodeURIComponent(podName)}`),
        nodeFor: (p: RestoredPod) => dataNodes?.get(p.spec?.nodeName ?? ''),
        log: (line: string) => logTo(name, line),
        poll: () => step(POLL_MS),
      };
      hookRuns.push(handleRestoreExecHooks(deps, created, byContainer, hooksContext).then((errs) => {
        if (errs.length > 0) {
          logTo(name, `level=error msg="unable to successfully execute post-restore hooks" error="${errs.length === 1 ? errs[0] ?? '' : `[${errs.join(', ')}]`}"`);
          hooksContext.cancel();
        }
        return { errors: errs };
      }, (thrown: unknown) => ({ thrown })));
    };
    /** EnsureNamespaceExistsAndIsReady: from the backed-up Namespace when there is one. */
    const ensureNamespace = async (target: string, source: string): Promise<void> => {
      if (readyNamespaces.has(target)) return;
      const kept = items.find((i) => i.resource === 'namespaces' && i.manifest.metadata.name === source);
      const manifest = kept ? resetForRestore(kept.manifest, labels) : { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target } };
      manifest.metadata.name = target;
      delete manifest.spec;
      const res = await call('POST', '/api/v1/namespaces', manifest);
      if (res.status !== 201 && res.status !== 409) fail(`error ensuring namespace ${target}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      readyNamespaces.add(target);
    };
    const restorePodVolumes = async (created: Pod, sourceNamespace: string, podVolumes: readonly PodVolumeBackup[]): Promise<void> => {
      for (const pvb of podVolumes) {
        const volume = pvb.spec?.volume ?? '';
        const claimName = created.spec?.volumes?.find((v) => v.name === volume)?.persistentVolumeClaim?.claimName;
        let pvcUid: string | undefined;
        if (claimName !== undefined) {
          const pvc = await get(`/api/v1/namespaces/${created.metadata.namespace ?? ''}/persistentvolumeclaims/${encodeURIComponent(claimName)}`);
          if (!pvc) {
            fail(`error getting persistent volume claim for volume: persistentvolumeclaims "${claimName}" not found`);
            continue;
          }
          pvcUid = pvc.metadata.uid;
        }
        const res = await call('POST', path('podvolumerestores'), {
          apiVersion: 'velero.io/v1',
          kind: 'PodVolumeRestore',
          metadata: {
            generateName: `${name}-`,
            namespace: ns,
            ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Restore', name, uid, controller: true }],
            labels: { [LABEL.restoreName]: veleroLabelValue(name), [LABEL.restoreUid]: uid, [LABEL.podUid]: created.metadata.uid, ...(pvcUid ? { [LABEL.pvcUid]: pvcUid } : {}) },
          },
          spec: {
            pod: { kind: 'Pod', namespace: created.metadata.namespace, name: created.metadata.name, uid: created.metadata.uid },
            volume,
            snapshotID: pvb.status?.snapshotID ?? '',
            backupStorageLocation: storageLocation,
            repoIdentifier: veleroRepoIdentifier({ bucket: 'velero-stand-in', region: 'stand-in' }, sourceNamespace),
            uploaderType: pvb.spec?.uploaderType ?? 'restic',
            sourceNamespace,
          },
        });
        if (res.status === 201) pvrs.push((res.json as Obj).metadata.name);
        else fail(`error creating PodVolumeRestore for volume ${volume}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      }
    };

    for (const item of taken) {
      const sourceNamespace = item.manifest.metadata.namespace;
      const namespace = sourceNamespace === undefined ? undefined : targetNamespace(sourceNamespace);
      const manifest = resetForRestore(item.manifest, labels);
      const kind = manifest.kind ?? item.resource;
      const itemName = manifest.metadata.name;
      const resourceId = `${qualified(item)} ${namespace ? `${namespace}/` : ''}${itemName}`;
      itemsRestored++;
      let pod: { volumes: PodVolumeBackup[] } | undefined;
      if (item.resource === 'namespaces') {
        await ensureNamespace(targetNamespace(itemName), itemName);
        continue;
      }
      if (item.resource === 'persistentvolumes') {
        const claimRef = manifest.spec?.claimRef as { namespace?: string; name?: string } | undefined;
        // restore.go L1150-1164: a PV whose claim's data is in a PodVolumeBackup, or whose reclaim policy is
        // Delete, is provisioned anew instead of restored.
        const hasPodVolumeBackup = claimRef !== undefined && volumes.some((v) => v.spec?.pod.namespace === claimRef.namespace && v.metadata.annotations?.[ANNOTATION.pvcName] === claimRef.name);
        if (hasPodVolumeBackup || manifest.spec?.persistentVolumeReclaimPolicy === 'Delete') {
          pvsToProvision.add(itemName);
          logTo(name, `level=info msg="Dynamically re-provisioning persistent volume ${itemName}"`);
          continue;
        }
        resetVolumeBindingInfo(manifest);
        if (claimRef?.namespace !== undefined) claimRef.namespace = targetNamespace(claimRef.namespace);
      } else if (namespace !== undefined && sourceNamespace !== undefined) {
        await ensureNamespace(namespace, sourceNamespace);
        manifest.metadata.namespace = namespace;
      }
      if (item.resource === 'persistentvolumeclaims') {
        const volumeName = manifest.spec?.volumeName;
        if (typeof volumeName === 'string' && volumeName !== '') {
          resetVolumeBindingInfo(manifest);
          // restore.go L1303-1307: reset for dynamic provisioning.
          if (pvsToProvision.has(volumeName)) delete manifest.spec?.volumeName;
        }
      }
      if (item.resource === 'services') serviceForRestore(manifest, spec.preserveNodePorts === true);
      if (item.resource === 'secrets' && manifest.type === 'kubernetes.io/service-account-token') {
        // secret_action.go: the token controller makes a service account's token secret again.
        const account = manifest.metadata.annotations?.['kubernetes.io/service-account.name'];
        if (account !== undefined && itemName.startsWith(`${account}-token-`)) continue;
      }
      let body: ItemManifest = manifest;
      if (item.resource === 'pods') {
        // podvolume.GetVolumeBackupsForPod: the pod's PVBs with a snapshot, not of a projected/downwardAPI volume.
        const podVolumes = (manifest.spec?.volumes as PodVolume[] | undefined) ?? [];
        const withSnapshot = volumes.filter((v) => v.spec?.pod.name === itemName && v.spec.pod.namespace === sourceNamespace && (v.status?.snapshotID ?? '') !== ''
          && !podVolumes.some((pv) => pv.name === v.spec?.volume && (pv.projected !== undefined || pv.downwardAPI !== undefined)));
        pod = { volumes: withSnapshot };
        body = podForRestore(manifest, withSnapshot.map((v) => v.spec?.volume ?? ''), { uid, hooks: spec.hooks, namespaceMapping: spec.namespaceMapping, sourceNamespace: sourceNamespace ?? '', initHooks: true });
      }
      const res = await call('POST', collectionPath(item.resource, item.group, manifest.metadata.namespace), body);
      if (res.status === 409) {
        warn(`could not restore, ${kind} "${itemName}" already exists. Warning: the in-cluster version is different than the backed-up version.`);
      } else if (res.status !== 201) {
        fail(`error restoring ${resourceId}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
      } else if (pod) {
        if (restoresVolumes && pod.volumes.length > 0) await restorePodVolumes(res.json as Pod, sourceNamespace ?? '', pod.volumes);
        waitExec(res.json as RestoredPod);
      }
      await patch('restores', name, { status: { progress: { totalItems, itemsRestored } } }, [404]);
    }

    // podVolumeWaitGroup: the restore ends when every PodVolumeRestore has.
    for (;;) {
      const current = await list<PodVolumeRestore>(path('podvolumerestores'), `${LABEL.restoreUid}=${uid}`);
      const mine = current.filter((p) => pvrs.includes(p.metadata.name));
      if (mine.length === pvrs.length && mine.every((p) => p.status?.phase === 'Completed' || p.status?.phase === 'Failed')) {
        for (const p of mine) if (p.status?.phase === 'Failed') fail(`pod volume restore failed: ${p.status.message ?? ''}`);
        break;
      }
      await step(POLL_MS);
    }
    // restore.go L569-579: then every post-restore exec hook; their errors are Velero errors of the restore.
    logTo(name, 'level=info msg="Waiting for all post-restore-exec hooks to complete"');
    for (const run of await Promise.all(hookRuns)) {
      if ('thrown' in run) throw run.thrown;
      errors.push(...run.errors);
    }
    logTo(name, 'level=info msg="Done waiting for all post-restore exec hooks to complete"');
    await finish({ phase: errors.length > 0 ? 'PartiallyFailed' : 'Completed', warnings: warnings.length, errors: errors.length, progress: { totalItems, itemsRestored } });
  };

  /** pod_volume_restore_controller.go isInitContainerRunning: restore-wait, wherever it is, Running. */
  const isInitContainerRunning = (pod: Pod): boolean => {
    const i = (pod.spec?.initContainers ?? []).findIndex((c) => c.name === 'restore-wait');
    return i >= 0 && (pod.status?.initContainerStatuses?.length ?? 0) > i && pod.status?.initContainerStatuses?.[i]?.state?.running !== undefined && pod.status.initContainerStatuses[i]?.state?.running !== null;
  };

  /** The node agent's PVR controller for one PVR whose pod runs on a data node (processRestore). */
  const runPodVolumeRestore = async (pvr: PodVolumeRestore, pod: Pod, node: NodeRuntime): Promise<void> => {
    const pvrName = pvr.metadata.name;
    const spec = pvr.spec;
    if (!spec) return;
    const started = await patch('podvolumerestores', pvrName, { status: { phase: 'InProgress', startTimestamp: kubeTime() } }, [404]);
    if (started.status === 404) return;
    const failed = async (message: string): Promise<void> => {
      await patch('podvolumerestores', pvrName, { status: { phase: 'Failed', message, completionTimestamp: kubeTime() } }, [404]);
    };
    const volumeDir = node.volumeDir(pod.metadata.uid, spec.volume);
    if (!volumeDir) return failed(`error identifying path of volume: expected one matching path: /host_pods/${pod.metadata.uid}/volumes/*/${spec.volume}, got 0`);
    let progressPatch: Promise<unknown> = Promise.resolve();
    const onProgress = (progress: UploaderProgress): void => {
      progressPatch = progressPatch.then(() => patch('podvolumerestores', pvrName, { status: { progress } }, [404])).catch(() => undefined);
    };
    try {
      await resticRestore(resticStore, { repoDir: resticRepositoryDir(resticStore, spec.backupStorageLocation, spec.sourceNamespace), snapshotId: spec.snapshotID, volumeDir, onProgress });
    } catch (err) {
      await progressPatch;
      const e = (err as Error).message;
      return failed(`error running restore err=${e}: ${e}`);
    }
    await progressPatch;
    const restoreUid = pvr.metadata.ownerReferences?.find((o) => o.controller === true)?.uid ?? '';
    try {
      await writeRestoreDoneFile(volumeDir, restoreUid);
    } catch (err) {
      return failed(`error writing done file: ${(err as Error).message}`);
    }
    await patch('podvolumerestores', pvrName, { status: { phase: 'Completed', completionTimestamp: kubeTime() } }, [404]);
  };

  const runRestore = async (restore: Restore): Promise<void> => {
    const { name, uid } = restore.metadata;
    const spec = restore.spec ?? {};
    const validationErrors: string[] = [];
    let backupName = spec.backupName ?? '';
    let backup: Backup | undefined;
    if ((backupName === '') === ((spec.scheduleName ?? '') === '')) {
      validationErrors.push('Either a backup or schedule must be specified as a source for the restore, but not both');
    } else {
      if (spec.scheduleName) {
        const fromSchedule = await list<Backup>(path('backups'), `${LABEL.scheduleName}=${spec.scheduleName}`);
        if (fromSchedule.length === 0) validationErrors.push('No backups found for schedule');
        const newest = fromSchedule.filter((b) => b.status?.phase === 'Completed').sort((a, b) => byAge(b, a))[0];
        if (newest) backupName = newest.metadata.name;
        else validationErrors.push('No completed backups found for schedule');
      }
      if (validationErrors.length === 0) {
        backup = await getVelero<Backup>('backups', backupName);
        if (!backup) validationErrors.push(`Error retrieving backup: can't find backup ${ns}/${backupName}: backups.velero.io "${backupName}" not found`);
        else if (!(await getVelero('backupstoragelocations', backup.spec?.storageLocation))) {
          validationErrors.push(`Error retrieving backup: backupstoragelocations.velero.io "${backup.spec?.storageLocation ?? ''}" not found`);
        }
      }
    }
    if (validationErrors.length > 0 || !backup) {
      await patch('restores', name, { status: { phase: 'FailedValidation', validationErrors } }, [404]);
      return;
    }
    const scheduleName = backup.metadata.labels?.[LABEL.scheduleName];
    const started = await patch('restores', name, {
      spec: { backupName, ...(spec.scheduleName || !scheduleName ? {} : { scheduleName }) },
      status: { phase: 'InProgress', startTimestamp: kubeTime() },
    }, [404]);
    if (started.status === 404) return;
    const finish = async (status: Record<string, unknown>): Promise<void> => {
      await patch('restores', name, { status: { ...status, completionTimestamp: kubeTime() } }, [404]);
    };
    const location = await getVelero<StorageLocation>('backupstoragelocations', backup.spec?.storageLocation);
    const backupPhase = backup.status?.phase ?? '';
    if (!['Completed', 'PartiallyFailed'].includes(backupPhase) || location?.status?.phase === 'Unavailable') {
      await step();
      const why = location?.status?.phase === 'Unavailable' ? `BackupStorageLocation "${location.metadata.name}" is Unavailable` : `backup ${backupName} is ${backupPhase || 'New'} and has no contents in object storage`;
      await finish({ phase: 'Failed', failureReason: `error downloading backup: stand-in: ${why}` });
      return;
    }
    const storedBackup = objectStore.get(backupName);
    if (dataNodes && storedBackup) {
      await restoreWithData(restore, backupName, storedBackup.items, finish);
      return;
    }
    const totalItems = backup.status?.progress?.totalItems ?? 0;
    await patch('restores', name, { status: { progress: { totalItems, itemsRestored: 0 } } }, [404]);
    const completedVolumes = (await list<PodVolumeBackup>(path('podvolumebackups'), `${LABEL.backupName}=${veleroLabelValue(backupName)}`))
      .filter((p) => p.status?.phase === 'Completed')
      .sort(byAge);
    const targetNamespace = (namespace: string): string => spec.namespaceMapping?.[namespace] ?? namespace;
    // Objects-only: the kept claims come back before the pods (server.go priorities), an existing one is
    // left as it is (restore.go L1447-1458), one whose data is in a PodVolumeBackup without its volumeName
    // (L1290-1310: provisioned anew; no provisioner serves this mode, so it stays Pending).
    for (const item of storedBackup?.items ?? []) {
      if (item.resource !== 'persistentvolumeclaims' || !restoreTakes(spec, item)) continue;
      const manifest = resetVolumeBindingInfo(resetForRestore(item.manifest, { backupName: veleroLabelValue(backupName), restoreName: veleroLabelValue(name) }));
      const sourceNamespace = manifest.metadata.namespace ?? '';
      const hasData = completedVolumes.some((v) => v.spec?.pod.namespace === sourceNamespace && v.metadata.annotations?.[ANNOTATION.pvcName] === manifest.metadata.name);
      if (hasData && manifest.spec) delete manifest.spec.volumeName;
      const namespace = targetNamespace(sourceNamespace);
      manifest.metadata.namespace = namespace;
      const res = await call('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`, manifest);
      if (res.status === 409) logTo(name, `level=warning msg="could not restore, PersistentVolumeClaim ${namespace}/${manifest.metadata.name} already exists"`);
    }
    // The backup's pods come back from its manifests (when the stand-in took the backup and kept them);
    // a backup seeded by a test without them restores every volume to the pod it names, as before.
    const stored = objectStore.get(backupName)?.pods;
    const restoredPods = stored === undefined ? undefined : await restorePods(stored, completedVolumes, { name, uid, backupName, targetNamespace, ...(spec.hooks ? { hooks: spec.hooks } : {}), ...(spec.namespaceMapping ? { namespaceMapping: spec.namespaceMapping } : {}) });
    const volumes = restoredPods === undefined ? completedVolumes : completedVolumes.filter((p) => restoredPods.has(`${targetNamespace(p.spec?.pod.namespace ?? '')}/${p.spec?.pod.name ?? ''}`));
    const pvrs: { name: string; bytes: number }[] = [];
    for (const pvb of volumes) {
      const backedUpPod = pvb.spec?.pod ?? { namespace: '', name: '' };
      const targetNs = targetNamespace(backedUpPod.namespace);
      const restoredUid = restoredPods?.get(`${targetNs}/${backedUpPod.name}`)?.metadata.uid;
      // pod_volume_restore: the PodVolumeRestore names the pod as restored (its new uid).
      const pvbSpec: PodVolumeBackupSpec = { ...(pvb.spec ?? { volume: '' }), pod: { ...backedUpPod, ...(restoredUid ? { uid: restoredUid } : {}) } };
      const pvcUid = pvb.metadata.labels?.[LABEL.pvcUid];
      const created = ok(await call('POST', path('podvolumerestores'), {
        apiVersion: 'velero.io/v1',
        kind: 'PodVolumeRestore',
        metadata: {
          generateName: `${name}-`,
          namespace: ns,
          ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Restore', name, uid, controller: true }],
          labels: {
            [LABEL.restoreName]: veleroLabelValue(name),
            [LABEL.restoreUid]: uid,
            [LABEL.podUid]: pvbSpec.pod.uid ?? '',
            ...(pvcUid ? { [LABEL.pvcUid]: pvcUid } : {}),
          },
        },
        spec: {
          pod: { kind: 'Pod', namespace: targetNs, name: pvbSpec.pod.name, uid: pvbSpec.pod.uid },
          volume: pvbSpec.volume,
          snapshotID: pvb.status?.snapshotID ?? '',
          backupStorageLocation: pvbSpec.backupStorageLocation ?? backup.spec?.storageLocation ?? '',
          repoIdentifier: pvbSpec.repoIdentifier ?? '',
          uploaderType: pvbSpec.uploaderType ?? 'restic',
          sourceNamespace: pvbSpec.pod.namespace,
        },
      }), `creating a PodVolumeRestore for ${pvb.metadata.name}`);
      pvrs.push({ name: (created.json as Obj).metadata.name, bytes: pvb.status?.progress?.totalBytes ?? volumeBytes });
    }
    await step();
    for (const pvr of pvrs) await patch('podvolumerestores', pvr.name, { status: { phase: 'InProgress', startTimestamp: kubeTime(), progress: { totalBytes: pvr.bytes, bytesDone: 0 } } }, [404]);
    await patch('restores', name, { status: { progress: { totalItems, itemsRestored: Math.floor(totalItems / 2) } } }, [404]);
    await step();
    for (const pvr of pvrs) {
      await patch('podvolumerestores', pvr.name, { status: { phase: 'Completed', completionTimestamp: kubeTime(), progress: { totalBytes: pvr.bytes, bytesDone: pvr.bytes } } }, [404]);
    }
    await step();
    await finish({ phase: 'Completed', warnings: 0, errors: 0, progress: { totalItems, itemsRestored: totalItems } });
  };

  // ---- DeleteBackupRequests (backup_deletion_controller.go) ----
  const runDeletion = async (dbr: DeleteBackupRequest): Promise<void> => {
    const { name } = dbr.metadata;
    const processed = async (errors: string[]): Promise<void> => {
      await patch('deletebackuprequests', name, { status: { phase: 'Processed', errors } }, [404]);
    };
    const backupName = dbr.spec?.backupName ?? '';
    if (backupName === '') return processed(['spec.backupName is required']);
    for (const other of await list<DeleteBackupRequest>(path('deletebackuprequests'), `${LABEL.backupName}=${veleroLabelValue(backupName)}`)) {
      if (other.metadata.name !== name) await remove(path('deletebackuprequests', other.metadata.name), `DeleteBackupRequest ${other.metadata.name}`);
    }
    if (running.has(backupName)) return processed(['backup is still in progress']);
    const backup = await getVelero<Backup>('backups', backupName);
    if (!backup) return processed(['backup not found']);
    const locationName = backup.spec?.storageLocation ?? '';
    const location = await getVelero<StorageLocation>('backupstoragelocations', locationName);
    // L184-206: a missing or ReadOnly location refuses the deletion before anything is touched.
    if (!location) return processed([`backup storage location ${locationName} not found`]);
    if (location.spec?.accessMode === 'ReadOnly') return processed([`cannot delete backup because backup storage location ${locationName} is currently in read-only mode`]);
    const labels = { ...(dbr.metadata.labels?.[LABEL.backupName] ? {} : { [LABEL.backupName]: veleroLabelValue(backupName) }), ...(dbr.metadata.labels?.[LABEL.backupUid] ? {} : { [LABEL.backupUid]: backup.metadata.uid }) };
    if ((await patch('deletebackuprequests', name, { metadata: { labels }, status: { phase: 'InProgress' } }, [404])).status === 404) return;
    // L228-236: Deleting before anything is deleted; nothing below ever sets it back (a failed step leaves it).
    await patch('backups', backupName, { status: { phase: 'Deleting' } }, [404]);
    await step();
    const errors: string[] = [];
    // The object store holds the backup and restore files: an unreachable one fails each deletion there.
    const storeError = location.status?.phase === 'Unavailable' ? `stand-in: BackupStorageLocation "${locationName}" is Unavailable` : undefined;
    if (storeError) errors.push(`error deleting backup ${backupName} from backup storage: ${storeError}`);
    // L324-351: every Restore of the backup goes, whatever its phase (an unfinished one too).
    for (const restore of await list<Restore>(path('restores'))) {
      if (restore.spec?.backupName !== backupName) continue;
      if (storeError) errors.push(`error deleting restore ${restore.metadata.name} from backup storage: ${storeError}`);
      else await remove(path('restores', restore.metadata.name), `Restore ${restore.metadata.name}`);
    }
    if (errors.length === 0) {
      objectStore.delete(backupName);
      await remove(path('backups', backupName), `Backup ${backupName}`);
    }
    await processed(errors);
    if (errors.length === 0) {
      const all = `${LABEL.backupName}=${veleroLabelValue(backupName)},${LABEL.backupUid}=${backup.metadata.uid}`;
      for (const done of await list<DeleteBackupRequest>(path('deletebackuprequests'), all)) {
        await remove(path('deletebackuprequests', done.metadata.name), `DeleteBackupRequest ${done.metadata.name}`);
      }
    }
  };

  // ---- DownloadRequests (download_request_controller.go) ----
  /** Object-store keys of Velero's persistence layout (pkg/persistence/object_store_layout.go). */
  const downloadKey = (kind: string, target: string): string => {
    const suffix = DOWNLOAD_SUFFIXES[kind] ?? '.tar.gz';
    return kind.startsWith('Restore') ? `../restores/${target}/${target}${suffix}` : `${target}/${target}${suffix}`;
  };
  const signedUrl = (key: string): string => {
    const date = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=STANDIN%2F${date.slice(0, 8)}%2Fstand-in%2Fs3%2Faws4_request&X-Amz-Date=${date}&X-Amz-Expires=600&X-Amz-SignedHeaders=host`;
    const signature = createHmac('sha256', signingKey).update(`${key}\n${query}`).digest('hex');
    return `${new URL(key.split('/').map(encodeURIComponent).join('/'), `${downloadBaseUrl}/`).href}?${query}&X-Amz-Signature=${signature}`;
  };
  const reconcileDownload = async (dr: DownloadRequest): Promise<void> => {
    const { name, uid } = dr.metadata;
    const expiration = dr.status?.expiration ? Date.parse(dr.status.expiration) : undefined;
    if (expiration !== undefined && expiration < Date.now()) {
      downloadRetries.delete(uid);
      return remove(path('downloadrequests', name), `expired DownloadRequest ${name}`);
    }
    if (dr.status?.phase && dr.status.phase !== 'New') return;
    const retry = downloadRetries.get(uid);
    if (retry && retry.notBefore > Date.now()) return;
    const kind = dr.spec?.target?.kind ?? '';
    const target = dr.spec?.target?.name ?? '';
    let backupName: string | undefined = target;
    if (kind.startsWith('Restore')) backupName = (await getVelero<Restore>('restores', target))?.spec?.backupName;
    const backup = backupName ? await getVelero<Backup>('backups', backupName) : undefined;
    const location = backup ? await getVelero('backupstoragelocations', backup.spec?.storageLocation) : undefined;
    if (!backup || !location) {
      // Velero returns the error: the request keeps no phase, gets a fresh expiration, and is retried with backoff.
      const failures = (retry?.failures ?? 0) + 1;
      downloadRetries.set(uid, { failures, notBefore: Date.now() + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** failures) });
      await patch('downloadrequests', name, { status: { expiration: kubeTime(Date.now() + DOWNLOAD_URL_TTL_MS) } }, [404]);
      return;
    }
    downloadRetries.delete(uid);
    await patch('downloadrequests', name, {
      status: { phase: 'Processed', downloadURL: signedUrl(downloadKey(kind, target)), expiration: kubeTime(Date.now() + DOWNLOAD_URL_TTL_MS) },
    }, [404]);
  };

  // ---- Schedules (schedule_controller.go) ----
  const reconcileSchedule = async (schedule: Schedule): Promise<void> => {
    const { name, uid } = schedule.metadata;
    const spec = schedule.spec ?? {};
    let cron: ReturnType<typeof parseStandardCron> | undefined;
    let validationErrors: string[] = [];
    if (!spec.schedule) validationErrors = ['Schedule must be a non-empty valid Cron expression'];
    else {
      try {
        cron = parseStandardCron(spec.schedule);
      } catch (err) {
        validationErrors = [`invalid schedule: ${(err as Error).message}`];
      }
    }
    const phase = cron ? 'Enabled' : 'FailedValidation';
    if (schedule.status?.phase !== phase) {
      // Velero leaves old validationErrors in place when a schedule becomes valid.
      await patch('schedules', name, { status: { phase, ...(cron ? {} : { validationErrors }) } }, [404]);
    }
    if (!cron) return;
    const realNow = Date.now();
    // L246-257: from status.lastBackup, else the creation time; cron.Next under the spec as it is now.
    const lastBackup = schedule.status?.lastBackup;
    const own = scheduleLastRun.get(uid);
    const last = own !== undefined && own.written === lastBackup ? own.at : virtual(Date.parse(lastBackup ?? schedule.metadata.creationTimestamp ?? kubeTime(startedAt)));
    const next = cron.next(new Date(last));
    // robfig v1.1.0 Next gives the zero time when nothing matches within five years, and now is after it: due.
    if (next !== undefined && virtual(realNow) <= next.getTime()) return;
    const backups = await list<Backup>(path('backups'), `${LABEL.scheduleName}=${name}`);
    // L201-205 checkIfBackupInNewOrProgress: New or InProgress only; a Backup with no phase yet does not count.
    if (backups.some((b) => b.status?.phase === 'New' || b.status?.phase === 'InProgress')) return;
    const at = new Date(virtual(realNow));
    const stamp = at.toISOString().replace(/[-:T]|\.\d+Z$/g, '').slice(0, 14);
    const template = spec.template ?? {};
    const labels = { ...(template.metadata?.labels ?? schedule.metadata.labels ?? {}), [LABEL.scheduleName]: name };
    ok(await call('POST', path('backups'), {
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: {
        name: `${name}-${stamp}`,
        namespace: ns,
        labels,
        ...(schedule.metadata.annotations ? { annotations: schedule.metadata.annotations } : {}),
        ...(spec.useOwnerReferencesInBackup ? { ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Schedule', name, uid, controller: true }] } : {}),
      },
      spec: template,
    }), `creating the backup of Schedule ${name}`);
    const written = kubeTime(realNow);
    scheduleLastRun.set(uid, { written, at: at.getTime() });
    await patch('schedules', name, { status: { lastBackup: written } }, [404]);
  };

  // ---- the loop ----
  /** Velero's controllers each run one object at a time: start the next when the previous is done. */
  const serial = (key: keyof typeof workers, next: () => Promise<void> | undefined): void => {
    if (workers[key] || stopped) return;
    const work = next();
    if (!work) return;
    workers[key] = work.catch((err: unknown) => {
      if (!(err instanceof Stopped)) lastError = err;
    }).finally(() => {
      workers[key] = undefined;
    });
  };

  /** Each controller on its own: one failing list (say, an API server hiccup) does not stall the others. */
  const controllers: (() => Promise<void>)[] = [
    async () => {
      // backup_sync_controller.go: a backup in an Available location's store but not in the cluster is
      // created again, with its PodVolumeBackups: deleting a Backup object alone does not delete a backup.
      if (Date.now() - lastBackupSync < BACKUP_SYNC_PERIOD_MS / timeScale) return;
      lastBackupSync = Date.now();
      const inCluster = new Set((await list<Backup>(path('backups'))).map((b) => b.metadata.name));
      const available = new Set((await list<StorageLocation>(path('backupstoragelocations'))).filter((l) => l.status?.phase === 'Available').map((l) => l.metadata.name));
      for (const [name, stored] of objectStore) {
        const locationName = stored.backup.spec?.storageLocation ?? '';
        if (inCluster.has(name) || !available.has(locationName)) continue;
        const { labels, annotations } = stored.backup.metadata;
        const created = await call('POST', path('backups'), {
          apiVersion: 'velero.io/v1',
          kind: 'Backup',
          metadata: { name, namespace: ns, labels: { ...labels, [LABEL.storageLocation]: veleroLabelValue(locationName) }, ...(annotations ? { annotations } : {}) },
          spec: stored.backup.spec,
          status: stored.backup.status,
        });
        if (created.status !== 201) continue;
        const uid = (created.json as Backup).metadata.uid;
        for (const pvb of stored.volumes) {
          const { metadata } = pvb;
          await call('POST', path('podvolumebackups'), {
            apiVersion: 'velero.io/v1',
            kind: 'PodVolumeBackup',
            metadata: {
              name: metadata.name,
              namespace: ns,
              labels: { ...metadata.labels, ...(metadata.labels?.[LABEL.backupUid] ? { [LABEL.backupUid]: uid } : {}) },
              ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
              ownerReferences: [{ apiVersion: 'velero.io/v1', kind: 'Backup', name, uid, controller: true }],
            },
            spec: pvb.spec,
            status: pvb.status,
          });
        }
      }
    },
    async () => {
      for (const [name, phase] of locations) await keepLocation(name, phase);
    },
    async () => {
      const backups = await list<Backup>(path('backups'));
      // Velero's typed informer cannot decode a Backup whose duration Go cannot parse ("30d"): the whole
      // list fails, so no Backup at all is processed until that one is fixed or deleted.
      const undecodable = backups.find((b) => [b.spec?.ttl, b.spec?.csiSnapshotTimeout].some((d) => d !== undefined && parseGoDuration(d) === undefined));
      if (undecodable) throw new Error(`Velero stand-in: Backup ${undecodable.metadata.name} has a duration Go cannot parse: every Backup waits, as in Velero`);
      const next = backups.filter((b) => !b.status?.phase || b.status.phase === 'New').sort(byAge)[0];
      serial('backups', () => (next ? runBackup(next) : undefined));
    },
    async () => {
      const restores = await list<Restore>(path('restores'));
      const next = restores.filter((r) => !r.status?.phase || r.status.phase === 'New').sort(byAge)[0];
      serial('restores', () => (next ? runRestore(next) : undefined));
    },
    async () => {
      const requests = await list<DeleteBackupRequest>(path('deletebackuprequests'));
      for (const dbr of requests) {
        const age = Date.now() - Date.parse(dbr.metadata.creationTimestamp ?? kubeTime());
        if (dbr.status?.phase === 'Processed' && age >= DELETE_BACKUP_REQUEST_MAX_AGE_MS) await remove(path('deletebackuprequests', dbr.metadata.name), `expired DeleteBackupRequest ${dbr.metadata.name}`);
      }
      const next = requests.filter((d) => d.status?.phase !== 'Processed').sort(byAge)[0];
      serial('deletions', () => (next && !holdDeletions ? runDeletion(next) : undefined));
    },
    async () => {
      for (const dr of await list<DownloadRequest>(path('downloadrequests'))) await reconcileDownload(dr);
    },
    async () => {
      // The node agents' PodVolumeRestore controllers (data mode): a new PVR whose pod is on a data node
      // and runs restore-wait (shouldProcess); a pod elsewhere is another node's business.
      if (!dataNodes || workers.podVolumeRestores) return;
      for (const pvr of await list<PodVolumeRestore>(path('podvolumerestores'))) {
        if (pvr.status?.phase && pvr.status.phase !== 'New') continue;
        const target = pvr.spec?.pod;
        if (!target) continue;
        const pod = await get<Pod>(`/api/v1/namespaces/${target.namespace}/pods/${encodeURIComponent(target.name)}`);
        const node = pod ? dataNodes.get(pod.spec?.nodeName ?? '') : undefined;
        if (!pod || !node || !isInitContainerRunning(pod)) continue;
        serial('podVolumeRestores', () => runPodVolumeRestore(pvr, pod, node));
        return;
      }
    },
    async () => {
      const periodic = Date.now() - lastScheduleSync >= SCHEDULE_SYNC_PERIOD_MS / timeScale;
      if (periodic) lastScheduleSync = Date.now();
      for (const schedule of await list<Schedule>(path('schedules'))) {
        // Velero's event filter drops paused schedules before anything else.
        if (schedule.spec?.paused) continue;
        // L81 SpecChangePredicate: an update is reconciled when its spec changed, not its status (without a status
        // subresource every status write bumps metadata.generation, so that cannot tell).
        const spec = JSON.stringify(schedule.spec ?? {});
        const changed = scheduleSeen.get(schedule.metadata.uid) !== spec;
        if (!periodic && !changed) continue;
        scheduleSeen.set(schedule.metadata.uid, spec);
        await reconcileSchedule(schedule);
      }
    },
  ];
  const tick = async (): Promise<void> => {
    const results = await Promise.allSettled(controllers.map((c) => c()));
    for (const r of results) if (r.status === 'rejected') lastError = r.reason;
  };

  // server.go: what was InProgress when Velero (re)started can never finish.
  for (const resource of ['backups', 'restores'] as const) {
    const kind = resource === 'backups' ? 'backup' : 'restore';
    for (const item of await list<Obj<unknown, { phase?: string }>>(path(resource))) {
      if (item.status?.phase !== 'InProgress') continue;
      await patch(resource, item.metadata.name, {
        status: { phase: 'Failed', failureReason: `found a ${kind} with status "InProgress" during the server starting, mark it as "Failed"`, completionTimestamp: kubeTime() },
      }, [404]);
    }
  }

  let loop: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    loop = new Promise((resolve) => setTimeout(() => {
      tick().catch((err: unknown) => {
        lastError = err;
      }).finally(() => {
        resolve();
        schedule();
      });
    }, POLL_MS));
  };
  schedule();

  return {
    async setStorageLocation(name, phase) {
      locations.set(name, phase);
      await keepLocation(name, phase);
    },
    failNextBackup(outcome, failureReason, match) {
      failures.push({ outcome, reason: failureReason, match });
    },
    holdBackups(value) {
      hold = value;
    },
    holdDeletions(value) {
      holdDeletions = value;
    },
    log(name) {
      return logs.get(name) ?? [];
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(Object.values(workers).filter((w): w is Promise<void> => w !== undefined));
      if (ownRepositoryRoot) rmSync(resticStore.root, { recursive: true, force: true });
      if (lastError && process.env.VELERO_STAND_IN_DEBUG) process.stderr.write(`Velero stand-in: last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}\n`);
    },
  };
}
