import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { KubeHttpError, KubeUnreachable } from '../kube/kube-http.js';
import { expressListener } from '../server/express-listener.js';
import type { WebhookListener } from '../server/protocols.js';
import { ApiError, conflict, notFound, unavailable, ValidationError } from './api-error.js';
import type { AccessRequest, AccessVerb } from './auth/access-request.js';
import { authFailureCode, isAuthFailure, type AccessControl } from './auth/access-control.js';
import { verifiedPeerCertificate } from './auth/client-ca.js';
import { sourceAddress } from './auth/failed-authentications.js';
import { COMPONENT_PREFIX, COMPONENT_ROUTES, type ComponentRoute } from './component-routes.js';
import { sendError } from './envelope.js';
import { goJson } from './go-json.js';
import { openApiDocument } from './openapi.js';
import { idempotencyKey } from './request-schemas.js';
import type { BackupApiDeps } from './use-cases/backup-api-deps.js';
import type { TenantLookup } from './use-cases/ports.js';
import { componentFor } from './use-cases/component-context.js';

/** The parts that need a cluster; absent when the process runs standalone. */
export interface ApiBackend {
  deps: BackupApiDeps;
  access: AccessControl;
  tenants: TenantLookup;
}

export interface ApiAppOptions {
  backend?: ApiBackend;
  log: Logger;
  version: string;
}

// The console sends a few hundred bytes; 64 KiB is ample and keeps a flood of
// large bodies from costing memory before authentication has even run.
const BODY_LIMIT = '64kb';

/**
 * zod issues → the region API's validation_error map (field → messages).
 * `whole` names an issue about the value itself (empty path): the body, or
 * the header a scalar schema checks.
 */
function validationError(error: z.ZodError, whole: string): ValidationError {
  // No prototype: a field named "constructor" or "__proto__" is just a key.
  const fields = Object.create(null) as Record<string, string[]>;
  for (const issue of error.issues) {
    const names = issue.code === 'unrecognized_keys' ? issue.keys.map(String) : [issue.path.length > 0 ? issue.path.join('.') : whole];
    const message = issue.code === 'unrecognized_keys' ? 'is not a field of this request' : issue.message;
    for (const name of names) (fields[name] ??= []).push(message);
  }
  return new ValidationError(fields);
}

function parse<T>(schema: z.ZodType<T>, value: unknown, whole = 'body'): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, whole);
  return result.data;
}

const hasBody = (req: Request): boolean => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** express.json's own errors (body-parser), as API errors. */
function bodyError(err: unknown): ApiError | undefined {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new ApiError(413, `request body is over ${BODY_LIMIT}`, 'body_too_large', 'body');
  if (type === 'entity.parse.failed') return new ValidationError({ body: [`is not valid JSON: ${(err as Error).message}`] });
  if (type === 'charset.unsupported') return new ApiError(415, (err as Error).message, 'unsupported_encoding', 'Content-Type');
  if (type === 'encoding.unsupported') return new ApiError(415, (err as Error).message, 'unsupported_encoding', 'Content-Encoding');
  if (type === 'request.aborted' || type === 'request.size.invalid') return new ApiError(400, (err as Error).message, 'body_incomplete', 'body');
  // zlib's own errors (gzip's Z_DATA_ERROR, brotli's ERR__ERROR_FORMAT_…), which body-parser passes on as a 400:
  // a body that is not what its Content-Encoding says.
  const { status, errno } = err as { status?: unknown; errno?: unknown };
  if (status === 400 && typeof errno === 'number') return new ValidationError({ body: [`could not be decompressed (Content-Encoding): ${(err as Error).message}`] });
  return undefined;
}

/**
 * Express answers a path segment that is not valid percent-encoding with a
 * URIError before any handler runs; this names the route parameter it was
 * (`path` when no route's shape fits).
 */
function undecodableParam(path: string): string {
  const segments = path.split('/');
  const bad = segments.findIndex((segment) => {
    try {
      decodeURIComponent(segment);
      return false;
    } catch {
      return true;
    }
  });
  for (const route of COMPONENT_ROUTES) {
    const pattern = (COMPONENT_PREFIX + route.path).split('/');
    if (pattern.length !== segments.length || !pattern.every((p, i) => p.startsWith(':') || p === segments[i])) continue;
    const param = pattern[bad];
    if (param?.startsWith(':')) return param.slice(1);
  }
  return 'path';
}

/**
 * The backup API's request listener: the component routes (component-routes.ts)
 * behind one pipeline — authenticate, map the tenant env to its namespace,
 * authorize there, read and validate the body, resolve the component in that
 * namespace, run the use case — and the OpenAPI document.
 */
