// A download of a component's backup data: the backup API cannot restore
// (it has no `restores create`), so it writes a request record, a ConfigMap
// in the project's own namespace like a restore request's
// (src/restore/restore-request.ts), and the controller's leader restores the
// backup into a scratch namespace and starts a holder pod that serves the
// volumes, writing how far it got (and, once Ready, where the holder is and
// which certificate it presents) back into the same record. The record's
// name is per component, so a second download of a component while one is
// under way is an AlreadyExists (409). Pure: the record's format, both ways.
import { isObject } from '../is-object.js';
import { isRecordTime, parseRecordJson } from '../record-json.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { MissingVolume } from './download-archive.js';

/** Label value `"true"` on every download request record: what the controller's watch selects. */
export const DOWNLOAD_REQUEST_LABEL = 'backup.wutong.io/download-request';
/** Label on the scratch namespace (value: the record's name): what the sweep finds. */
export const SCRATCH_NAMESPACE_LABEL = 'backup.wutong.io/download';
export const SCRATCH_NAMESPACE_PREFIX = 'wutong-backup-dl-';

const NAME_PREFIX = 'download-';
const REQUEST_KEY = 'request';
const PROGRESS_KEY = 'progress';

export interface DownloadRequest {
  component: { namespace: string; serviceId: string; serviceAlias: string };
  backupName: string;
  operator: string;
  /** `wutong-backup-dl-<hex>`, decided by the API so that a retried step finds it by name. */
  scratchNamespace: string;
  /** sha256 (hex) of the bearer token only the API process that started the download holds. */
  tokenDigest: string;
  requestedAt: string;
  /** After this the controller deletes the record and the scratch namespace, whatever the stage: covers an API killed mid-stream. */
  expiresAt: string;
}

/**
 * New → Restoring (Velero restores into the scratch namespace) → Starting
 * (the restored pods are gone, the holder pod starts) → Ready (the holder
 * serves) | Failed.
 */
export type DownloadStage = 'New' | 'Restoring' | 'Starting' | 'Ready' | 'Failed';
export const DOWNLOAD_STAGES: readonly DownloadStage[] = ['New', 'Restoring', 'Starting', 'Ready', 'Failed'];

export interface HolderEndpoint {
  ip: string;
  port: number;
  /** sha256 fingerprint of the holder's certificate (AB:CD:…): the API pins it. */
  fingerprint: string;
}

export interface DownloadProgress {
  stage: DownloadStage;
  message: string;
  since: string;
  /** Set from Ready on. */
  holder?: HolderEndpoint;
  /** The claims whose data was restored (the archive's volumes/<claim>/). */
  volumes?: string[];
  /** The claims the backup has no data of (a partial backup), and why. */
  missing?: MissingVolume[];
  /**
   * From Starting on, once the holder's Secret is created: its certificate's
   * sha256 fingerprint. Kept here, not read back from the Secret, so that the
   * controller needs no `get secrets` (cluster-wide, that would read every
   * Secret, Velero's credentials included).
   */
  fingerprint?: string;
}

export interface DownloadRequestRecord {
  name: string;
  uid: string;
  resourceVersion: string;
  request: DownloadRequest | undefined;
  unreadable?: string;
  progress?: DownloadProgress;
}

export const downloadStageOf = (record: DownloadRequestRecord): DownloadStage => record.progress?.stage ?? 'New';

/** One record per component: its service_id names it, so the second concurrent download of it is a conflict. */
export const downloadRequestName = (serviceId: string): string => `${NAME_PREFIX}${serviceId}`;

export function downloadRequestObject(request: DownloadRequest): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: downloadRequestName(request.component.serviceId), labels: { [DOWNLOAD_REQUEST_LABEL]: 'true', [VELERO_LABEL.serviceId]: request.component.serviceId } },
    data: { [REQUEST_KEY]: JSON.stringify(request) },
  };
}

export function downloadProgressPatch(resourceVersion: string, progress: DownloadProgress): Record<string, unknown> {
  return { metadata: { resourceVersion }, data: { [PROGRESS_KEY]: JSON.stringify(progress) } };
}

/** The scratch namespace: not a tenant env (no Wutong tenant labels), and opted out of the webhook on every Kubernetes version. */
export function scratchNamespaceObject(name: string, recordName: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [SCRATCH_NAMESPACE_LABEL]: recordName, 'backup.wutong.io/inject': 'false' } },
  };
}

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';
const HEX_DIGEST = /^[0-9a-f]{64}$/;

export function readDownloadRequest(raw: unknown): DownloadRequestRecord | undefined {
  if (!isObject(raw) || !isObject(raw.metadata) || typeof raw.metadata.name !== 'string') return undefined;
  const meta = raw.metadata;
  const data = isObject(raw.data) ? raw.data : {};
  const request = readRequest(data[REQUEST_KEY]);
  const progress = readProgress(data[PROGRESS_KEY]);
  return {
    name: meta.name as string,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    request: typeof request === 'string' ? undefined : request,
    ...(typeof request === 'string' ? { unreadable: request } : {}),
    ...(progress ? { progress } : {}),
  };
}

function readRequest(text: unknown): DownloadRequest | string {
  const value = parseRecordJson(text);
  if (!isObject(value)) return `data.${REQUEST_KEY} is not a JSON object`;
  const { component } = value;
  if (!isObject(component) || !isText(component.namespace) || !isText(component.serviceId) || !isText(component.serviceAlias)) return 'it names no component (namespace, serviceId, serviceAlias)';
  if (!isText(value.backupName) || !isText(value.operator)) return 'it names no backup or operator';
  if (!isText(value.scratchNamespace) || !value.scratchNamespace.startsWith(SCRATCH_NAMESPACE_PREFIX)) return `its scratch namespace is not ${SCRATCH_NAMESPACE_PREFIX}…`;
  if (!isText(value.tokenDigest) || !HEX_DIGEST.test(value.tokenDigest)) return 'its token digest is not a sha256 in hex';
  if (!isRecordTime(value.requestedAt) || !isRecordTime(value.expiresAt)) return 'its requestedAt or expiresAt is missing';
  return {
    component: { namespace: component.namespace, serviceId: component.serviceId, serviceAlias: component.serviceAlias },
    backupName: value.backupName,
    operator: value.operator,
    scratchNamespace: value.scratchNamespace,
    tokenDigest: value.tokenDigest,
    requestedAt: value.requestedAt,
    expiresAt: value.expiresAt,
  };
}

function readProgress(text: unknown): DownloadProgress | undefined {
  const value = parseRecordJson(text);
  if (!isObject(value) || !isRecordTime(value.since) || typeof value.message !== 'string') return undefined;
  const stage = DOWNLOAD_STAGES.find((s) => s === value.stage);
  if (!stage) return undefined;
  const holder = isObject(value.holder) && isText(value.holder.ip) && typeof value.holder.port === 'number' && isText(value.holder.fingerprint)
    ? { ip: value.holder.ip, port: value.holder.port, fingerprint: value.holder.fingerprint }
    : undefined;
  const volumes = Array.isArray(value.volumes) ? value.volumes.filter(isText) : undefined;
  const missing = Array.isArray(value.missing) ? value.missing.filter((m): m is MissingVolume => isObject(m) && isText(m.claim) && typeof m.why === 'string') : undefined;
  const fingerprint = isText(value.fingerprint) ? value.fingerprint : undefined;
  return { stage, message: value.message, since: value.since, ...(holder ? { holder } : {}), ...(volumes ? { volumes } : {}), ...(missing ? { missing } : {}), ...(fingerprint ? { fingerprint } : {}) };
}
