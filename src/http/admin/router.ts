import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { bodyParser, emptyOrJson, rawBody } from '../body.ts';
import type { SettingsCheck } from '../settings-check.ts';
import { parseInput } from '../validate.ts';
import { adminAuth } from './auth.ts';
import { mountApiDocs } from './docs.ts';
import { openApiDocument } from './openapi.ts';
import { adminRoutes } from './routes.ts';
import { samlAdminRoutes } from './saml-routes.ts';
import type { AdminRoute } from './route.ts';

/** The admin REST API under /admin/api (SPEC section 7), with its OpenAPI document. */
export function createAdminRouter(deps: {
  adminToken: string;
  administration: Administration;
  bodyLimit: number;
  issuer: string;
  checkSettings: SettingsCheck;
}) {
  const router = new Router({ prefix: '/admin/api' });
  const routes = [...adminRoutes(deps.administration, deps.checkSettings), ...samlAdminRoutes(deps.administration, deps.issuer)];
  const document = openApiDocument(routes, `${deps.issuer}/admin/api`);
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  // The document describes the API and holds no data: readable without the token, so a
  // viewer (the documentation page, or any OpenAPI tool) can load it.
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  mountApiDocs(router);
  router.use(adminAuth(deps.adminToken));

  router.get('/', (ctx) => {
    ctx.body = {
      name: 'twofold admin API',
      openapi: `${deps.issuer}/admin/api/openapi.json`,
      endpoints: routes.map((r) => `${r.method.toUpperCase()} /admin/api${r.path}`),
    };
  });
  for (const definition of routes) {
    const parsers = definition.body
      ? [
          definition.body.raw
            ? rawBody(definition.body.raw, definition.body.limitBytes ?? deps.bodyLimit)
            : definition.body.optional
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
      : definition.body.raw || definition.body.checkedByService
        ? ctx.request.body
        : parseInput(definition.body.schema, ctx.request.body),
    actor: { actor: 'admin', ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined },
  };
  const result = await definition.handle(input);
  ctx.status = definition.ok.status;
  if (definition.ok.status !== 204) ctx.body = result;
}

const emptyQuery = z.strictObject({});
