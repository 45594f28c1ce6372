// Slim, typed copies of Velero objects as the caches keep them. A Backup from
// the API server carries managedFields, hooks, resource policies and the
// like: kilobytes per object that no record needs, times every Backup in the
// Velero namespace. A view keeps exactly what records, phase checks and
// ownership checks read, and nothing that could be mistaken for data we own.
// Input is raw JSON from the API server (list items and watch events), so
// every field is checked before it is kept; a wrong type is dropped, not
// trusted.
import { isObject } from '../is-object.js';
import { OURS_PREFIX, WUTONG_PREFIX } from './velero-labels.js';

export interface ViewMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  labels: Record<string, string>;
  /** Only wutong.io/* and backup.wutong.io/*: Velero's and kubectl's annotations can be large and are never read. */
  annotations: Record<string, string>;
}

export interface BackupView {
  metadata: ViewMeta;
  spec: { ttl?: string; storageLocation?: string; includedNamespaces?: string[] };
  status: {
    phase?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    expiration?: string;
    progress?: { totalItems?: number; itemsBackedUp?: number };
    failureReason?: string;
    /** Why Velero refused it (phase FailedValidation; failureReason stays empty then): failure-reason.ts. */
    validationErrors?: string[];
  };
}

export interface RestoreView {
  metadata: ViewMeta;
  spec: { backupName: string; includedNamespaces?: string[] };
  status: {
    phase?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    progress?: { totalItems?: number; itemsRestored?: number };
    failureReason?: string;
    /** Why Velero refused it (phase FailedValidation; failureReason stays empty then): failure-reason.ts. */
    validationErrors?: string[];
  };
}

export interface ScheduleView {
  metadata: ViewMeta;
  spec: { schedule: string; paused?: boolean; template: { ttl?: string; includedNamespaces?: string[]; defaultVolumesToFsBackup?: boolean } };
  status: { phase?: string; lastBackup?: string; validationErrors?: string[] };
}

export interface PodVolumeBackupView {
  metadata: ViewMeta;
  /** claimName: Velero's annotation velero.io/pvc-name, the PVC whose volume it copied (a restore matches claims by name: a recreated PVC has a new uid). */
  spec: { volume: string; pod: { name: string; namespace: string }; claimName?: string };
  /** message: why it failed, as Velero wrote it. */
  status: { phase?: string; message?: string; progress?: { totalBytes?: number; bytesDone?: number } };
}

export type PodVolumeRestoreView = PodVolumeBackupView;

export interface DeleteBackupRequestView {
  metadata: ViewMeta;
  spec: { backupName: string };
  status: { phase?: string; errors?: string[] };
}

export interface BackupStorageLocationView {
  metadata: ViewMeta;
  /** accessMode: ReadWrite (Velero's default when absent) or ReadOnly; validationFrequency: a Go duration, "0s" turns validation off. */
  spec: { accessMode?: string; validationFrequency?: string };
  /** lastValidationTime: when Velero's BackupStorageLocation controller last validated it (and wrote phase). */
  status: { phase?: string; message?: string; lastValidationTime?: string };
}

export interface DownloadRequestView {
  metadata: ViewMeta;
  status: { phase?: string; downloadURL?: string; expiration?: string };
}

type Json = Record<string, unknown>;

const objectAt = (value: unknown): Json => (isObject(value) ? value : {});
const stringAt = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const numberAt = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const booleanAt = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);
const stringsAt = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;

/** `fields` without the undefined ones: a view's JSON (and its byte count) holds only what the object had. */
function defined<T extends object>(fields: T): T {
  const out: Partial<T> = {};
  for (const key of Object.keys(fields) as (keyof T)[]) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  return out as T;
}

function stringMap(value: unknown, keep: (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(objectAt(value))) {
    if (typeof item === 'string' && keep(key)) out[key] = item;
  }
  return out;
}

const ourAnnotation = (key: string): boolean => key.startsWith(WUTONG_PREFIX) || key.startsWith(OURS_PREFIX);

/** The object's metadata and the raw object, or undefined when it has no metadata.name (not a stored object). */
function metaOf(raw: unknown): { metadata: ViewMeta; object: Json } | undefined {
  if (!isObject(raw)) return undefined;
  const meta = objectAt(raw.metadata);
  const name = stringAt(meta.name);
  if (name === undefined || name === '') return undefined;
  const metadata: ViewMeta = defined({
    name,
    namespace: stringAt(meta.namespace) ?? '',
    uid: stringAt(meta.uid) ?? '',
    resourceVersion: stringAt(meta.resourceVersion) ?? '',
    creationTimestamp: stringAt(meta.creationTimestamp) ?? '',
    deletionTimestamp: stringAt(meta.deletionTimestamp),
    labels: stringMap(meta.labels, () => true),
    annotations: stringMap(meta.annotations, ourAnnotation),
  });
  return { metadata, object: raw };
}

