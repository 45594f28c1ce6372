// The hand-over of a stopped component's backup from the backup API to the
// controller, as Kyverno hands generate work to its background controller
// through UpdateRequests: the API (which may not create pods) writes a
// request record, a ConfigMap in the project's own namespace where tenants
// cannot write; the controller's leader runs backUpAtRest for it and writes
// the outcome back into the same record, which the API is waiting for. All
// the state is in the record, so a restart of either side neither loses a
// request nor runs one twice (backUpAtRest answers a repeat with `earlier` or
// `holder-busy`). This module is the record's format, both ways; pure.
import { isObject } from '../is-object.js';
import { isRecordTime, parseRecordJson, readRecordBackup } from '../record-json.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { VeleroObject } from '../velero/velero-resources.js';
import { viewBackup, type BackupView } from '../velero/velero-views.js';
import type { AtRestOutcome } from './at-rest-backup.js';

/** Label value `"true"` on every request record: what the controller's watch selects. */
export const AT_REST_REQUEST_LABEL = 'backup.wutong.io/at-rest-request';

const NAME_PREFIX = 'at-rest-';
const REQUEST_KEY = 'request';
const DECISION_KEY = 'outcome';

// Time for the controller's leader to pick a request up (a watch event, a
// free worker); a request it meets later than this is expired, not run, so
// the API never answers 503 for a backup that is started after all.
export const AT_REST_PICKUP_MS = 15_000;
// After the holder's start timeout: the lock, the live lists, the holder and
// Backup creates and the outcome write, each one bounded API call.
export const AT_REST_CALLS_RESERVE_MS = 15_000;

/** What the API asks of the controller. */
export interface AtRestHandoff {
  component: { namespace: string; serviceId: string };
  /** The Backup to create once the holder runs, exactly as the API built it (buildBackup's). */
  backup: VeleroObject;
  requestedAt: string;
  /** The controller starts the work only until then; after it, the request is expired. */
  startBy: string;
  /** The API waits for the outcome until then. */
  deadline: string;
}

/** What became of a request: backUpAtRest's answer, or why the controller did not run it. */
export type HandoffOutcome = AtRestOutcome | { kind: 'refused'; why: string } | { kind: 'expired' };

export interface HandoffDecision {
  outcome: HandoffOutcome;
  decidedAt: string;
}

/** A request record as read back from the cluster. */
export interface AtRestRequestRecord {
  name: string;
  uid: string;
  resourceVersion: string;
  /** Undefined when the record's request cannot be read: the controller refuses it, saying why. */
  handoff: AtRestHandoff | undefined;
  unreadable?: string;
  decision?: HandoffDecision;
}

/**
 * The record's name. A request with an Idempotency-Key is named after the
 * key (already hashed with the route and the component), so a retry, which
 * builds a new Backup name from the clock, meets the first try's record
 * (AlreadyExists) and waits on it: never two. Otherwise after the Backup,
 * whose name is unique.
 */
export function atRestRequestName(backupName: string, idempotencyKey: string | undefined): string {
  return `${NAME_PREFIX}${idempotencyKey ?? backupName}`;
}

/** The times a request made at `now` carries (AT_REST_PICKUP_MS, HOLDER_START_TIMEOUT, AT_REST_CALLS_RESERVE_MS). */
export function handoffTimes(now: Date, holderStartTimeoutMs: number): Pick<AtRestHandoff, 'requestedAt' | 'startBy' | 'deadline'> {
  const startBy = now.getTime() + AT_REST_PICKUP_MS;
  return { requestedAt: now.toISOString(), startBy: new Date(startBy).toISOString(), deadline: new Date(startBy + holderStartTimeoutMs + AT_REST_CALLS_RESERVE_MS).toISOString() };
}

/** The ConfigMap the API creates (the store puts it in the project's namespace). */
export function atRestRequestObject(name: string, handoff: AtRestHandoff): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { [AT_REST_REQUEST_LABEL]: 'true' } },
    data: { [REQUEST_KEY]: JSON.stringify(handoff) },
  };
}

/** The merge patch that writes the controller's decision into a record; guarded by the resourceVersion it was made on. */
export function decisionPatch(resourceVersion: string, decision: HandoffDecision): Record<string, unknown> {
  return { metadata: { resourceVersion }, data: { [DECISION_KEY]: JSON.stringify(decision) } };
}

