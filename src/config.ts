import { tenantLabelsFromEnv, type TenantLabels } from './tenancy/tenant-labels.js';
import { excludedNamespacesFrom, type ExcludedNamespaces } from './admission/excluded-namespaces.js';
import { electionTiming, type ElectionTiming } from './controller/leader-election.js';
import { durationFromEnv } from './duration.js';
import { DEFAULT_POLICY_FILE } from './policy/default-policy.js';

export interface Config {
  port: number;
  host: string | undefined;
  /** Set when POLICY_FILE is given explicitly: a file then wins over the ConfigMap even in a cluster. */
  policyFile: string;
  policyFileExplicit: boolean;
  policyConfigMap: string;
  /** SHUTDOWN_DRAIN: how long to keep serving, not ready, after SIGTERM. */
  shutdownDrainMs: number;
  /** ADMISSION_BODY_BUDGET_MIB: bytes of admission bodies held at once, across all requests. */
  bodyBudgetBytes: number;
  /** EXCLUDED_NAMESPACES plus the webhook's own (POD_NAMESPACE): pods there are allowed untouched. */
  excludedNamespaces: ExcludedNamespaces;
  /** API_PORT: the backup API's own HTTPS port. */
  apiPort: number;
  /** VELERO_NAMESPACE: where Velero runs and its objects live. */
  veleroNamespace: string;
  /** BACKUP_STORAGE_LOCATION: the BackupStorageLocation backups go to; it must be Available. */
  storageLocation: string;
  /** API_CLIENT_CA: PEM file of the CA whose client certificates the API accepts (optional). */
  apiClientCaFile: string | undefined;
  /** DOWNLOAD_TIMEOUT: how long a download waits for Velero's pre-signed URL. */
  downloadTimeoutMs: number;
  /** LEADER_ELECTION_LEASE / _RENEW / _RETRY: the controller Lease's timing (15s / 10s / 2s, as Kubernetes' own components). */
  leaderElection: ElectionTiming;
  /** CONTROLLER_RESYNC: how often every controller loop looks at every key again, whatever its triggers said. */
  controllerResyncMs: number;
  /** BACKFILL_RATE: pods the backfill reads and patches per second, at most (also its burst). */
  backfillRate: number;
  /** HOLDER_IMAGE: the image holder pods run (a build of this project's Dockerfile); unset: this pod's own image. */
  holderImage: string | undefined;
  /** HOLDER_START_TIMEOUT: how long a holder pod may take to run before the backup of a stopped component is given up (503). */
  holderStartTimeoutMs: number;
  /** HOLDER_MAX_AGE: no holder pod lives longer, whatever its backup or restore is doing. */
  holderMaxAgeMs: number;
  /** Which namespaces are tenant envs and which (TENANT_NAMESPACE_SELECTOR, TENANT_NAME_LABEL, TENANT_ENV_NAME_LABEL). */
  tenantLabels: TenantLabels;
}

const MiB = 1024 * 1024;
// Ten seconds covers the endpoints controller, kube-proxy and the API
// server's endpoint cache taking a terminating pod out of rotation; the
// Deployment's terminationGracePeriodSeconds must exceed it plus the close
// grace (10 s).
const DEFAULT_DRAIN_MS = 10_000;
// Eight reviews of the API server's 3 MiB maximum at once; ordinary reviews
// (10-20 KB) never come near it. See README, Settings.
const DEFAULT_BODY_BUDGET_MIB = 24;
// Velero's download controller answers within a second when it runs; the
// console's request should fail clearly well before a browser gives up.
const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;
// A missed trigger (a watch event lost in a reconnect) costs at most this
// long; each resync reads caches only, so it is cheap even at 5,000 components.
const DEFAULT_CONTROLLER_RESYNC_MS = 5 * 60_000;
// Pulling the image once per node, scheduling, attaching the volumes: seconds
// usually, a minute for a cold node; the console's request waits this long.
const DEFAULT_HOLDER_START_TIMEOUT_MS = 60_000;
// Above Velero's own 4 h file-system backup timeout (--fs-backup-timeout), so
// a slow backup of a large volume is never cut short; below a day, so a
// holder that lost its purpose does not hold a volume overnight.
const DEFAULT_HOLDER_MAX_AGE_MS = 6 * 3_600_000;

function mebibytes(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback * MiB;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 3) throw new Error(`${name} must be a whole number of MiB, at least 3 (one maximum-size review), got "${value}"`);
  return n * MiB;
}

function drain(env: NodeJS.ProcessEnv): number {
  // "0" is a valid choice (no drain, e.g. standalone), which parseDuration refuses.
  return env.SHUTDOWN_DRAIN?.trim() === '0' ? 0 : durationFromEnv(env, 'SHUTDOWN_DRAIN', DEFAULT_DRAIN_MS);
}

// The figure: enough to bring a few thousand pods up to date within
// minutes, little enough that the API server does not notice.
const DEFAULT_BACKFILL_RATE = 20;

function positiveRate(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number per second, got "${value}"`);
  return n;
}

function leaderElection(env: NodeJS.ProcessEnv): ElectionTiming {
  return electionTiming(
    {
      leaseDurationMs: durationFromEnv(env, 'LEADER_ELECTION_LEASE', 15_000),
      renewDeadlineMs: durationFromEnv(env, 'LEADER_ELECTION_RENEW', 10_000),
      retryPeriodMs: durationFromEnv(env, 'LEADER_ELECTION_RETRY', 2_000),
    },
    { lease: 'LEADER_ELECTION_LEASE', renew: 'LEADER_ELECTION_RENEW', retry: 'LEADER_ELECTION_RETRY' },
  );
}

function port(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: port(env.PORT, 'PORT', 8443),
    host: env.HOST || undefined,
    policyFile: env.POLICY_FILE || DEFAULT_POLICY_FILE,
    policyFileExplicit: Boolean(env.POLICY_FILE),
    policyConfigMap: env.POLICY_CONFIGMAP || 'wutong-backup-policy',
    shutdownDrainMs: drain(env),
    bodyBudgetBytes: mebibytes(env.ADMISSION_BODY_BUDGET_MIB, 'ADMISSION_BODY_BUDGET_MIB', DEFAULT_BODY_BUDGET_MIB),
    excludedNamespaces: excludedNamespacesFrom(env),
    apiPort: port(env.API_PORT, 'API_PORT', 8444),
    veleroNamespace: env.VELERO_NAMESPACE || 'velero',
    storageLocation: env.BACKUP_STORAGE_LOCATION || 'default',
    apiClientCaFile: env.API_CLIENT_CA || undefined,
    downloadTimeoutMs: durationFromEnv(env, 'DOWNLOAD_TIMEOUT', DEFAULT_DOWNLOAD_TIMEOUT_MS),
    leaderElection: leaderElection(env),
    controllerResyncMs: durationFromEnv(env, 'CONTROLLER_RESYNC', DEFAULT_CONTROLLER_RESYNC_MS),
    backfillRate: positiveRate(env.BACKFILL_RATE, 'BACKFILL_RATE', DEFAULT_BACKFILL_RATE),
    holderImage: env.HOLDER_IMAGE?.trim() || undefined,
    holderStartTimeoutMs: durationFromEnv(env, 'HOLDER_START_TIMEOUT', DEFAULT_HOLDER_START_TIMEOUT_MS),
    holderMaxAgeMs: durationFromEnv(env, 'HOLDER_MAX_AGE', DEFAULT_HOLDER_MAX_AGE_MS),
    tenantLabels: tenantLabelsFromEnv(env),
  };
}
