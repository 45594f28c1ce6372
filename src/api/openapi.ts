import { z } from 'zod';
import { COMPONENT_PREFIX, COMPONENT_ROUTES, type ComponentRoute } from './component-routes.js';
import { idempotencyKey } from './request-schemas.js';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const schemaOf = (schema: z.ZodType): JsonSchema => {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  // The document is OpenAPI 3.0: a per-schema $schema is not allowed there.
  delete json.$schema;
  return json;
};

function parameters(route: ComponentRoute): unknown[] {
  const path = schemaOf(route.params);
  const query = schemaOf(route.query);
  return [
    ...Object.entries(path.properties ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
    ...Object.entries(query.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (query.required ?? []).includes(name), schema })),
    ...(route.idempotent ? [{ name: 'Idempotency-Key', in: 'header', required: false, schema: schemaOf(idempotencyKey) }] : []),
  ];
}

const envelope = {
  Bean: { type: 'object', properties: { bean: {} }, description: 'success: {"bean": …}; {} when there is nothing to return' },
  List: { type: 'object', properties: { list: { type: 'array', items: {} }, continue: { type: 'string' } }, required: ['list'] },
  Error: {
    type: 'object',
    properties: { msg: { type: 'string' }, code: { type: 'string' }, field: { type: 'string' } },
    required: ['msg'],
  },
  ValidationError: {
    type: 'object',
    properties: { validation_error: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }, code: { type: 'string' }, field: { type: 'string' } },
    required: ['validation_error'],
  },
} as const;

const ref = (name: keyof typeof envelope): object => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } });

function operation(route: ComponentRoute): object {
  const success = Object.entries(route.responses).map(([status, description]): [string, object] => [
    status,
    { description, ...(status === '302' ? {} : ref(route.path.endsWith('/records') ? 'List' : 'Bean')) },
  ]);
  const errors = Object.fromEntries(
    ([
      [400, 'invalid input: the field is named', 'ValidationError'],
      [401, 'no valid bearer token or client certificate', 'Error'],
      [403, 'the SubjectAccessReview denied it', 'Error'],
      [404, 'no such component, backup or restore', 'Error'],
      [413, 'body over 64 KiB', 'Error'],
      [415, 'body not application/json', 'Error'],
      [503, 'no cluster, Velero missing (named), or the API server unreachable', 'Error'],
    ] as const).map(([status, description, schema]) => [String(status), { description, ...ref(schema) }]),
  );
  return {
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/[:/](\w)/g, (_, c: string) => c.toUpperCase()).replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}`,
    'x-kubernetes-access': { group: 'backup.wutong.io', ...route.access },
    parameters: parameters(route),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body) } } } } : {}),
    responses: { ...Object.fromEntries(success), ...errors },
  };
}

/**
 * The OpenAPI 3 document at /v2/openapi.json, generated from the route
 * table and the zod schemas that validate requests: it cannot describe an
 * input the API would refuse, or miss one it takes.
 */
export function openApiDocument(version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of COMPONENT_ROUTES) {
    const path = (COMPONENT_PREFIX + route.path).replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'wutong-backup component backup API',
      version,
      description: 'A drop-in for the Velero routes of Wutong\'s region API (same paths, envelope and records), over Velero.',
    },
    security: [{ bearer: [] }, { clientCertificate: [] }],
    components: {
      schemas: envelope,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a Kubernetes token (TokenReview), authorized by a SubjectAccessReview on backup.wutong.io componentbackups/componentrestores' },
        clientCertificate: { type: 'mutualTLS', description: 'a client certificate from API_CLIENT_CA (CN = user, O = groups)' },
      },
    },
    paths,
  };
}
