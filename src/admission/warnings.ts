/** Why a warning was raised; also the metric label, so keep the set small. */
export type WarningReason =
  | 'missing-service-id'
  | 'invalid-service-id'
  | 'crash-consistent-only'
  | 'host-path-volume'
  | 'container-not-found'
  | 'no-data-volume'
  /** The pod has Velero's legacy hook.backup.velero.io/* keys: kept as its pre-backup hook, or never run next to a pre.* command. */
  | 'legacy-hook';

export interface MutationWarning {
  reason: WarningReason;
  message: string;
}
