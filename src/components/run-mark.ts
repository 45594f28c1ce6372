// LOCAL STAND-IN for the lead's foundation (H-DESIGN.md item 7); replaced by main's version on merge.
import type { BackupView } from '../velero/velero-views.js';
import type { ClaimSummary } from './component-registry.js';
import { PROTECTION_ANNOTATION } from './protection-keys.js';

export type RunMark = { kind: 'running' } | { kind: 'stopped'; at: string };

export function readRunMark(annotations: Readonly<Record<string, string>>): RunMark | undefined {
  const value = annotations[PROTECTION_ANNOTATION.ranUntil];
  if (value === undefined) return undefined;
  if (value === 'running') return { kind: 'running' };
  return Number.isFinite(Date.parse(value)) ? { kind: 'stopped', at: value } : undefined;
}

export function runMarkValue(mark: RunMark): string {
  return mark.kind === 'running' ? 'running' : mark.at;
}

export function lastRun(claims: readonly ClaimSummary[]): RunMark | undefined {
  let latest: RunMark | undefined;
  for (const claim of claims) {
    const mark = readRunMark(claim.annotations);
    if (!mark) continue;
    if (mark.kind === 'running') return mark;
    if (latest === undefined || (latest.kind === 'stopped' && Date.parse(mark.at) > Date.parse(latest.at))) latest = mark;
  }
  return latest;
}

export function coveringBackup(run: RunMark | undefined, backups: readonly BackupView[]): BackupView | undefined {
  if (run === undefined || run.kind === 'running') return undefined;
  const stop = Date.parse(run.at);
  return backups
    .filter((b) => b.status.phase === 'Completed' && b.metadata.deletionTimestamp === undefined && Date.parse(b.status.startTimestamp ?? '') >= stop)
    .sort((a, b) => Date.parse(b.status.startTimestamp ?? '') - Date.parse(a.status.startTimestamp ?? ''))[0];
}
