import type { Response } from 'express';
import type { z } from 'zod';
import type { AccessVerb, ComponentResource, ComponentSubresource } from './auth/access-request.js';
import type { Component } from '../components/component.js';
import type { BackupSchedule } from './records/schedule-record.js';
import { sendBean, sendList } from './envelope.js';
import {
  backupParams,
  componentParams,
  createBackupBody,
  createRestoreBody,
  noQuery,
  recordsQuery,
  requestedTtl,
  restoreParams,
  scheduleBody,
} from './request-schemas.js';
import type { BackupApiDeps } from './use-cases/backup-api-deps.js';
import { createSchedule, deleteSchedule, getSchedule, updateSchedule, type ScheduleRequest } from './use-cases/backup-schedule.js';
import { createBackup, deleteBackup, listBackupRecords, type Created, type RecordPage } from './use-cases/backups.js';
import { downloadBackup } from './use-cases/download-backup.js';
import { createRestore, deleteRestore, listRestoreRecords } from './use-cases/restores.js';

/** What a route handler gets once transport, auth and validation have passed. */
export interface RouteContext<P, B, Q> {
  deps: BackupApiDeps;
  component: Component;
  params: P;
  body: B;
  query: Q;
  /** The body as parsed JSON, before defaults: what an Idempotency-Key is checked against. */
  rawBody: unknown;
  idempotencyKey?: string;
  /** Whether the Accept header names this type itself (not only through a wildcard). */
  accepts: (type: string) => boolean;
}

export interface ComponentRoute<P = unknown, B = unknown, Q = unknown> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Below the component prefix, express syntax. */
  path: string;
  summary: string;
  access: { verb: AccessVerb; resource: ComponentResource; subresource?: ComponentSubresource };
  /** A further verb the body asks for, checked once it is read (changing retention, keep or ttl, needs update). */
  bodyAccess?: (body: B) => AccessVerb | undefined;
  params: z.ZodType<P>;
  body?: z.ZodType<B>;
  query: z.ZodType<Q>;
  idempotent?: boolean;
  /** The answers it can give besides 400/401/403/404/415/503, for the OpenAPI document. */
  responses: Record<number, string>;
  /** The body's service_id, checked against the component's. */
  serviceIdOf?: (body: B) => string | undefined;
  handle(ctx: RouteContext<P, B, Q>, res: Response): Promise<void>;
}

export const COMPONENT_PREFIX = '/v2/tenants/:tenant_name/envs/:tenant_env_name/services/:service_alias';

const sendCreated = (res: Response, created: Created<unknown>): void => {
  if (created.replayed) res.setHeader('idempotent-replayed', 'true');
  sendBean(res, created.value);
};

/** Defines a route with its schema types inferred, so handlers see typed params, body and query. */
function route<P, B, Q>(spec: ComponentRoute<P, B, Q>): ComponentRoute {
  return spec as unknown as ComponentRoute;
}

/** GET …/records: a page of records from the caches. */
function recordsRoute(
  path: string,
  resource: ComponentResource,
  summary: string,
  list: (deps: BackupApiDeps, component: Component, limit?: number, continueToken?: string) => RecordPage<unknown>,
): ComponentRoute {
  return route({
    method: 'get',
    path,
    summary,
    access: { verb: 'get', resource },
    params: componentParams,
    query: recordsQuery,
    responses: { 200: 'a list of records' },
    handle: ({ deps, component, query }, res) => {
      const page = list(deps, component, query.limit, query.continue);
      sendList(res, page.items, page.continueToken);
      return Promise.resolve();
    },
  });
}

/** POST and PUT …/backup/schedule take the same body. */
function scheduleWriteRoute(
  method: 'post' | 'put',
  verb: AccessVerb,
  summary: string,
  responses: Record<number, string>,
  write: (deps: BackupApiDeps, component: Component, request: ScheduleRequest) => Promise<BackupSchedule>,
): ComponentRoute {
  return route({
    method,
    path: '/backup/schedule',
    summary,
    access: { verb, resource: 'componentbackups' },
    // Retention decides when a component's backups are deleted: setting it is a change, not a create.
    bodyAccess: (body) => (body.keep !== undefined || body.ttl !== undefined ? 'update' : undefined),
    params: componentParams,
    body: scheduleBody,
    query: noQuery,
    responses,
    handle: async ({ deps, component, body }, res) => {
      const ttl = requestedTtl(body.ttl);
      sendBean(
        res,
        await write(deps, component, { cron: body.cron, desc: body.desc ?? '', operator: body.operator ?? '', ...(ttl ? { ttl } : {}), ...(body.keep !== undefined ? { keep: body.keep } : {}) }),
      );
    },
  });
}

/**
 * The region API's backup and restore routes (api_routers/version2
 * backupRouter/restoreRouter), one table: express mounts it (api-app.ts)
 * and the OpenAPI document is generated from it (openapi.ts).
 */
