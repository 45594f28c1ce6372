// What a BackupStorageLocation lets Velero do, judged from its cached view:
// the API, the retention loop and `wutong-backup status` all read it here,
// so they say the same thing about the same location. Pure.
//
// Velero v1.11.1 (tag v1.11.1):
// - a ReadOnly location fails every new backup's validation
//   (pkg/controller/backup_controller.go L394-397), refuses every
//   DeleteBackupRequest (pkg/controller/backup_deletion_controller.go
//   L199-206) and stops expiry (pkg/controller/gc_controller.go L150-157):
//   restores and downloads still work, which is what the mode is for;
// - the BackupStorageLocation controller writes phase and
//   lastValidationTime on every validation
//   (pkg/controller/backup_storage_location_controller.go L125-144), every
//   spec.validationFrequency or else the server's --store-validation-frequency
//   (default 1 minute, pkg/cmd/server/server.go L89), and never when the
//   frequency is 0 (internal/storage/storagelocation.go IsReadyToValidate
//   L48-75). So a lastValidationTime far older than that means no Velero
//   server is validating it: its phase is a leftover, not the truth.
import { durationMs, formatDuration, GO_DURATION } from '../duration.js';
import type { BackupStorageLocationView } from './velero-views.js';

export const READ_ONLY = 'ReadOnly';

/** BSL_VALIDATION_MAX_AGE's default: five of Velero's default validations (every minute, v1.11.1 pkg/cmd/server/server.go L89) missed in a row. */
export const DEFAULT_MAX_VALIDATION_AGE_MS = 5 * 60_000;

export type StorageLocationState =
  | { kind: 'missing'; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'stale'; message: string; validatedAgoMs: number }
  | { kind: 'available'; readOnly: boolean };

export interface StorageLocationJudgeOptions {
  /** `<namespace>/<name>`, as messages name it. */
  ref: string;
  now: number;
  /** BSL_VALIDATION_MAX_AGE: a location validated longer ago than this (or twice its own validationFrequency, if longer) is stale. */
  maxValidationAgeMs: number;
}

/** How old lastValidationTime may be for this location: the bound, or twice the location's own frequency if that is longer. */
export function validationAgeBound(location: BackupStorageLocationView, maxValidationAgeMs: number): number | undefined {
  const own = location.spec.validationFrequency === undefined ? undefined : durationMs(location.spec.validationFrequency, GO_DURATION);
  // Frequency 0: Velero validates it once and never again (IsReadyToValidate), so its age says nothing.
  if (own === 0) return undefined;
  return Math.max(maxValidationAgeMs, 2 * (own ?? 0));
}

export function storageLocationState(location: BackupStorageLocationView | undefined, options: StorageLocationJudgeOptions): StorageLocationState {
  if (!location) return { kind: 'missing', message: `BackupStorageLocation ${options.ref} does not exist` };
  const phase = location.status.phase;
  if (phase !== 'Available') {
    const detail = location.status.message ? `: ${location.status.message}` : '';
    return { kind: 'unavailable', message: `BackupStorageLocation ${options.ref} is ${phase || 'not yet validated'}, not Available${detail}` };
  }
  const bound = validationAgeBound(location, options.maxValidationAgeMs);
  const validatedAt = location.status.lastValidationTime === undefined ? Number.NaN : Date.parse(location.status.lastValidationTime);
  if (bound !== undefined) {
    const ago = Number.isNaN(validatedAt) ? Number.POSITIVE_INFINITY : options.now - validatedAt;
    if (ago > bound) {
      const when = Number.isFinite(ago) ? `was last validated ${formatDuration(Math.max(1, Math.round(ago / 1000)) * 1000)} ago` : 'has no lastValidationTime';
      return {
        kind: 'stale',
        validatedAgoMs: ago,
        message: `BackupStorageLocation ${options.ref} ${when} (more than ${formatDuration(bound)}): no Velero server is validating it, so it is unavailable, not Available`,
      };
    }
  }
  return { kind: 'available', readOnly: location.spec.accessMode === READ_ONLY };
}

/** Why Velero would refuse `what` on a ReadOnly location, naming the location and its mode; undefined when it would not. */
export function readOnlyRefusal(location: BackupStorageLocationView | undefined, ref: string, what: 'a new backup' | 'deleting a backup' | 'retention'): string | undefined {
  if (location?.spec.accessMode !== READ_ONLY) return undefined;
  const velero =
    what === 'a new backup'
      ? 'Velero fails every new backup there in validation (v1.11.1 backup_controller.go L394-397)'
      : what === 'deleting a backup'
        ? 'Velero refuses to delete its backups (v1.11.1 backup_deletion_controller.go L199-206)'
        : 'Velero neither deletes nor expires its backups (v1.11.1 backup_deletion_controller.go L199-206, gc_controller.go L150-157)';
  return `BackupStorageLocation ${ref} has accessMode ${READ_ONLY}: ${velero}; set spec.accessMode to ReadWrite to allow ${what === 'retention' ? 'pruning' : what}`;
}
