import { nextRetryAt, readDeletionRetry, retryDeleteRequestName, stuckDeletion, stuckDeletionText } from '../../../src/velero/deletion-retry.js';
import { viewBackup, viewDeleteBackupRequest, type BackupView, type DeleteBackupRequestView } from '../../../src/velero/velero-views.js';

// vmware-tanzu/velero v1.11.1 pkg/controller/backup_deletion_controller.go: phase Deleting is set before
// anything is deleted (L228-236) and never reverted; a failed step only records errors on the request,
// which is then Processed (L366-371).

const backup = (phase: string, annotations: Record<string, string> = {}): BackupView =>
  viewBackup({ metadata: { name: 'b-1', uid: 'u-b-1', resourceVersion: '9', annotations }, spec: {}, status: { phase } })!;
const request = (name: string, created: string, phase?: string, errors?: string[]): DeleteBackupRequestView =>
  viewDeleteBackupRequest({ metadata: { name, creationTimestamp: created }, spec: { backupName: 'b-1' }, status: { ...(phase ? { phase } : {}), ...(errors ? { errors } : {}) } })!;

test('stuck: Deleting with every request processed; the newest request says why', () => {
  const stuck = stuckDeletion(backup('Deleting'), [request('old', '2026-12-10T00:00:00Z', 'Processed', ['first']), request('new', '2026-12-10T01:00:00Z', 'Processed', ['second'])]);
  expect(stuck).toEqual({ errors: ['second'], failedRequestAt: '2026-12-10T01:00:00Z', retry: undefined });
  expect(stuckDeletionText(stuck!)).toBe('deletion failed: second; the controller retries it with backoff');
});

test('not stuck: another phase, or a request Velero has yet to process', () => {
  expect(stuckDeletion(backup('Completed'), [request('r', '2026-12-10T00:00:00Z', 'Processed', ['x'])])).toBeUndefined();
  expect(stuckDeletion(backup('Deleting'), [request('r', '2026-12-10T00:00:00Z', 'InProgress')])).toBeUndefined();
  expect(stuckDeletion(backup('Deleting'), [request('r', '2026-12-10T00:00:00Z')])).toBeUndefined();
});

test('backoff doubles from the failed request, then from each retry, up to the cap; no request left means now', () => {
  const backoff = { baseMs: 60_000, maxMs: 300_000 };
  const failed = stuckDeletion(backup('Deleting'), [request('r', '2026-12-10T00:00:00Z', 'Processed', ['x'])])!;
  expect(new Date(nextRetryAt(failed, backoff)).toISOString()).toBe('2026-12-10T00:01:00.000Z');
  const third = stuckDeletion(backup('Deleting', { 'backup.wutong.io/deletion-retry': JSON.stringify({ attempts: 2, lastAttemptAt: '2026-12-10T00:10:00Z' }) }), [])!;
  expect(new Date(nextRetryAt(third, backoff)).toISOString()).toBe('2026-12-10T00:14:00.000Z');
  const capped = stuckDeletion(backup('Deleting', { 'backup.wutong.io/deletion-retry': JSON.stringify({ attempts: 9, lastAttemptAt: '2026-12-10T00:10:00Z' }) }), [])!;
  expect(new Date(nextRetryAt(capped, backoff)).toISOString()).toBe('2026-12-10T00:15:00.000Z');
  expect(nextRetryAt(stuckDeletion(backup('Deleting'), [])!, backoff)).toBe(Number.NEGATIVE_INFINITY);
  expect(stuckDeletionText(third)).toBe('deletion failed: Velero left the backup in Deleting; retried 2 times, last at 2026-12-10T00:10:00Z; the controller retries it with backoff');
});

test('an unreadable retry annotation counts as none; each attempt has a request name of its own', () => {
  expect(readDeletionRetry(backup('Deleting', { 'backup.wutong.io/deletion-retry': '{"attempts":"x"}' }))).toBeUndefined();
  const b = backup('Deleting');
  expect(retryDeleteRequestName(b, 1)).not.toBe(retryDeleteRequestName(b, 2));
  expect(retryDeleteRequestName(b, 1)).toBe(retryDeleteRequestName(b, 1));
});
