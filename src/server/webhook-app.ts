import type { Logger } from 'pino';
import type { ExcludedNamespaces } from '../admission/excluded-namespaces.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { admissionListener } from './admission-listener.js';
import type { BodyBudget } from './body-budget.js';
import { expressListener } from './express-listener.js';
import { healthRouter, type ReadinessCheck } from './health-routes.js';
import type { MetricsAccess } from './metrics-access.js';
import type { WebhookListener, WebhookRequest } from './protocols.js';

/** The API server appends `?timeout=10s`; only the path decides the route. */
function isMutate(req: WebhookRequest): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && (url === '/mutate' || url.startsWith('/mutate?'));
}

/**
 * The webhook's request listener: POST /mutate goes straight to the
 * admission handler (the hot path), everything else (health, readiness,
 * metrics) through express.
 */
export interface WebhookAppOptions {
  /** Named readiness checks behind /readyz. */
  readiness?: ReadonlyMap<string, ReadinessCheck>;
  /** Bounds the admission bodies held at once; none: unbounded (tests). */
  budget?: BodyBudget;
  /** Namespaces whose pods are allowed untouched (config.excludedNamespaces). */
  excludedNamespaces?: ExcludedNamespaces;
  /** ADMISSION_BODY_READ_TIMEOUT: a review's body must be in within this, or 408; none: no deadline (tests). */
  bodyReadTimeoutMs?: number;
  /** Who may read /metrics (METRICS_AUTH, in a cluster); none: anyone. */
  metricsAccess?: MetricsAccess;
  /** Whether admission reviews are answered (the webhook role); false: /mutate is no route here (default true). */
  admission?: boolean;
}

export function webhookApp(store: PolicyStore, log: Logger, options: WebhookAppOptions = {}): WebhookListener {
  const routes = expressListener((app) => app.use(healthRouter(options.readiness ?? new Map(), options.metricsAccess)));
  const admission = options.admission === false ? undefined : admissionListener(store, log, options.budget, options.excludedNamespaces, options.bodyReadTimeoutMs);
  return (req, res) => {
    if (admission && isMutate(req)) admission(req, res);
    else routes(req, res);
  };
}
