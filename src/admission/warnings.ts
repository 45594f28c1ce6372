/** Why a warning was raised; also the metric label, so keep the set small. */
export type WarningReason =
  | 'missing-service-id'
  | 'invalid-service-id'
  | 'crash-consistent-only'
  | 'host-path-volume'
  | 'container-not-found'
  | 'no-data-volume';

export interface MutationWarning {
  reason: WarningReason;
  message: string;
}
