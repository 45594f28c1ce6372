import type { Pod } from './pod.js';
import type { MutationWarning } from './warnings.js';

export const SERVICE_ID_LABEL = 'service_id';
const FALLBACK_LABEL = 'wutong.io/service_id';
const SERVICE_ID_ENV = 'SERVICE_ID';
const SERVICE_ID = /^[0-9a-f]{32}$/;
// The API server truncates long warnings; a hostile value must not crowd out the reason.
const SHOWN_LENGTH = 40;

function shown(value: string): string {
  return value.length > SHOWN_LENGTH ? `${value.slice(0, SHOWN_LENGTH)}…` : value;
}

export interface ServiceIdResult {
  /** The label to add, when the pod lacks it and a valid id was found. */
  add: string | undefined;
  warning: MutationWarning | undefined;
}

function fromEnv(pod: Pod): string | undefined {
  for (const container of pod.spec?.containers ?? []) {
    const value = container.env?.find((e) => e.name === SERVICE_ID_ENV)?.value;
    if (value) return value;
  }
  return undefined;
}

/**
 * Wutong's own label is authoritative when present; otherwise the id comes
 * from the namespaced label or the SERVICE_ID env var Wutong sets on every
 * container, and is only trusted when it has Wutong's 32-hex shape.
 */
export function resolveServiceId(pod: Pod, labels: Record<string, string>): ServiceIdResult {
  const existing = labels[SERVICE_ID_LABEL];
  if (existing !== undefined) {
    return SERVICE_ID.test(existing)
      ? { add: undefined, warning: undefined }
      : {
          add: undefined,
          warning: {
            reason: 'invalid-service-id',
            message: `label service_id="${shown(existing)}" is not 32 lowercase hex characters; Wutong backups cannot find this pod by component`,
          },
        };
  }
  const candidate = labels[FALLBACK_LABEL] ?? fromEnv(pod);
  if (candidate === undefined) {
    return {
      add: undefined,
      warning: {
        reason: 'missing-service-id',
        message: 'Wutong pod has no service_id (no service_id or wutong.io/service_id label, no SERVICE_ID env): component backups will not include it',
      },
    };
  }
  if (!SERVICE_ID.test(candidate)) {
    return {
      add: undefined,
      warning: {
        reason: 'invalid-service-id',
        message: `service_id candidate "${shown(candidate)}" is not 32 lowercase hex characters; label not set`,
      },
    };
  }
  return { add: candidate, warning: undefined };
}
