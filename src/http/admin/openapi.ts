import { z } from 'zod';
import type { AdminRoute } from './route.ts';
import { errorView } from './schemas.ts';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const errorDescriptions: Record<number, string> = {
  400: 'invalid input: the message names the field',
  401: 'no valid admin token',
  403: "twofold's own application",
  404: 'not found',
  409: 'already taken',
  413: 'body over the size limit',
  415: 'not JSON',
  503: 'a store is unavailable',
};

/** The document's groups of operations, in the order a reader meets them, and the paths in each. */
const tags = [
  { name: 'users', description: 'Users, their second factor, lockouts and sessions', prefixes: ['/users'] },
  { name: 'applications', description: 'OIDC and SAML applications, their policy and secrets', prefixes: ['/clients', '/saml'] },
  { name: 'settings', description: 'The second factor switch, policy defaults, lockout and brand', prefixes: ['/settings'] },
  { name: 'audit', description: 'Who did what, when and from where', prefixes: ['/audit'] },
  { name: 'data', description: 'Export, import and data key rotation', prefixes: ['/export', '/import', '/keys'] },
] as const;

/** The tag of an operation; a path no tag covers stops the start-up (every operation has one). */
export function tagOf(path: string): string {
  const tag = tags.find((candidate) => candidate.prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)));
  if (!tag) throw new Error(`admin API path ${path} has no tag in openapi.ts`);
  return tag.name;
}

/** The OpenAPI 3.1 document of the admin API, made from the routes' own zod schemas. */
export function openApiDocument(routes: readonly AdminRoute[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = (status: number) => ({
    description: errorDescriptions[status] ?? 'error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  for (const definition of routes) {
    const path = definition.path.replace(/:(\w+)/g, '{$1}');
    const parameters = [...parametersOf(definition.params, 'path'), ...parametersOf(definition.query, 'query')];
    const statuses = [...new Set([400, 401, ...(definition.errors ?? []), ...(definition.body ? [413, 415] : []), 503])].sort();
    paths[path] ??= {};
    paths[path][definition.method] = {
      tags: [tagOf(definition.path)],
      summary: definition.summary,
      ...(definition.description ? { description: definition.description } : {}),
      operationId: `${definition.method}${path
        .replace(/[{}]/g, '')
        .replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())
        .replace(/\W/g, '')}`,
      ...(parameters.length ? { parameters } : {}),
      ...(definition.body
        ? {
            requestBody: {
              required: !definition.body.optional,
              content: definition.body.raw
                ? Object.fromEntries(definition.body.raw.map((type) => [type, { schema: { type: 'string', format: 'binary' } }]))
                : { 'application/json': { schema: jsonSchema(definition.body.schema, 'input') } },
            },
          }
        : {}),
      responses: {
        [definition.ok.status]: {
          description: definition.ok.description,
          ...(definition.ok.schema ? { content: { 'application/json': { schema: jsonSchema(definition.ok.schema, 'output') } } } : {}),
        },
        ...Object.fromEntries(statuses.map((status) => [status, errorResponse(status)])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'twofold admin API',
      version: '1',
      description:
        'Users, applications, the second factor, settings and the audit log. Every operation needs `Authorization: Bearer ADMIN_TOKEN`; this document itself is public (it holds no data). Errors are `{ "error": CODE, "message": text }` with a 4xx status.',
    },
    tags: tags.map(({ name, description }) => ({ name, description })),
    servers: [{ url: serverUrl }],
    security: [{ adminToken: [] }],
    paths,
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      schemas: { Error: jsonSchema(errorView, 'output') },
    },
  };
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const described = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (described.required ?? []).includes(name),
    schema: property,
  }));
}
