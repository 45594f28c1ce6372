import { durationFromEnv } from '../duration.js';
import { overlapWindowMs } from './rotation-plan.js';
import { DEFAULT_CA_VALIDITY_MS, DEFAULT_CERT_VALIDITY_MS, HOUR_MS, LOCAL_HOSTS, serviceHosts } from './issue-certificates.js';

/** Secret-backed self-signed certificates, bootstrapped and rotated by the controller role, read by the others. */
export interface SelfTlsConfig {
  source: 'self';
  namespace: string;
  secretName: string;
  webhookConfigurationName: string;
  serviceName: string;
  /** SANs: the Service's DNS names, plus localhost/127.0.0.1 outside a cluster, plus TLS_EXTRA_HOSTS. */
  hosts: string[];
  caValidityMs: number;
  certValidityMs: number;
  checkIntervalMs: number;
  reloadIntervalMs: number;
  overlapMs: number;
}

/** Files in a directory, renewed by someone else (or generated once for development). */
export interface FileTlsConfig {
  source: 'files';
  dir: string;
  reloadIntervalMs: number;
  /** Set in development: generate a pair for these hosts when the files are missing. */
  generateMissingFor: string[] | undefined;
}

export type TlsConfig = SelfTlsConfig | FileTlsConfig;

/** What the process knows about the cluster it may run in (see kube-config.ts findCluster). */
export interface ClusterPlacement {
  /** "in-cluster" when running with a service account, else the kubeconfig path. */
  source: string;
  namespace: string;
}

/** WEBHOOK_CONFIGURATION_NAME: the MutatingWebhookConfiguration of this installation (its caBundle kept, its selectors honoured by the backfill). */
export function webhookConfigurationNameFrom(env: NodeJS.ProcessEnv): string {
  return env.WEBHOOK_CONFIGURATION_NAME || TLS_DEFAULTS.webhookConfigurationName;
}

export const TLS_DEFAULTS = {
  secretName: 'wutong-backup-tls',
  webhookConfigurationName: 'wutong-backup',
  serviceName: 'wutong-backup',
  apiServiceName: 'wutong-backup-api',
  dir: 'certs',
  checkIntervalMs: 12 * HOUR_MS,
  reloadIntervalMs: 10_000,
  overlapMs: 24 * HOUR_MS,
} as const;

/**
 * TLS settings from the environment:
 *   TLS_SOURCE           self | files. Default: self in a cluster, otherwise
 *                        development files (generated in TLS_DIR when missing).
 *   TLS_DIR              files mode directory (default certs).
 *   TLS_SECRET_NAME      self mode Secret (default wutong-backup-tls).
 *   WEBHOOK_CONFIGURATION_NAME  MutatingWebhookConfiguration whose caBundle is kept (default wutong-backup).
 *   WEBHOOK_SERVICE_NAME Service the API server calls (default wutong-backup).
 *   API_SERVICE_NAME     Service the console calls for the backup API (default wutong-backup-api);
 *                        the same certificate serves both ports, so both names are SANs.
 *   TLS_EXTRA_HOSTS      comma-separated extra SANs (DNS names or IPs).
 *   CA_VALIDITY, CERT_VALIDITY  lifetimes (default 43800h = 5 years, 8760h = 1 year).
 *   TLS_CHECK_INTERVAL   renewal/rotation check period (default 12h).
 *   TLS_RELOAD_INTERVAL  how often the Secret or files are re-read (default 10s).
 *   TLS_CA_OVERLAP       how long old and new CA are both trusted during a CA rotation (default 24h).
 * In self mode only the controller role keeps the Secret and caBundle, so
 * CA_VALIDITY, CERT_VALIDITY, TLS_CHECK_INTERVAL and TLS_CA_OVERLAP matter
 * there only; the webhook and api roles read the Secret and need the names.
 */
