import express, { type Router } from 'express';
import { registry } from '../observability/metrics.js';

/** A named readiness condition, e.g. "tls" or "policy". */
export type ReadinessCheck = () => string | undefined;

/**
 * /healthz says the process serves; /readyz says it should get traffic
 * (every check returns undefined), naming what is not ready otherwise.
 */
export function healthRouter(checks: ReadonlyMap<string, ReadinessCheck>): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  router.get('/readyz', (_req, res) => {
    const failing: string[] = [];
    for (const [name, check] of checks) {
      const problem = check();
      if (problem !== undefined) failing.push(`${name}: ${problem}`);
    }
    if (failing.length > 0) res.status(503).type('text/plain').send(`${failing.join('\n')}\n`);
    else res.type('text/plain').send('ok\n');
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
