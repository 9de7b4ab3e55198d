import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { bodyParser, emptyOrJson } from '../body.ts';
import { parseInput } from '../validate.ts';
import { adminAuth } from './auth.ts';
import { openApiDocument } from './openapi.ts';
import { adminRoutes } from './routes.ts';
import { samlAdminRoutes } from './saml-routes.ts';
import type { AdminRoute } from './route.ts';

/** The admin REST API under /admin/api (SPEC section 7), with its OpenAPI document. */
export function createAdminRouter(deps: { adminToken: string; administration: Administration; bodyLimit: number; issuer: string }) {
  const router = new Router({ prefix: '/admin/api' });
  const routes = [...adminRoutes(deps.administration), ...samlAdminRoutes(deps.administration, deps.issuer)];
  const document = openApiDocument(routes, `${deps.issuer}/admin/api`);
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(adminAuth(deps.adminToken));

  router.get('/', (ctx) => {
    ctx.body = {
      name: 'twofold admin API',
      openapi: `${deps.issuer}/admin/api/openapi.json`,
      endpoints: routes.map((r) => `${r.method.toUpperCase()} /admin/api${r.path}`),
    };
  });
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });

  for (const definition of routes) {
    const parsers = definition.body
      ? [
          definition.body.optional
            ? emptyOrJson(deps.bodyLimit)
            : bodyParser({ limit: definition.body.limitBytes ?? deps.bodyLimit, accept: ['json'] }),
        ]
      : [];
    router[definition.method](definition.path, ...parsers, (ctx) => run(ctx, definition));
  }
  return Object.assign(router, { adminRoutes: routes });
}

async function run(ctx: Context, definition: AdminRoute) {
  const input = {
    params: definition.params ? parseInput(definition.params, { ...ctx.params }) : {},
    query: parseInput(definition.query ?? emptyQuery, { ...ctx.query }),
    body: !definition.body
      ? undefined
      : definition.body.checkedByService
        ? ctx.request.body
        : parseInput(definition.body.schema, ctx.request.body),
    actor: { actor: 'admin', ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined },
  };
  const result = await definition.handle(input);
  ctx.status = definition.ok.status;
  if (definition.ok.status !== 204) ctx.body = result;
}

const emptyQuery = z.strictObject({});
