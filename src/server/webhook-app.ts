import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { PolicyStore } from '../policy/policy-store.js';
import { admissionRouter } from './admission-route.js';
import { healthRouter, type ReadinessCheck } from './health-routes.js';

export function webhookApp(store: PolicyStore, log: Logger, readiness: ReadonlyMap<string, ReadinessCheck> = new Map()): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(admissionRouter(store, log));
  app.use(healthRouter(readiness));
  return app;
}
