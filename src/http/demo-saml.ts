import Router from '@koa/router';
import { SAML, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { Context } from 'koa';
import { bodyParser } from './body.ts';
import { jsonCookies } from './json-cookies.ts';

export const DEMO_SAML_APP_ID = 'demo-saml';

/** The demo service provider's addresses under the issuer. */
export const demoSamlUrls = (issuer: string) => ({
  entityId: `${issuer}/demo/saml/metadata`,
  acsUrl: `${issuer}/demo/saml/acs`,
  sloUrl: `${issuer}/demo/saml/slo`,
});

const TX = 'demo_saml_tx';
const SESSION = 'demo_saml_session';

/**
 * The embedded demo's SAML application: a service provider served by twofold itself at
 * /demo/saml, built with node-saml (which makes its signed requests and checks every
 * answer), so a newcomer sees a SAML sign-in with the second factor next to the OIDC one.
 * Its state (the pending request's ID, who signed in) lives in signed cookies of its own:
 * node-saml's request-ID cache is given one per request, backed by the cookie.
 */
export function createDemoSamlRoutes(deps: {
  issuer: string;
  keys: { keyPem: string; certPem: string };
  idpCertificate: () => Promise<string>;
}) {
  const urls = demoSamlUrls(deps.issuer);
  const router = new Router({ prefix: '/demo/saml' });
  const form = bodyParser({ limit: 128 * 1024, accept: ['form'] });

  const cookies = jsonCookies('/demo/saml');
  const read = cookies.read;
  const write = (ctx: Context, name: string, value: unknown) =>
    value === null ? cookies.clear(ctx, name) : cookies.write(ctx, name, value);

  /** The request IDs this browser is waiting for, in its cookie (the newest few). */
  const cacheOf = (ctx: Context): CacheProvider => ({
    async saveAsync(key, value) {
      const ids = { ...(read<Record<string, string>>(ctx, TX) ?? {}), [key]: value };
      write(ctx, TX, Object.fromEntries(Object.entries(ids).slice(-5)));
      return { value, createdAt: Date.now() };
    },
    getAsync: async (key) => read<Record<string, string>>(ctx, TX)?.[key] ?? null,
    async removeAsync(key) {
      const ids = read<Record<string, string>>(ctx, TX) ?? {};
      if (key === null || !Object.hasOwn(ids, key)) return null;
      const { [key]: removed, ...rest } = ids;
      write(ctx, TX, rest);
      return removed ?? null;
    },
  });

  const spFor = async (ctx: Context, extra: Partial<SamlConfig> = {}) =>
    new SAML({
      entryPoint: `${deps.issuer}/saml/sso`,
      logoutUrl: `${deps.issuer}/saml/slo`,
      callbackUrl: urls.acsUrl,
      logoutCallbackUrl: urls.sloUrl,
      issuer: urls.entityId,
      audience: urls.entityId,
      idpIssuer: `${deps.issuer}/saml/metadata`,
      idpCert: await deps.idpCertificate(),
      privateKey: deps.keys.keyPem,
      publicCert: deps.keys.certPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      disableRequestedAuthnContext: true,
      validateInResponseTo: 'always' as SamlConfig['validateInResponseTo'],
      cacheProvider: cacheOf(ctx),
      ...extra,
    });

  router.get('/', async (ctx) => {
    const session = read<{ profile: Record<string, string>; context: string }>(ctx, SESSION);
    await ctx.render('demo-saml', { title: 'Demo SAML application', session });
  });

  router.get('/metadata', async (ctx) => {
    ctx.type = 'application/samlmetadata+xml';
    ctx.body = (await spFor(ctx)).generateServiceProviderMetadata(null, deps.keys.certPem);
  });

  router.get('/login', async (ctx) => {
    const stepUp =
      ctx.query.mfa === '1'
        ? { disableRequestedAuthnContext: false, authnContext: ['https://refeds.org/profile/mfa'], racComparison: 'minimum' as const }
        : {};
    ctx.redirect(await (await spFor(ctx, stepUp)).getAuthorizeUrlAsync('', undefined, {}));
  });

  router.post('/acs', form, async (ctx) => {
    const body = ctx.request.body as Record<string, string>;
    try {
      const { profile } = await (await spFor(ctx)).validatePostResponseAsync({ SAMLResponse: String(body.SAMLResponse ?? '') });
      if (!profile) throw new Error('nobody is signed in');
      const context = /<saml:AuthnContextClassRef>([^<]+)</.exec(profile.getAssertionXml?.() ?? '')?.[1] ?? '';
      write(ctx, SESSION, { profile: plain(profile), context });
      ctx.status = 303;
      ctx.redirect('/demo/saml/');
    } catch (err) {
      ctx.status = 400;
      await ctx.render('demo-saml', { title: 'Demo SAML application', error: `The sign-in did not complete: ${(err as Error).message}.` });
    }
  });

  router.get('/logout', async (ctx) => {
    const session = read<{ profile: Profile }>(ctx, SESSION);
    cookies.clear(ctx, SESSION);
    if (!session) return ctx.redirect('/demo/saml/');
    ctx.redirect(await (await spFor(ctx)).getLogoutUrlAsync(session.profile, '', {}));
  });

  // twofold's LogoutResponse, back over HTTP-Redirect.
  router.get('/slo', async (ctx) => {
    await (await spFor(ctx)).validateRedirectAsync(ctx.query as Record<string, string>, ctx.querystring).catch(() => undefined);
    ctx.redirect('/demo/saml/');
  });

  return router;
}

/** The profile's plain fields, for the page and for the sign-out request. */
function plain(profile: Profile): Record<string, string> {
  return Object.fromEntries(Object.entries(profile).filter(([, value]) => typeof value === 'string')) as Record<string, string>;
}
