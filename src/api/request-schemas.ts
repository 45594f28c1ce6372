import { z } from 'zod';
import { BACKUP_CRON_RULE, isBackupCron } from '../velero/backup-cron.js';
import { KEEP_RULE, MAX_KEEP } from '../velero/backup-keep.js';
import { BACKUP_TTL_RULE, parseBackupTtl, type BackupTtl } from '../velero/backup-ttl.js';
import { isContinueToken } from './use-cases/backups.js';

/**
 * Every input the API takes, as zod schemas: they validate requests and
 * are the OpenAPI document's schemas (openapi.ts), so the two cannot drift.
 */

// The three names are matched against label values on Wutong's objects.
const labelValue = z
  .string()
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label value: 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
// Names of Velero objects: DNS-1123 subdomains.
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a Kubernetes object name: lowercase letters, digits, "-" and "."');
const serviceId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a Wutong service_id: 32 lowercase hexadecimal characters');
// Annotation values: no bound in Kubernetes beyond the 256 KiB of all of them; these keep records readable.
const desc = z.string().max(1024).describe('free text shown in the console');
const operator = z.string().max(256).describe('who asked, shown as the record\'s operator');
// "" is what the console sends when the user picked nothing: the default. Anything else must parse.
const ttl = z
  .string()
  .refine((text) => text === '' || parseBackupTtl(text) !== undefined, BACKUP_TTL_RULE)
  .describe(`how long Velero keeps the backup: ${BACKUP_TTL_RULE}; default 30 days`);

export const componentParams = z.object({ tenant_name: labelValue, tenant_env_name: labelValue, service_alias: labelValue });
export const backupParams = componentParams.extend({ backup_id: objectName });
export const restoreParams = componentParams.extend({ restore_id: objectName });

export const createBackupBody = z
  .object({ desc, ttl: ttl.optional(), operator: operator.optional(), service_id: serviceId.optional() })
  .strict()
  .describe('a manual backup of the component');
// Ours, not the region API's: a console that does not send it changes nothing about it.
const keepMessage = `must be ${KEEP_RULE}`;
const keep = z
  .number({ message: keepMessage })
  .int(keepMessage)
  .min(1, keepMessage)
  .max(MAX_KEEP, keepMessage)
  .describe(`completed backups retention keeps for the component: ${KEEP_RULE}; without it, only the TTL prunes (on PUT: unchanged)`);
export const scheduleBody = z
  .object({
    cron: z.string().refine(isBackupCron, BACKUP_CRON_RULE).describe(`when to back up: ${BACKUP_CRON_RULE}`),
    ttl: ttl.optional(),
    desc: desc.optional(),
    operator: operator.optional(),
    keep: keep.optional(),
  })
  .strict()
  .describe('the component\'s backup schedule');
export const createRestoreBody = z
  .object({
    backup_id: objectName.describe('one of this component\'s backups'),
    operator: operator.optional(),
    service_id: serviceId.optional(),
    safety_backup: z.boolean({ message: 'must be true or false' }).optional().describe('back up the data the restore replaces first (default true)'),
  })
  .strict()
  .describe('a restore of a stopped component from one of its backups');
export const recordsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).optional().describe('at most this many records; with it, `continue` in the answer names the next page'),
    continue: z.string().max(1024).refine(isContinueToken, 'must be the `continue` value of the previous page').optional(),
  })
  .strict();
export const noQuery = z.object({}).strict();

/** A retry with the same key returns the first try's result and creates nothing. */
export const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters')
  .describe('Idempotency-Key: a retried request with the same key returns the original result and creates nothing new');

/** The TTL a validated body asked for, or undefined for the default. */
export function requestedTtl(text: string | undefined): BackupTtl | undefined {
  return text === undefined || text === '' ? undefined : parseBackupTtl(text);
}
