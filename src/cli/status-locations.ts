// `wutong-backup status`: Velero's BackupStorageLocations, judged as the API
// and the retention loop judge them (src/velero/storage-location-state.ts):
// a ReadOnly location takes no backup and deletes none (Velero v1.11.1
// backup_controller.go L394-397, backup_deletion_controller.go L199-206,
// gc_controller.go L150-157); one whose lastValidationTime is older than
// BSL_VALIDATION_MAX_AGE has no Velero server validating it.
import { READ_ONLY, storageLocationState, type StorageLocationState } from '../velero/storage-location-state.js';
import { tableLines } from './text-table.js';
import type { BackupStorageLocationView } from '../velero/velero-views.js';

export interface StorageLocationRow {
  name: string;
  phase: string;
  accessMode: string;
  lastValidationTime: string | null;
  /** The location the project's backups go to (BACKUP_STORAGE_LOCATION). */
  used: boolean;
  /** available, read-only, stale, unavailable, or missing (the used location does not exist). */
  state: 'available' | 'read-only' | 'stale' | 'unavailable' | 'missing';
  /** Why it is not simply available; '' when it is. */
  message: string;
}

function rowState(state: StorageLocationState): Pick<StorageLocationRow, 'state' | 'message'> {
  if (state.kind !== 'available') return { state: state.kind, message: state.message };
  return state.readOnly ? { state: 'read-only', message: '' } : { state: 'available', message: '' };
}

export function storageLocationRows(
  locations: readonly BackupStorageLocationView[],
  options: { veleroNamespace: string; used: string; now: number; maxValidationAgeMs: number },
): StorageLocationRow[] {
  const ref = (name: string): string => `${options.veleroNamespace}/${name}`;
  const rows: StorageLocationRow[] = locations.map((location) => {
    const judged = rowState(storageLocationState(location, { ref: ref(location.metadata.name), now: options.now, maxValidationAgeMs: options.maxValidationAgeMs }));
    const readOnly = location.spec.accessMode === READ_ONLY;
    return {
      name: location.metadata.name,
      phase: location.status.phase ?? '',
      accessMode: location.spec.accessMode ?? 'ReadWrite',
      lastValidationTime: location.status.lastValidationTime ?? null,
      used: location.metadata.name === options.used,
      ...judged,
      ...(readOnly && judged.state === 'read-only'
        ? { message: `BackupStorageLocation ${ref(location.metadata.name)} has accessMode ${READ_ONLY}: Velero takes no backup there and deletes none of its backups (retention is paused)` }
        : {}),
    };
  });
  if (!rows.some((r) => r.used)) {
    rows.push({ name: options.used, phase: '', accessMode: '', lastValidationTime: null, used: true, state: 'missing', message: `BackupStorageLocation ${ref(options.used)} does not exist` });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** Exit 1: the location the project backs up to cannot take a backup (or a deletion) now. */
export const locationNeedsAttention = (row: StorageLocationRow): boolean => row.used && row.state !== 'available';

const HEADERS = ['STORAGE LOCATION', 'PHASE', 'ACCESS MODE', 'LAST VALIDATED', 'USED', 'STATE'] as const;

export function formatStorageLocations(rows: readonly StorageLocationRow[], veleroNamespace: string, now: Date, age: (ms: number) => string): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => [
    `${veleroNamespace}/${r.name}`,
    r.phase || '-',
    r.accessMode || '-',
    r.lastValidationTime && Number.isFinite(Date.parse(r.lastValidationTime)) ? `${age(now.getTime() - Date.parse(r.lastValidationTime))} ago` : '-',
    r.used ? 'yes' : 'no',
    r.state,
  ]);
  const notes = rows.filter((r) => r.message !== '').map((r) => `  ${r.message}\n`);
  return `\n${tableLines(HEADERS, cells).join('\n')}\n${notes.length > 0 ? `\n${notes.join('')}` : ''}`;
}