export const COMPONENT_ROUTES: readonly ComponentRoute[] = [
  route({
    method: 'post',
    path: '/backup',
    summary:
      'Back up the component now: file-system backup of its volumes through its running pods, or, while it is stopped, through a holder pod that mounts its PVCs (crash-consistent data at rest: the record\'s data_state is "at-rest"; 503 holder_not_running when that pod does not start in time)',
    access: { verb: 'create', resource: 'componentbackups' },
    params: componentParams,
    body: createBackupBody,
    query: noQuery,
    idempotent: true,
    responses: {
      200: 'the new backup record',
      409: 'starting or stopping (a workload without a running pod, or pods still going), no volumes, being deleted, or a backup is unfinished (a holder pod is busy)',
      422: 'Idempotency-Key reused with another body',
    },
    serviceIdOf: (body) => body.service_id,
    handle: async ({ deps, component, body, rawBody, idempotencyKey }, res) => {
      const ttl = requestedTtl(body.ttl);
      sendCreated(
        res,
        await createBackup(deps, component, { desc: body.desc, operator: body.operator ?? '', ...(ttl ? { ttl } : {}), ...(idempotencyKey ? { idempotencyKey } : {}), body: rawBody }),
      );
    },
  }),
  recordsRoute('/backup/records', 'componentbackups', 'The component\'s backups, newest first', listBackupRecords),
  route({
    method: 'get',
    path: '/backup/schedule',
    summary: 'The component\'s backup schedule ({"bean": null} when it has none)',
    access: { verb: 'get', resource: 'componentbackups' },
    params: componentParams,
    query: noQuery,
    responses: { 200: 'the schedule, or null' },
    handle: ({ deps, component }, res) => {
      sendBean(res, getSchedule(deps, component));
      return Promise.resolve();
    },
  }),
  scheduleWriteRoute('post', 'create', 'Create the component\'s backup schedule', { 200: 'the schedule (a policy-made one is taken over)', 409: 'the component already has one set through the API, or has no volumes' }, createSchedule),
  scheduleWriteRoute('put', 'update', 'Change the component\'s backup schedule', { 200: 'the schedule as changed (a policy-made one is taken over)', 404: 'the component has none' }, updateSchedule),
  route({
    method: 'delete',
    path: '/backup/schedule',
    summary: 'Delete the component\'s backup schedule (its backups stay)',
    access: { verb: 'delete', resource: 'componentbackups' },
    params: componentParams,
    query: noQuery,
    responses: { 200: '{} (also when there was none)' },
    handle: async ({ deps, component }, res) => {
      await deleteSchedule(deps, component);
      sendBean(res, undefined);
    },
  }),
  route({
    method: 'get',
    path: '/backup/:backup_id/download',
    summary: 'A pre-signed URL of the backup\'s contents: a 302 to it, or {"bean": {"download_url"}} when Accept names application/json',
    // A URL to the whole backup: its own grant (get componentbackups/download), apart from reading records.
    access: { verb: 'get', resource: 'componentbackups', subresource: 'download' },
    params: backupParams,
    query: noQuery,
    responses: { 200: 'the URL (Accept: application/json)', 302: 'redirect to the URL', 409: 'the backup has not completed' },
    handle: async ({ deps, component, params, accepts }, res) => {
      const link = await downloadBackup(deps, component, params.backup_id);
      if (accepts('application/json')) sendBean(res, link);
      // Anything else (a browser, curl -L, a client that follows redirects) goes to the URL itself.
      else res.redirect(302, link.download_url);
    },
  }),
  route({
    method: 'delete',
    path: '/backup/:backup_id',
    summary: 'Delete a backup and its data in object storage (a Velero DeleteBackupRequest)',
    access: { verb: 'delete', resource: 'componentbackups' },
    params: backupParams,
    query: noQuery,
    responses: { 202: 'deletion requested, or already pending', 409: 'the backup has not finished' },
    handle: async ({ deps, component, params }, res) => sendBean(res, await deleteBackup(deps, component, params.backup_id), 202),
  }),
  route({
    method: 'post',
    path: '/restore',
    summary: 'Replace the stopped component\'s data with one of its backups (its current data is backed up first)',
    access: { verb: 'create', resource: 'componentrestores' },
    params: componentParams,
    body: createRestoreBody,
    query: noQuery,
    idempotent: true,
    responses: { 200: 'the new restore record', 409: 'the component runs, the backup is not restorable, or a restore is unfinished', 422: 'Idempotency-Key reused with another body' },
    serviceIdOf: (body) => body.service_id,
    handle: async ({ deps, component, body, rawBody, idempotencyKey }, res) => {
      sendCreated(
        res,
        await createRestore(deps, component, {
          backupId: body.backup_id,
          operator: body.operator ?? '',
          ...(body.safety_backup !== undefined ? { safetyBackup: body.safety_backup } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
          body: rawBody,
        }),
      );
    },
  }),
  recordsRoute('/restore/records', 'componentrestores', 'The component\'s restores, newest first', listRestoreRecords),
  route({
    method: 'delete',
    path: '/restore/:restore_id',
    summary: 'Delete a finished restore\'s record (restored data stays)',
    access: { verb: 'delete', resource: 'componentrestores' },
    params: restoreParams,
    query: noQuery,
    responses: { 200: '{}', 409: 'the restore has not finished' },
    handle: async ({ deps, component, params }, res) => {
      await deleteRestore(deps, component, params.restore_id);
      sendBean(res, undefined);
    },
  }),
];
