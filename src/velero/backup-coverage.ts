// Which of a component's claims a finished Backup copied, and why any other
// was skipped: Velero only warns and skips a volume it cannot copy (a PVC on
// a hostPath PV, a volume no running pod mounts; v1.11.1
// pkg/podvolume/backupper.go L135-143, L207-224) and still marks the Backup
// Completed, with no field saying so. The controller, which can read the
// PVCs, PVs and pods, writes this annotation once the Backup has finished;
// the backup records render it.
import { VELERO_ANNOTATION } from './velero-labels.js';
import type { BackupView } from './velero-views.js';

export interface BackupCoverage {
  /** The component's claims whose volumes the policy selects (the pods' backup.velero.io/backup-volumes), by name. */
  expected: string[];
  /** Each expected claim without a Completed PodVolumeBackup, with the reason the controller could tell. */
  skipped: Record<string, string>;
}

export function formatCoverage(coverage: BackupCoverage): string {
  return JSON.stringify({ expected: coverage.expected, skipped: coverage.skipped });
}

/** The annotation as written, or undefined when the Backup has none (not finished yet, made before, or not a component's) or it is unreadable. */
export function coverageOf(backup: BackupView): BackupCoverage | undefined {
  const raw = backup.metadata.annotations[VELERO_ANNOTATION.coverage];
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { expected, skipped } = value as { expected?: unknown; skipped?: unknown };
  if (!Array.isArray(expected) || !expected.every((e): e is string => typeof e === 'string')) return undefined;
  if (typeof skipped !== 'object' || skipped === null || Array.isArray(skipped)) return undefined;
  const reasons = Object.entries(skipped).filter((e): e is [string, string] => typeof e[1] === 'string');
  return { expected, skipped: Object.fromEntries(reasons) };
}

/** "2 of 3 volumes; logs skipped: hostPath PV": what the record shows. */
export function describeCoverage(coverage: BackupCoverage): string {
  const skipped = Object.entries(coverage.skipped);
  const copied = coverage.expected.length - skipped.length;
  const head = `${copied} of ${coverage.expected.length} volume${coverage.expected.length === 1 ? '' : 's'}`;
  return [head, ...skipped.map(([claim, reason]) => `${claim} skipped: ${reason}`)].join('; ');
}

export function isPartial(coverage: BackupCoverage): boolean {
  return Object.keys(coverage.skipped).length > 0;
}
