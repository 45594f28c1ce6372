import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import type { PolicyStore } from '../policy/policy-store.js';
import { admissionListener } from './admission-listener.js';
import { healthRouter, type ReadinessCheck } from './health-routes.js';

/** The API server appends `?timeout=10s`; only the path decides the route. */
function isMutate(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && (url === '/mutate' || url.startsWith('/mutate?'));
}

/**
 * The webhook's request listener: POST /mutate goes straight to the
 * admission handler (the hot path), everything else (health, readiness,
 * metrics) through express.
 */
export function webhookApp(store: PolicyStore, log: Logger, readiness: ReadonlyMap<string, ReadinessCheck> = new Map()): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(healthRouter(readiness));
  const admission = admissionListener(store, log);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (isMutate(req)) admission(req, res);
    else app(req, res);
  };
}