/** Velero's annotation on a PodVolumeBackup naming the PVC it copied (pkg/podvolume/backupper.go newPodVolumeBackup). */
const PVC_NAME_ANNOTATION = 'velero.io/pvc-name';

function podVolumeView(raw: unknown): PodVolumeBackupView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const pod = objectAt(spec.pod);
  const status = objectAt(base.object.status);
  const progress = isObject(status.progress)
    ? defined({ totalBytes: numberAt(status.progress.totalBytes), bytesDone: numberAt(status.progress.bytesDone) })
    : undefined;
  const claimName = stringAt(objectAt(objectAt(base.object.metadata).annotations)[PVC_NAME_ANNOTATION]);
  return {
    metadata: base.metadata,
    spec: defined({ volume: stringAt(spec.volume) ?? '', pod: { name: stringAt(pod.name) ?? '', namespace: stringAt(pod.namespace) ?? '' }, claimName }),
    status: defined({ phase: stringAt(status.phase), message: stringAt(status.message), progress }),
  };
}

export function viewBackup(raw: unknown): BackupView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const status = objectAt(base.object.status);
  const progress = isObject(status.progress)
    ? defined({ totalItems: numberAt(status.progress.totalItems), itemsBackedUp: numberAt(status.progress.itemsBackedUp) })
    : undefined;
  return {
    metadata: base.metadata,
    spec: defined({ ttl: stringAt(spec.ttl), storageLocation: stringAt(spec.storageLocation), includedNamespaces: stringsAt(spec.includedNamespaces) }),
    status: defined({
      phase: stringAt(status.phase),
      startTimestamp: stringAt(status.startTimestamp),
      completionTimestamp: stringAt(status.completionTimestamp),
      expiration: stringAt(status.expiration),
      progress,
      failureReason: stringAt(status.failureReason),
      validationErrors: stringsAt(status.validationErrors),
    }),
  };
}

export function viewRestore(raw: unknown): RestoreView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const status = objectAt(base.object.status);
  const progress = isObject(status.progress)
    ? defined({ totalItems: numberAt(status.progress.totalItems), itemsRestored: numberAt(status.progress.itemsRestored) })
    : undefined;
  return {
    metadata: base.metadata,
    spec: defined({ backupName: stringAt(spec.backupName) ?? '', includedNamespaces: stringsAt(spec.includedNamespaces) }),
    status: defined({
      phase: stringAt(status.phase),
      startTimestamp: stringAt(status.startTimestamp),
      completionTimestamp: stringAt(status.completionTimestamp),
      progress,
      failureReason: stringAt(status.failureReason),
      validationErrors: stringsAt(status.validationErrors),
    }),
  };
}

export function viewSchedule(raw: unknown): ScheduleView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const template = objectAt(spec.template);
  const status = objectAt(base.object.status);
  return {
    metadata: base.metadata,
    spec: defined({
      schedule: stringAt(spec.schedule) ?? '',
      paused: booleanAt(spec.paused),
      template: defined({
        ttl: stringAt(template.ttl),
        includedNamespaces: stringsAt(template.includedNamespaces),
        defaultVolumesToFsBackup: booleanAt(template.defaultVolumesToFsBackup),
      }),
    }),
    status: defined({ phase: stringAt(status.phase), lastBackup: stringAt(status.lastBackup), validationErrors: stringsAt(status.validationErrors) }),
  };
}

export function viewPodVolumeBackup(raw: unknown): PodVolumeBackupView | undefined {
  return podVolumeView(raw);
}

export function viewPodVolumeRestore(raw: unknown): PodVolumeRestoreView | undefined {
  return podVolumeView(raw);
}

export function viewDeleteBackupRequest(raw: unknown): DeleteBackupRequestView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const status = objectAt(base.object.status);
  return {
    metadata: base.metadata,
    spec: { backupName: stringAt(spec.backupName) ?? '' },
    status: defined({ phase: stringAt(status.phase), errors: stringsAt(status.errors) }),
  };
}

export function viewBackupStorageLocation(raw: unknown): BackupStorageLocationView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const spec = objectAt(base.object.spec);
  const status = objectAt(base.object.status);
  return {
    metadata: base.metadata,
    spec: defined({ accessMode: stringAt(spec.accessMode), validationFrequency: stringAt(spec.validationFrequency) }),
    status: defined({ phase: stringAt(status.phase), message: stringAt(status.message), lastValidationTime: stringAt(status.lastValidationTime) }),
  };
}

export function viewDownloadRequest(raw: unknown): DownloadRequestView | undefined {
  const base = metaOf(raw);
  if (base === undefined) return undefined;
  const status = objectAt(base.object.status);
  return {
    metadata: base.metadata,
    status: defined({ phase: stringAt(status.phase), downloadURL: stringAt(status.downloadURL), expiration: stringAt(status.expiration) }),
  };
}

/** Bytes of a view as JSON (UTF-8): what one cached object costs, for the records benchmark's report. */
export function viewBytes(view: unknown): number {
  return Buffer.byteLength(JSON.stringify(view), 'utf8');
}
