// A restore that replaces (README "Restores replace the data"): the backup
// API cannot run one itself (it may delete no PVC and create no pod), so it
// writes a request record, a ConfigMap in the project's own namespace where
// tenants cannot write, and the controller's leader carries it out step by
// step (restore-step.ts), writing how far it got back into the same record.
// Everything a step needs to resume is in the record and in cluster objects,
// so a restart of either side neither loses a restore nor runs a step twice.
// This module is the record's format, both ways; pure.
import { isObject } from '../is-object.js';
import { isRecordTime, parseRecordJson, readRecordBackup } from '../record-json.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { VeleroObject } from '../velero/velero-resources.js';

/** Label value `"true"` on every restore request record: what the watches select. */
export const RESTORE_REQUEST_LABEL = 'backup.wutong.io/restore-request';

const NAME_PREFIX = 'restore-';
const REQUEST_KEY = 'request';
const PROGRESS_KEY = 'progress';

/** What the API asks for. */
export interface RestoreRequest {
  /** The Velero Restore's name, decided with the request: what records call restore_id. */
  restoreName: string;
  component: { namespace: string; serviceId: string; serviceAlias: string };
  backupName: string;
  operator: string;
  /**
   * The Backup of the data the restore replaces, taken first (through a
   * holder pod: the component is stopped), exactly as the API built it;
   * undefined when the request opted out (`safety_backup: false`).
   */
  safetyBackup?: VeleroObject;
  requestedAt: string;
  /** The request's Idempotency-Key (hashed) and body digest: a retry finds this record by its name. */
  idempotencyKey?: string;
  requestDigest?: string;
}

/**
 * Where a restore stands. New → SavingCurrentData (the safety backup runs)
 * → ReplacingVolumes (the component's PVCs are being deleted, so Velero
 * recreates them) → Restoring (Velero's Restore runs) → Completed or
 * Failed. Only Completed says the volumes hold exactly the backup's data.
 */
export type RestoreStage = 'New' | 'SavingCurrentData' | 'ReplacingVolumes' | 'Restoring' | 'Completed' | 'Failed';

export const RESTORE_STAGES: readonly RestoreStage[] = ['New', 'SavingCurrentData', 'ReplacingVolumes', 'Restoring', 'Completed', 'Failed'];

export interface RestoreProgress {
  stage: RestoreStage;
  /** What happened last, in words a console user can act on (the reason, for Failed). */
  message: string;
  /** When the stage was entered. */
  since: string;
}

export const isFinalStage = (stage: RestoreStage): boolean => stage === 'Completed' || stage === 'Failed';

/** A request record as read back from the cluster. */
export interface RestoreRequestRecord {
  name: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  /** Undefined when the record's request cannot be read: the controller fails it, saying why. */
  request: RestoreRequest | undefined;
  unreadable?: string;
  /** Undefined until the controller first wrote: the restore is New. */
  progress?: RestoreProgress;
}

/** The stage a record is in: New until the controller wrote one. */
export const stageOf = (record: RestoreRequestRecord): RestoreStage => record.progress?.stage ?? 'New';

/**
 * The record's name: after the Idempotency-Key (already hashed with the
 * route and the component) when there is one, so a retry, which picks a new
 * restore name from the clock, meets the first try's record; else after
 * the restore, whose name is unique.
 */
export function restoreRequestName(restoreName: string, idempotencyKey: string | undefined): string {
  return `${NAME_PREFIX}${idempotencyKey ?? restoreName}`;
}

/** The ConfigMap the API creates (the store puts it in the project's namespace). */
export function restoreRequestObject(name: string, request: RestoreRequest): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { [RESTORE_REQUEST_LABEL]: 'true', [VELERO_LABEL.serviceId]: request.component.serviceId } },
    data: { [REQUEST_KEY]: JSON.stringify(request) },
  };
}

/** The merge patch that writes the controller's progress into a record; guarded by the resourceVersion it was decided on. */
export function progressPatch(resourceVersion: string, progress: RestoreProgress): Record<string, unknown> {
  return { metadata: { resourceVersion }, data: { [PROGRESS_KEY]: JSON.stringify(progress) } };
}

/** A ConfigMap as a restore request record; undefined when it is no ConfigMap with a name. */
export function readRestoreRequest(raw: unknown): RestoreRequestRecord | undefined {
  if (!isObject(raw) || !isObject(raw.metadata) || typeof raw.metadata.name !== 'string') return undefined;
  const meta = raw.metadata;
  const data = isObject(raw.data) ? raw.data : {};
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const request = readRequest(data[REQUEST_KEY]);
  const progress = readProgress(data[PROGRESS_KEY]);
  return {
    name: meta.name as string,
    uid: text(meta.uid),
    resourceVersion: text(meta.resourceVersion),
    creationTimestamp: text(meta.creationTimestamp),
    request: typeof request === 'string' ? undefined : request,
    ...(typeof request === 'string' ? { unreadable: request } : {}),
    ...(progress ? { progress } : {}),
  };
}


const isText = (value: unknown): value is string => typeof value === 'string';

/** The request, or why it cannot be read. */
function readRequest(text: unknown): RestoreRequest | string {
  const value = parseRecordJson(text);
  if (!isObject(value)) return `data.${REQUEST_KEY} is not a JSON object`;
  const { component } = value;
  if (!isObject(component) || !isText(component.namespace) || !isText(component.serviceId) || !isText(component.serviceAlias)) return 'it names no component (namespace, serviceId, serviceAlias)';
  if (!isText(value.restoreName) || value.restoreName === '' || !isText(value.backupName) || value.backupName === '') return 'it names no restore or backup';
  if (!isText(value.operator) || !isRecordTime(value.requestedAt)) return 'its operator or requestedAt is missing';
  const safety = value.safetyBackup === undefined ? undefined : readBackup(value.safetyBackup);
  if (typeof safety === 'string') return safety;
  return {
    restoreName: value.restoreName,
    component: { namespace: component.namespace, serviceId: component.serviceId, serviceAlias: component.serviceAlias },
    backupName: value.backupName,
    operator: value.operator,
    ...(safety ? { safetyBackup: safety } : {}),
    requestedAt: value.requestedAt,
    ...(isText(value.idempotencyKey) ? { idempotencyKey: value.idempotencyKey } : {}),
    ...(isText(value.requestDigest) ? { requestDigest: value.requestDigest } : {}),
  };
}

function readBackup(backup: unknown): VeleroObject | string {
  const read = readRecordBackup(backup);
  if (read === 'not-a-backup') return 'its safety backup is no Velero Backup';
  if (read === 'unnamed') return 'its safety backup has no name or namespace';
  if (read === 'labels') return "its safety backup's labels or annotations are not strings";
  return read;
}

function readProgress(text: unknown): RestoreProgress | undefined {
  const value = parseRecordJson(text);
  if (!isObject(value) || !isRecordTime(value.since) || !isText(value.message)) return undefined;
  const stage = RESTORE_STAGES.find((s) => s === value.stage);
  return stage ? { stage, message: value.message, since: value.since } : undefined;
}