/**
 * An earlier try of this request among the component's live Backups: its
 * Backup by name (this record, run before), or one labelled with its
 * Idempotency-Key (a retry of a request whose record has been swept).
 */
export function earlierTryOf(backup: VeleroObject): (live: readonly BackupView[]) => BackupView | undefined {
  const key = backup.metadata.labels?.[VELERO_LABEL.idempotencyKey];
  return (live) => live.find((b) => b.metadata.name === backup.metadata.name || (key !== undefined && b.metadata.labels[VELERO_LABEL.idempotencyKey] === key));
}

/** A ConfigMap as a request record; undefined when it is no ConfigMap with a name. */
export function readAtRestRequest(raw: unknown): AtRestRequestRecord | undefined {
  if (!isObject(raw) || !isObject(raw.metadata) || typeof raw.metadata.name !== 'string') return undefined;
  const meta = raw.metadata;
  const data = isObject(raw.data) ? raw.data : {};
  const base = { name: meta.name as string, uid: typeof meta.uid === 'string' ? meta.uid : '', resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '' };
  const handoff = readHandoff(data[REQUEST_KEY]);
  const decision = readDecision(data[DECISION_KEY]);
  return {
    ...base,
    handoff: typeof handoff === 'string' ? undefined : handoff,
    ...(typeof handoff === 'string' ? { unreadable: handoff } : {}),
    ...(decision ? { decision } : {}),
  };
}

/** The request, or why it cannot be read. */
function readHandoff(text: unknown): AtRestHandoff | string {
  const value = parseRecordJson(text);
  if (!isObject(value)) return `data.${REQUEST_KEY} is not a JSON object`;
  const { component, backup } = value;
  if (!isObject(component) || typeof component.namespace !== 'string' || typeof component.serviceId !== 'string') return 'it names no component (namespace, serviceId)';
  if (!isRecordTime(value.requestedAt) || !isRecordTime(value.startBy) || !isRecordTime(value.deadline)) return 'its requestedAt, startBy or deadline is not a time';
  const read = readRecordBackup(backup);
  if (read === 'not-a-backup') return 'it holds no Velero Backup';
  if (read === 'unnamed') return 'its Backup has no name or namespace';
  if (read === 'labels') return "its Backup's labels or annotations are not strings";
  return {
    component: { namespace: component.namespace, serviceId: component.serviceId },
    backup: read,
    requestedAt: value.requestedAt,
    startBy: value.startBy,
    deadline: value.deadline,
  };
}

function readDecision(text: unknown): HandoffDecision | undefined {
  const value = parseRecordJson(text);
  if (!isObject(value) || !isRecordTime(value.decidedAt)) return undefined;
  const outcome = readOutcome(value.outcome);
  return outcome ? { outcome, decidedAt: value.decidedAt } : undefined;
}

/** An outcome read back from JSON: every field checked, Backups through viewBackup (as from the API server). */
export function readOutcome(value: unknown): HandoffOutcome | undefined {
  if (!isObject(value)) return undefined;
  const text = (key: string): string | undefined => (typeof value[key] === 'string' ? value[key] : undefined);
  const backup = viewBackup(value.backup);
  const holder = text('holder');
  switch (value.kind) {
    case 'started':
      return backup && holder !== undefined ? { kind: 'started', backup, holder } : undefined;
    case 'earlier':
    case 'unfinished':
      return backup ? { kind: value.kind, backup } : undefined;
    case 'holder-busy': {
      const serving = text('serving');
      return holder !== undefined && serving !== undefined ? { kind: 'holder-busy', holder, serving } : undefined;
    }
    case 'no-claims':
    case 'expired':
      return { kind: value.kind };
    case 'claims-deleting': {
      const claim = text('claim');
      return claim === undefined ? undefined : { kind: 'claims-deleting', claim };
    }
    case 'not-running': {
      const why = text('why');
      return holder !== undefined && why !== undefined ? { kind: 'not-running', holder, why } : undefined;
    }
    case 'refused': {
      const why = text('why');
      return why === undefined ? undefined : { kind: 'refused', why };
    }
    default:
      return undefined;
  }
}
