import Router from '@koa/router';
import { createSelfClient } from './self-client.ts';

export const DEMO_CLIENT_ID = 'demo-app';

/**
 * The embedded demo: a relying party served by twofold itself at /demo, so a newcomer can
 * sign in through a real OpenID Connect flow (code + PKCE) and see the ID token's claims.
 * Its state lives in signed, HTTP-only cookies scoped to /demo.
 */
export function createDemoRoutes({
  issuer,
  clientSecret,
  localOrigin,
}: {
  issuer: string;
  clientSecret: string;
  localOrigin: () => string | undefined;
}) {
  const router = new Router({ prefix: '/demo' });
  const client = createSelfClient({
    issuer,
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    path: '/demo',
    scope: 'openid profile email',
    localOrigin,
  });

  router.get('/', async (ctx) => {
    const session = client.readJson<{ claims: Record<string, unknown>; profile?: { name?: string; email?: string } }>(ctx, 'demo_session');
    await ctx.render('demo', { title: 'Demo application', claims: session?.claims, profile: session?.profile ?? {} });
  });

  router.get('/login', (ctx) => client.start(ctx));

  router.get('/callback', async (ctx) => {
    const result = await client.finish(ctx);
    if ('error' in result) {
      ctx.status = 400;
      return ctx.render('demo', { title: 'Demo application', error: `Sign-in did not complete: ${result.error.replace(/\.$/, '')}.` });
    }
    const claims = result.tokens.claims()!;
    // Name and email come from the userinfo endpoint (the profile and email scopes).
    const info = await client.userinfo(result.tokens.access_token, claims.sub).catch(() => undefined);
    const profile = {
      ...(typeof info?.name === 'string' ? { name: info.name } : {}),
      ...(typeof info?.email === 'string' ? { email: info.email } : {}),
    };
    client.writeJson(ctx, 'demo_session', { claims, profile, idToken: result.tokens.id_token });
    ctx.redirect('/demo/');
  });

  router.get('/logout', async (ctx) => {
    const session = client.readJson<{ idToken?: string }>(ctx, 'demo_session');
    client.clear(ctx, 'demo_session');
    ctx.redirect((await client.endSessionUrl(session?.idToken, `${issuer}/demo/`)).href);
  });

  return router;
}
