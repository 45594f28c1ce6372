import express, { type Router } from 'express';
import { registry } from '../observability/metrics.js';
import type { MetricsAccess } from './metrics-access.js';

/** A named readiness condition, e.g. "tls" or "policy". */
export type ReadinessCheck = () => string | undefined;

/**
 * /healthz says the process serves; /readyz says it should get traffic
 * (every check returns undefined), naming what is not ready otherwise. Both
 * stay open: the kubelet's probes carry no credentials. /metrics asks
 * `metricsAccess` first when there is one (in a cluster, unless
 * METRICS_AUTH=false); without one it is open (standalone: no API server to
 * ask).
 */
export function healthRouter(checks: ReadonlyMap<string, ReadinessCheck>, metricsAccess?: MetricsAccess): Router {
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
  router.get('/metrics', async (req, res) => {
    const refused = metricsAccess ? await metricsAccess(req) : undefined;
    if (refused) {
      // RFC 6750: a 401 names the scheme the client should use.
      if (refused.status === 401) res.setHeader('www-authenticate', 'Bearer realm="wutong-backup"');
      if (refused.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(refused.retryAfterSeconds));
      res.status(refused.status).type('text/plain').send(`${refused.message}\n`);
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
