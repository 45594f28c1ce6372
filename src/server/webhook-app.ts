import type { Logger } from 'pino';
import type { PolicyStore } from '../policy/policy-store.js';
import { admissionListener } from './admission-listener.js';
import type { BodyBudget } from './body-budget.js';
import { expressListener } from './express-listener.js';
import { healthRouter, type ReadinessCheck } from './health-routes.js';
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
export function webhookApp(
  store: PolicyStore,
  log: Logger,
  readiness: ReadonlyMap<string, ReadinessCheck> = new Map(),
  budget?: BodyBudget,
): WebhookListener {
  const routes = expressListener((app) => app.use(healthRouter(readiness)));
  const admission = admissionListener(store, log, budget);
  return (req, res) => {
    if (isMutate(req)) admission(req, res);
    else routes(req, res);
  };
}