export function apiApp(options: ApiAppOptions): WebhookListener {
  const { backend, log } = options;
  const openApi = goJson(openApiDocument(options.version));
  const readJson = express.json({ limit: BODY_LIMIT, strict: false, type: () => true });

  const pipeline = (route: ComponentRoute) => async (req: Request, res: Response): Promise<void> => {
    if (!backend) {
      throw unavailable('no cluster is connected: this process runs standalone (no in-cluster ServiceAccount and no kubeconfig), and the backup API needs one', 'no_cluster');
    }
    const identity = await backend.access.authenticate({
      authorization: req.get('authorization'),
      clientCertificate: verifiedPeerCertificate(req.socket as TLSSocket),
      source: sourceAddress(req.socket),
    });
    if (isAuthFailure(identity)) {
      // RFC 6750: a 401 names the scheme the client should use.
      if (identity.status === 401) res.setHeader('www-authenticate', 'Bearer realm="wutong-backup"');
      if (identity.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(identity.retryAfterSeconds));
      throw new ApiError(identity.status, identity.message, authFailureCode(identity));
    }
    const params = parse(route.params, req.params) as { tenant_name: string; tenant_env_name: string; service_alias: string };
    const query = parse(route.query, { ...(req.query as Record<string, unknown>) });
    const ref = { tenantName: params.tenant_name, tenantEnvName: params.tenant_env_name, serviceAlias: params.service_alias };
    // Authorization before any lookup: the tenant env's namespace comes from
    // namespace labels (which tenants cannot write), the SubjectAccessReview
    // is asked there, and only an allowed caller learns whether the
    // component, its backups or even the namespace exist.
    const shownAs = `in tenant env ${ref.tenantName}/${ref.tenantEnvName}`;
    const ask = (namespace: string, verb: AccessVerb): AccessRequest => ({
      namespace,
      verb,
      resource: route.access.resource,
      ...(route.access.subresource ? { subresource: route.access.subresource } : {}),
      name: ref.serviceAlias,
      shownAs,
    });
    const authorize = async (request: AccessRequest): Promise<void> => {
      const denied = await backend.access.authorize(identity, request);
      if (denied) throw new ApiError(denied.status, denied.message, denied.status === 403 ? 'forbidden' : 'unavailable');
    };
    if (!backend.tenants.synced()) throw unavailable('the tenant namespaces are still being listed', 'starting');
    const env = backend.tenants.namespaceOf({ tenantName: ref.tenantName, tenantEnvName: ref.tenantEnvName });
    if (!env.found) {
      // Which envs exist is itself for those allowed cluster-wide only.
      await authorize(ask('', route.access.verb));
      if (env.reason === 'ambiguous') throw conflict(`tenant env ${ref.tenantName}/${ref.tenantEnvName} is ambiguous: namespaces ${env.namespaces.join(', ')} all carry its labels`, 'tenant_env_ambiguous');
      throw notFound(`tenant env ${ref.tenantName}/${ref.tenantEnvName} not found: no namespace carries its labels`, 'tenant_env_not_found');
    }
    await authorize(ask(env.namespace, route.access.verb));
    const key = route.idempotent && req.get('idempotency-key') !== undefined ? parse(idempotencyKey, req.get('idempotency-key'), 'Idempotency-Key') : undefined;
    let rawBody: unknown;
    if (route.body) {
      if (!hasBody(req)) throw new ValidationError({ body: ['is required: a JSON object'] });
      if (!req.is('application/json')) throw new ApiError(415, 'request body must be application/json', 'unsupported_media_type', 'Content-Type');
      await new Promise<void>((resolve, reject) => readJson(req, res, (err?: unknown) => (err ? reject(bodyError(err) ?? (err as Error)) : resolve())));
      rawBody = req.body as unknown;
      if (rawBody === null || typeof rawBody !== 'object' || Array.isArray(rawBody)) throw new ValidationError({ body: ['must be a JSON object'] });
    }
    const body = route.body ? parse(route.body, rawBody) : undefined;
    const further = route.bodyAccess?.(body);
    if (further !== undefined && further !== route.access.verb) await authorize(ask(env.namespace, further));
    const component = await componentFor(backend.deps, ref, env.namespace, route.serviceIdOf?.(body));
    await route.handle(
      { deps: backend.deps, component, params, body, query, rawBody, ...(key ? { idempotencyKey: key } : {}), accepts: (type) => (req.get('accept') ?? '').split(',').some((part) => part.split(';')[0]?.trim().toLowerCase() === type) },
      res,
    );
    if (route.method !== 'get') {
      log.info({ method: route.method.toUpperCase(), route: route.path, component: `${ref.tenantName}/${ref.tenantEnvName}/${ref.serviceAlias}`, user: identity.username, status: res.statusCode }, 'backup API request');
    }
  };

  return expressListener((app) => {
    app.get('/v2/openapi.json', (_req, res) => {
      res.type('application/json; charset=utf-8').send(openApi);
    });
    for (const route of COMPONENT_ROUTES) {
      app[route.method](COMPONENT_PREFIX + route.path, (req: Request, res: Response, next: NextFunction) => {
        pipeline(route)(req, res).catch(next);
      });
    }
    app.use((req: Request, res: Response) => sendError(res, new ApiError(404, `no route ${req.method} ${req.path}`, 'no_route')));
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) return;
      if (err instanceof ApiError) return sendError(res, err);
      if (err instanceof URIError) return sendError(res, new ValidationError({ [undecodableParam(req.path)]: ['is not valid percent-encoding'] }));
      const fromBody = bodyError(err);
      if (fromBody) return sendError(res, fromBody);
      if (err instanceof KubeHttpError || err instanceof KubeUnreachable) {
        log.warn({ method: req.method, path: req.path, err: err.message }, 'backup API: the Kubernetes API server failed the request');
        return sendError(res, unavailable(`the Kubernetes API server could not serve this request: ${err.message}`, 'kubernetes_unavailable'));
      }
      log.error({ method: req.method, path: req.path, err }, 'backup API: unexpected error');
      sendError(res, new ApiError(500, 'internal error (logged)', 'internal'));
    });
  });
}
