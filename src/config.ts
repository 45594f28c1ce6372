import { rolesFromEnv, type Role } from './roles/role.js';
import { tenantLabelsFromEnv, type TenantLabels } from './tenancy/tenant-labels.js';
import { excludedNamespacesFrom, type ExcludedNamespaces } from './admission/excluded-namespaces.js';
import { DEFAULT_CLIENT_CERT_PREFIX } from './api/auth/client-certificate.js';
import { electionTiming, type ElectionTiming } from './controller/leader-election.js';
import { durationFromEnv } from './duration.js';
import { DEFAULT_MAX_VALIDATION_AGE_MS } from './velero/storage-location-state.js';
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
  /** API_TOKEN_AUDIENCES: a bearer token must be meant for one of these (TokenReview spec.audiences); empty: no audience check. */
  apiTokenAudiences: string[];
  /** API_CLIENT_CERT_USER_PREFIX: put before a client certificate's CN to make the username. */
  apiClientCertUserPrefix: string;
  /** API_CLIENT_CERT_GROUP_PREFIX: put before each of its O values to make the groups. */
  apiClientCertGroupPrefix: string;
  /** AUTH_FAILURE_LIMIT / AUTH_FAILURE_WINDOW: failed authentications one source address may make per window before 429 (0: no limit). */
  authFailureLimit: number;
  authFailureWindowMs: number;
  /** BODY_READ_TIMEOUT: a backup API request's body must be received within this, or 408. */
  bodyReadTimeoutMs: number;
  /** ADMISSION_BODY_READ_TIMEOUT: an AdmissionReview's body must be received within this, or 408. */
  admissionBodyReadTimeoutMs: number;
  /** METRICS_AUTH: /metrics asks for a bearer token allowed to get the non-resource URL /metrics (in a cluster). */
  metricsAuth: boolean;
  /** DOWNLOAD_TIMEOUT: how long a download waits for Velero's pre-signed URL. */
  downloadTimeoutMs: number;
  /** BSL_VALIDATION_MAX_AGE: a BackupStorageLocation Velero has not validated for longer is reported unavailable (Velero not running). */
  storageLocationMaxValidationAgeMs: number;
  /** DELETION_RETRY_BASE / DELETION_RETRY_MAX: a backup stuck in Deleting is asked for again after base, doubling per retry up to max. */
  deletionRetryBaseMs: number;
  deletionRetryMaxMs: number;
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
  /** AT_REST_REQUEST_KEEP: how long the controller keeps an answered at-rest backup request record before deleting it. */
  atRestRequestKeepMs: number;
  /** RESTORE_REQUEST_KEEP: how long a finished restore's request record stays (its stage and message in records; a restore that failed before Velero's Restore existed has nothing else). */
  restoreRequestKeepMs: number;
  /** DOWNLOAD_TIME_LIMIT: a download's whole time (restore, holder, stream); its record and scratch namespace go after it, whatever the stage. */
  downloadTimeLimitMs: number;
  /** DOWNLOAD_KEEP: how long a failed download's record stays (the API answers with its reason). */
  downloadKeepMs: number;
  /** ROLE: what this process does (roles/role.ts); all of them by default. */
  roles: ReadonlySet<Role>;
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
const DEFAULT_DELETION_RETRY_BASE_MS = 60_000;
const DEFAULT_DELETION_RETRY_MAX_MS = 3_600_000;
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
// Far longer than any API request waits on its record (HOLDER_START_TIMEOUT
// and 30 s), so a waiting request always finds its answer; short enough that
// a busy cluster's namespace does not fill with answered records.
const DEFAULT_AT_REST_REQUEST_KEEP_MS = 10 * 60_000;
const DEFAULT_RESTORE_REQUEST_KEEP_MS = 7 * 24 * 3_600_000;
// Restoring and streaming a few GiB takes minutes; a scratch namespace that
// holds a copy of a tenant's data must not outlive a working day's download.
const DEFAULT_DOWNLOAD_TIME_LIMIT_MS = 2 * 3_600_000;
// The API polls the record every second or so: a minute is plenty to read a failure's reason.
const DEFAULT_DOWNLOAD_KEEP_MS = 60_000;

// A console that mistypes its token retries a handful of times; a script
// guessing tokens, or one leaking a revoked one in a loop, makes thousands of
// TokenReviews (each a call to the API server) unless stopped. Twenty in ten
// seconds is far above the first and caps the second at two TokenReviews a
// second per source.
const DEFAULT_AUTH_FAILURE_LIMIT = 20;
const DEFAULT_AUTH_FAILURE_WINDOW_MS = 10_000;
// The console sends a few hundred bytes at once: ten seconds is only ever
// reached by a client that stalls on purpose (or a dead network).
const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;
// The API server has the whole review in memory and sends it at once; the
// shipped webhook configuration gives up after timeoutSeconds: 5. Four
// seconds frees a stalled review's share of the body budget before then, and
// the 408 still reaches a caller that waits, naming the reason.
const DEFAULT_ADMISSION_BODY_READ_TIMEOUT_MS = 4_000;
// The API server's longest webhook timeout: a body still arriving after it is
// awaited by nobody.
const MAX_WEBHOOK_TIMEOUT_MS = 30_000;

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