export function tlsConfigFromEnv(env: NodeJS.ProcessEnv, cluster: ClusterPlacement | undefined): TlsConfig {
  const requested = (env.TLS_SOURCE ?? '').trim();
  if (requested !== '' && requested !== 'self' && requested !== 'files') {
    throw new Error(`TLS_SOURCE must be "self" or "files", got "${requested}"`);
  }
  const inCluster = cluster?.source === 'in-cluster';
  const source = requested === '' ? (inCluster ? 'self' : 'files') : requested;
  const reloadIntervalMs = durationFromEnv(env, 'TLS_RELOAD_INTERVAL', TLS_DEFAULTS.reloadIntervalMs);
  const extraHosts = (env.TLS_EXTRA_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');

  if (source === 'files') {
    return {
      source,
      dir: env.TLS_DIR || TLS_DEFAULTS.dir,
      reloadIntervalMs,
      generateMissingFor: requested === '' ? unique([...LOCAL_HOSTS, ...extraHosts]) : undefined,
    };
  }
  if (!cluster) {
    throw new Error('TLS_SOURCE=self needs cluster access: run in a pod with a service account, or set KUBECONFIG');
  }
  const serviceName = env.WEBHOOK_SERVICE_NAME || TLS_DEFAULTS.serviceName;
  const caValidityMs = durationFromEnv(env, 'CA_VALIDITY', DEFAULT_CA_VALIDITY_MS);
  const certValidityMs = durationFromEnv(env, 'CERT_VALIDITY', DEFAULT_CERT_VALIDITY_MS);
  const overlapMs = durationFromEnv(env, 'TLS_CA_OVERLAP', TLS_DEFAULTS.overlapMs);
  assertReadersKeepUp({ caValidityMs, certValidityMs, overlapMs, reloadIntervalMs });
  return {
    source,
    namespace: cluster.namespace,
    secretName: env.TLS_SECRET_NAME || TLS_DEFAULTS.secretName,
    webhookConfigurationName: webhookConfigurationNameFrom(env),
    serviceName,
    // Outside a cluster the API server reaches the webhook by URL on this machine.
    hosts: unique([
      ...serviceHosts(serviceName, cluster.namespace),
      ...serviceHosts(env.API_SERVICE_NAME || TLS_DEFAULTS.apiServiceName, cluster.namespace),
      ...(inCluster ? [] : LOCAL_HOSTS),
      ...extraHosts,
    ]),
    caValidityMs,
    certValidityMs,
    checkIntervalMs: durationFromEnv(env, 'TLS_CHECK_INTERVAL', TLS_DEFAULTS.checkIntervalMs),
    reloadIntervalMs,
    overlapMs,
  };
}

/**
 * The webhook and api roles pick up what the keeper wrote only when they
 * re-read the Secret. A renewed certificate is written when a third of the
 * old one's life is left, and the old CA leaves caBundle one overlap after
 * the switch: a reader that re-reads less often than that serves an expired
 * certificate, or one the API server no longer trusts, and with
 * failurePolicy Fail every pod creation fails meanwhile. Two re-reads must
 * fit in the shorter window (one may fail).
 */
function assertReadersKeepUp(t: { caValidityMs: number; certValidityMs: number; overlapMs: number; reloadIntervalMs: number }): void {
  const renewalMarginMs = t.certValidityMs / 3;
  const overlapMs = overlapWindowMs({ lifetimeMs: t.caValidityMs }, { overlapMs: t.overlapMs });
  const windowMs = Math.min(renewalMarginMs, overlapMs);
  if (t.reloadIntervalMs * 2 > windowMs) {
    const which = renewalMarginMs <= overlapMs ? `a third of CERT_VALIDITY (${renewalMarginMs} ms)` : `the CA overlap (${overlapMs} ms: TLS_CA_OVERLAP, at most a sixth of CA_VALIDITY)`;
    throw new Error(
      `TLS_RELOAD_INTERVAL (${t.reloadIntervalMs} ms) must be at most half of ${which}: readers re-reading the Secret less often would serve a certificate that expired or whose CA left caBundle`,
    );
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
