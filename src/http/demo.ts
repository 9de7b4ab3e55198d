import Router from '@koa/router';
import type { Context } from 'koa';
import * as oidc from 'openid-client';

export const DEMO_CLIENT_ID = 'demo-app';

/**
 * The embedded demo: a relying party served by twofold itself at /demo, so a newcomer can
 * sign in through a real OpenID Connect flow (code + PKCE) and see the ID token's claims.
 * Its state lives in signed, HTTP-only cookies scoped to /demo.
 */
export function createDemoRoutes({ issuer, clientSecret }: { issuer: string; clientSecret: string }) {
  const router = new Router({ prefix: '/demo' });
  const redirectUri = `${issuer}/demo/callback`;
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(new URL(issuer), DEMO_CLIENT_ID, clientSecret, undefined, {
        ...(issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((err) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };
  const cookie = { signed: true, httpOnly: true, sameSite: 'lax' as const, path: '/demo', overwrite: true };

  function readJson<T>(ctx: Context, name: string): T | undefined {
    const raw = ctx.cookies.get(name, { signed: true });
    if (!raw) return undefined;
    try {
      return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
  const writeJson = (ctx: Context, name: string, value: unknown) =>
    ctx.cookies.set(name, Buffer.from(JSON.stringify(value)).toString('base64url'), cookie);

  router.get('/', async (ctx) => {
    const session = readJson<{ claims: Record<string, unknown> }>(ctx, 'demo_session');
    await ctx.render('demo', { title: 'Demo application', claims: session?.claims });
  });

  router.get('/login', async (ctx) => {
    const config = await configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    writeJson(ctx, 'demo_tx', { verifier, state, nonce });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const tx = readJson<{ verifier: string; state: string; nonce: string }>(ctx, 'demo_tx');
    ctx.cookies.set('demo_tx', null, cookie);
    if (!tx) {
      ctx.status = 400;
      return ctx.render('demo', { title: 'Demo application', error: 'The sign-in was not started here; try again.' });
    }
    try {
      const tokens = await oidc.authorizationCodeGrant(await configuration(), new URL(ctx.originalUrl, issuer), {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      writeJson(ctx, 'demo_session', { claims, idToken: tokens.id_token });
      ctx.redirect('/demo/');
    } catch (err) {
      ctx.status = 400;
      const reason = err instanceof oidc.AuthorizationResponseError ? err.error_description ?? err.error : 'the answer could not be verified';
      await ctx.render('demo', { title: 'Demo application', error: `Sign-in did not complete: ${reason}.` });
    }
  });

  router.get('/logout', async (ctx) => {
    const session = readJson<{ idToken?: string }>(ctx, 'demo_session');
    ctx.cookies.set('demo_session', null, cookie);
    const url = oidc.buildEndSessionUrl(await configuration(), {
      post_logout_redirect_uri: `${issuer}/demo/`,
      ...(session?.idToken ? { id_token_hint: session.idToken } : {}),
    });
    ctx.redirect(url.href);
  });

  return router;
}