/** Comma-separated, blanks and repeats dropped. */
function list(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== ''))];
}

/**
 * A name prefix for client certificate identities. Unset: the default; set
 * to "" (explicitly): no prefix. A prefix that itself starts with "system:"
 * would put every certificate there, so it is refused here; a shorter one
 * ("sys") is caught per certificate (client-certificate.ts).
 */
function certificatePrefix(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (value.startsWith('system:')) throw new Error(`${name} must not start with "system:" (a client certificate may never name a system: user or group), got "${value}"`);
  return value;
}

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, 0 or more, got "${value}"`);
  return n;
}

function admissionBodyReadTimeout(env: NodeJS.ProcessEnv): number {
  const ms = durationFromEnv(env, 'ADMISSION_BODY_READ_TIMEOUT', DEFAULT_ADMISSION_BODY_READ_TIMEOUT_MS);
  if (ms >= MAX_WEBHOOK_TIMEOUT_MS) throw new Error(`ADMISSION_BODY_READ_TIMEOUT must be shorter than 30s (the API server's longest webhook timeout; keep it below the webhook's timeoutSeconds), got "${env.ADMISSION_BODY_READ_TIMEOUT}"`);
  return ms;
}

function flag(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
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
    apiTokenAudiences: list(env.API_TOKEN_AUDIENCES),
    apiClientCertUserPrefix: certificatePrefix(env.API_CLIENT_CERT_USER_PREFIX, 'API_CLIENT_CERT_USER_PREFIX', DEFAULT_CLIENT_CERT_PREFIX),
    apiClientCertGroupPrefix: certificatePrefix(env.API_CLIENT_CERT_GROUP_PREFIX, 'API_CLIENT_CERT_GROUP_PREFIX', DEFAULT_CLIENT_CERT_PREFIX),
    authFailureLimit: count(env.AUTH_FAILURE_LIMIT, 'AUTH_FAILURE_LIMIT', DEFAULT_AUTH_FAILURE_LIMIT),
    authFailureWindowMs: durationFromEnv(env, 'AUTH_FAILURE_WINDOW', DEFAULT_AUTH_FAILURE_WINDOW_MS),
    bodyReadTimeoutMs: durationFromEnv(env, 'BODY_READ_TIMEOUT', DEFAULT_BODY_READ_TIMEOUT_MS),
    admissionBodyReadTimeoutMs: admissionBodyReadTimeout(env),
    metricsAuth: flag(env.METRICS_AUTH, 'METRICS_AUTH', true),
    downloadTimeoutMs: durationFromEnv(env, 'DOWNLOAD_TIMEOUT', DEFAULT_DOWNLOAD_TIMEOUT_MS),
    storageLocationMaxValidationAgeMs: durationFromEnv(env, 'BSL_VALIDATION_MAX_AGE', DEFAULT_MAX_VALIDATION_AGE_MS),
    deletionRetryBaseMs: durationFromEnv(env, 'DELETION_RETRY_BASE', DEFAULT_DELETION_RETRY_BASE_MS),
    deletionRetryMaxMs: durationFromEnv(env, 'DELETION_RETRY_MAX', DEFAULT_DELETION_RETRY_MAX_MS),
    leaderElection: leaderElection(env),
    controllerResyncMs: durationFromEnv(env, 'CONTROLLER_RESYNC', DEFAULT_CONTROLLER_RESYNC_MS),
    backfillRate: positiveRate(env.BACKFILL_RATE, 'BACKFILL_RATE', DEFAULT_BACKFILL_RATE),
    holderImage: env.HOLDER_IMAGE?.trim() || undefined,
    holderStartTimeoutMs: durationFromEnv(env, 'HOLDER_START_TIMEOUT', DEFAULT_HOLDER_START_TIMEOUT_MS),
    holderMaxAgeMs: durationFromEnv(env, 'HOLDER_MAX_AGE', DEFAULT_HOLDER_MAX_AGE_MS),
    atRestRequestKeepMs: durationFromEnv(env, 'AT_REST_REQUEST_KEEP', DEFAULT_AT_REST_REQUEST_KEEP_MS),
    restoreRequestKeepMs: durationFromEnv(env, 'RESTORE_REQUEST_KEEP', DEFAULT_RESTORE_REQUEST_KEEP_MS),
    downloadTimeLimitMs: durationFromEnv(env, 'DOWNLOAD_TIME_LIMIT', DEFAULT_DOWNLOAD_TIME_LIMIT_MS),
    downloadKeepMs: durationFromEnv(env, 'DOWNLOAD_KEEP', DEFAULT_DOWNLOAD_KEEP_MS),
    tenantLabels: tenantLabelsFromEnv(env),
    roles: rolesFromEnv(env.ROLE),
  };
}
