// What a finished Backup of a component should have copied and, for each
// claim it holds no Completed PodVolumeBackup of, the reason the cluster
// shows: Velero v1.11.1 skips with only a warning a pod that is not Running
// (pkg/podvolume/backupper.go L135-143), a PVC bound to a hostPath PV and a
// volume no container mounts (L207-224), and copies nothing of a pod whose
// pre-backup hook failed with on-error Fail. Pure: the coverage loop reads
// the facts and writes the result on the Backup (backup-coverage.ts).
import { FSB_INCLUDE_ANNOTATION } from '../admission/volumes.js';
import type { BackupCoverage } from '../velero/backup-coverage.js';
import { VELERO_LABEL } from '../velero/velero-labels.js';
import type { PodVolumeBackupView } from '../velero/velero-views.js';

export interface CoverageClaim {
  name: string;
  uid: string;
  /** spec.volumeName: the PV it is bound to, if any. */
  volumeName?: string;
  creationTimestamp: string;
}

/** A pod of the component (its own or a holder), as the API server has it when the Backup finished. */
export interface CoveragePod {
  name: string;
  phase: string;
  deleting: boolean;
  annotations: Readonly<Record<string, string>>;
  /** Pod volume name → claim name, for its persistentVolumeClaim volumes. */
  claimVolumes: ReadonlyArray<{ volume: string; claim: string }>;
  /** Volume names some (non-init) container mounts. */
  mounted: readonly string[];
}

export interface CoverageFacts {
  /** The component's claims, live or being deleted. */
  claims: readonly CoverageClaim[];
  pods: readonly CoveragePod[];
  /** PV names whose spec.hostPath is set. */
  hostPathVolumes: ReadonlySet<string>;
  podVolumeBackups: readonly PodVolumeBackupView[];
  /** The Backup's status.startTimestamp: a claim created after it was not there to copy. */
  startedAt: string | undefined;
  backupName: string;
}

const listed = (pod: CoveragePod): string[] => (pod.annotations[FSB_INCLUDE_ANNOTATION] ?? '').split(',').filter((n) => n !== '');
const running = (pod: CoveragePod): boolean => pod.phase === 'Running' && !pod.deleting;

/**
 * Expected: every claim that existed when the Backup started, unless every
 * pod that has it as a volume leaves that volume off its include list (the
 * user's excludes, or a policy that does not select it). A claim no pod has
 * is expected too: the policy selects every PVC, and nothing could copy it.
 */
export function claimCoverage(facts: CoverageFacts): BackupCoverage {
  const started = Date.parse(facts.startedAt ?? '');
  const expected: string[] = [];
  const skipped: Record<string, string> = {};
  for (const claim of [...facts.claims].sort((a, b) => a.name.localeCompare(b.name))) {
    if (Number.isFinite(started) && Date.parse(claim.creationTimestamp) > started) continue;
    const holders = facts.pods.flatMap((pod) => pod.claimVolumes.filter((v) => v.claim === claim.name).map((v) => ({ pod, volume: v.volume })));
    const selecting = holders.filter(({ pod, volume }) => listed(pod).includes(volume));
    if (holders.length > 0 && selecting.length === 0) continue;
    expected.push(claim.name);
    const reason = skipReason(claim, selecting, facts);
    if (reason !== undefined) skipped[claim.name] = reason;
  }
  return { expected, skipped };
}

function skipReason(claim: CoverageClaim, selecting: ReadonlyArray<{ pod: CoveragePod; volume: string }>, facts: CoverageFacts): string | undefined {
  const own = facts.podVolumeBackups.filter((v) => claim.uid !== '' && v.metadata.labels[VELERO_LABEL.pvcUid] === claim.uid);
  if (own.some((v) => v.status.phase === 'Completed')) return undefined;
  const failed = own.find((v) => v.status.phase === 'Failed');
  if (failed) return `copy failed${failed.status.message ? `: ${failed.status.message}` : ''}`;
  if (own.length > 0) return `copy ${own[0]?.status.phase ?? 'not started'}`;
  // A hostPath PV first (no pod could ever get it copied), then Velero's own order: a Running pod, a container that mounts it.
  if (claim.volumeName !== undefined && facts.hostPathVolumes.has(claim.volumeName)) return 'hostPath PV';
  if (selecting.length === 0) return 'not mounted by any pod';
  const live = selecting.filter(({ pod }) => running(pod));
  if (live.length === 0) return `pod ${selecting.map(({ pod }) => pod.name).join(', ')} not Running`;
  if (!live.some(({ pod, volume }) => pod.mounted.includes(volume))) return `no container of pod ${live.map(({ pod }) => pod.name).join(', ')} mounts it`;
  return `no PodVolumeBackup: a pre-backup hook may have failed (velero backup describe ${facts.backupName} --details)`;
}
