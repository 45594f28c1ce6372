import { pino, type Logger } from 'pino';

// One logger for the process. LOG_LEVEL picks the level; per-request children
// add uid/namespace/name so a line can be traced back to an admission call.
// Secrets and whole objects are never logged at info: callers pass names.
export const logger: Logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'wutong-backup' },
  redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'key', '*.key'], censor: '[redacted]' },
});

export type { Logger };
