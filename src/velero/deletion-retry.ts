// A Backup stuck in Deleting, and when to ask Velero again. Pure: the
// retention loop acts on it, the backup records show it.
//
// Velero v1.11.1 sets a Backup's phase to Deleting before it deletes anything
// (pkg/controller/backup_deletion_controller.go L228-236) and never sets it
// back: when a step fails (the object store, a snapshot, a restore's files,
// L281-351) it only records the errors on the DeleteBackupRequest, marks that
// Processed (L366-371) and leaves the Backup as it is, Deleting, with its data
// partly gone. Nothing in Velero tries again; a new DeleteBackupRequest does
// (it first deletes the older requests for the backup, L153-157, L426-448).
//
// The retries' state lives on the Backup itself (annotation
// backup.wutong.io/deletion-retry), written before each new request, so a
// controller restart neither forgets how often it tried (the backoff goes on
// where it was) nor asks twice for one attempt (each attempt's request has a
// name derived from the Backup's uid and the attempt number).
import { createHash } from 'node:crypto';
import { deleteBackupRequestName } from './object-names.js';
import { VELERO_ANNOTATION } from './velero-labels.js';
import type { BackupView, DeleteBackupRequestView } from './velero-views.js';

export interface DeletionRetryState {
  /** Retries asked for so far (the first deletion, by the API, retention or a user, is not counted). */
  attempts: number;
  /** When the last retry was asked for. */
  lastAttemptAt: string;
}

export interface DeletionBackoff {
  /** Wait before the first retry, after the failed deletion. */
  baseMs: number;
  /** The wait doubles per retry up to this. */
  maxMs: number;
}

export interface StuckDeletion {
  /** What Velero wrote on the newest processed request ([] when no request is left to say). */
  errors: string[];
  /** When the deletion that failed was asked for (the newest request's creation), if a request is left. */
  failedRequestAt?: string;
  retry: DeletionRetryState | undefined;
}

export function readDeletionRetry(backup: BackupView): DeletionRetryState | undefined {
  const text = backup.metadata.annotations[VELERO_ANNOTATION.deletionRetry];
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<DeletionRetryState>;
    if (typeof value.attempts === 'number' && Number.isInteger(value.attempts) && value.attempts >= 0 && typeof value.lastAttemptAt === 'string' && !Number.isNaN(Date.parse(value.lastAttemptAt))) {
      return { attempts: value.attempts, lastAttemptAt: value.lastAttemptAt };
    }
  } catch {
    // Not ours to trust: treated as no retry so far.
  }
  return undefined;
}

/**
 * The backup's deletion failed and nobody is on it: phase Deleting, not
 * being deleted by Kubernetes, and no DeleteBackupRequest Velero has not
 * processed yet (one still New or InProgress is Velero's to finish).
 */
export function stuckDeletion(backup: BackupView, requests: readonly DeleteBackupRequestView[]): StuckDeletion | undefined {
  if (backup.status.phase !== 'Deleting' || backup.metadata.deletionTimestamp !== undefined) return undefined;
  if (requests.some((r) => r.status.phase !== 'Processed')) return undefined;
  const newest = [...requests].sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : a.metadata.creationTimestamp > b.metadata.creationTimestamp ? -1 : 0))[0];
  return {
    errors: newest?.status.errors ?? [],
    ...(newest?.metadata.creationTimestamp ? { failedRequestAt: newest.metadata.creationTimestamp } : {}),
    retry: readDeletionRetry(backup),
  };
}

/** When the next retry is due: the last attempt (or the failed request) plus base·2^attempts, at most max; now when nothing says when it failed. */
export function nextRetryAt(stuck: StuckDeletion, backoff: DeletionBackoff): number {
  const attempts = stuck.retry?.attempts ?? 0;
  const since = Date.parse(stuck.retry?.lastAttemptAt ?? stuck.failedRequestAt ?? '');
  if (Number.isNaN(since)) return Number.NEGATIVE_INFINITY;
  return since + Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempts, 30));
}

/** The annotation the retry writes on the Backup before asking (guarded by the resourceVersion it was decided on). */
export function deletionRetryPatch(backup: BackupView, attempts: number, at: Date): Record<string, unknown> {
  const state: DeletionRetryState = { attempts, lastAttemptAt: at.toISOString() };
  return { metadata: { resourceVersion: backup.metadata.resourceVersion, annotations: { [VELERO_ANNOTATION.deletionRetry]: JSON.stringify(state) } } };
}

/** The request of retry `attempt`: one name per Backup and attempt, so a repeated try meets AlreadyExists. */
export function retryDeleteRequestName(backup: BackupView, attempt: number): string {
  return deleteBackupRequestName(backup.metadata.name, createHash('sha256').update(`${backup.metadata.uid}/retry/${attempt}`).digest('hex').slice(0, 4));
}

/** What a backup record says of a stuck deletion (its status stays Deleting, as Velero has it). */
export function stuckDeletionText(stuck: StuckDeletion): string {
  const why = stuck.errors.length > 0 ? stuck.errors.join('; ') : 'Velero left the backup in Deleting';
  const tries = stuck.retry ? `; retried ${stuck.retry.attempts} time${stuck.retry.attempts === 1 ? '' : 's'}, last at ${stuck.retry.lastAttemptAt}` : '';
  return `deletion failed: ${why}${tries}; the controller retries it with backoff`;
}
