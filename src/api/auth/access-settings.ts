import type { Config } from '../../config.js';
import type { AccessControlOptions } from './access-control.js';

/** The backup API's access control as configured (API_TOKEN_AUDIENCES, API_CLIENT_CERT_*_PREFIX, AUTH_FAILURE_*). */
export function apiAccessOptions(config: Config): AccessControlOptions {
  return {
    audiences: config.apiTokenAudiences,
    certificatePrefixes: { user: config.apiClientCertUserPrefix, group: config.apiClientCertGroupPrefix },
    failureLimit: { limit: config.authFailureLimit, windowMs: config.authFailureWindowMs },
    server: 'api',
  };
}

/**
 * /metrics' access control: the same per-source limit, but no audiences. The
 * scraper (Prometheus) sends its own ServiceAccount token, made for the API
 * server, as kube-rbac-proxy and controller-runtime's metrics filter expect;
 * and no client certificates on the webhook's port.
 */
export function metricsAccessOptions(config: Config): AccessControlOptions {
  return { failureLimit: { limit: config.authFailureLimit, windowMs: config.authFailureWindowMs }, server: 'metrics' };
}
