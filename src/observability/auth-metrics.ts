import { Counter } from 'prom-client';
import { registry } from './metrics.js';

// Refusals before any access check: a rising 401 rate is a misconfigured
// client or someone guessing; 429s say the per-source limit is doing its job.
export const authenticationRefusals = new Counter({
  name: 'wutong_backup_authentication_refusals_total',
  help: 'Requests refused for want of a valid identity, by server (api, metrics) and status (401 unauthenticated, 429 too many failed authentications from the source).',
  labelNames: ['server', 'status'] as const,
  registers: [registry],
});
