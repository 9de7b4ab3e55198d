import Router from '@koa/router';
import { bodyParser } from '../http/body.ts';
import { idpMetadata, type IdpEndpoints } from './metadata.ts';
import type { SamlKeys } from './signing-keys.ts';
import type { Slo } from './slo.ts';
import type { Sso } from './sso.ts';

/** A form of the HTTP-POST binding: a message of at most 64 KiB, base64, with its RelayState. */
const SAML_FORM_LIMIT = 96 * 1024;

/**
 * The SAML front door: metadata, single sign-on (HTTP-Redirect and HTTP-POST), the return
 * from the sign-in, IdP-initiated sign-in and single logout. Thin: each address reads its
 * binding and hands over to sso.ts or slo.ts.
 */
export function createSamlRoutes(deps: { endpoints: IdpEndpoints; keys: SamlKeys; sso: Sso; slo: Slo }) {
  const router = new Router({ prefix: '/saml' });
  const form = bodyParser({ limit: SAML_FORM_LIMIT, accept: ['form'] });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/metadata', async (ctx) => {
    ctx.type = 'application/samlmetadata+xml';
    // Applications fetch it now and then; a next certificate must reach them before it signs.
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = idpMetadata(deps.endpoints, await deps.keys.get());
  });
  router.get('/sso', (ctx) => deps.sso.sso(ctx));
  router.post('/sso', form, (ctx) => deps.sso.sso(ctx));
  router.get('/callback', (ctx) => deps.sso.callback(ctx));
  router.get('/start/:appId', (ctx) =>
    deps.sso.start(ctx, ctx.params.appId!, typeof ctx.query.RelayState === 'string' ? ctx.query.RelayState : undefined),
  );
  router.get('/slo', (ctx) => deps.slo.slo(ctx));
  router.post('/slo', form, (ctx) => deps.slo.slo(ctx));
  router.get('/slo/finish', (ctx) => deps.slo.finishPosted(ctx));
  return router;
}
