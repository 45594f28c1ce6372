import type { Logger } from 'pino';
import { accessControl } from '../api/auth/access-control.js';
import { metricsAccessOptions } from '../api/auth/access-settings.js';
import type { Config } from '../config.js';
import { metricsAccess, type MetricsAccess } from '../server/metrics-access.js';
import { kubeAuthReviews } from './auth-reviews.js';
import type { ClusterAccess } from './kube-config.js';
import { kubeHttp } from './kube-http.js';

// A scrape waits at most this long for each review before its 503; Prometheus
// times a scrape out after 10 s by default.
const REVIEW_TIMEOUT_MS = 5_000;

/**
 * /metrics' access control in a cluster: TokenReview and SubjectAccessReview
 * through its own client (made before the webhook serves, so /metrics is
 * never open for a moment), with the server's ServiceAccount's existing
 * permission to create both (ClusterRole wutong-backup-api).
 */
export function createMetricsAccess(cluster: ClusterAccess, config: Config, log: Logger): MetricsAccess {
  return metricsAccess(accessControl(kubeAuthReviews(kubeHttp(cluster.kubeConfig), REVIEW_TIMEOUT_MS), { ...metricsAccessOptions(config), log }));
}
