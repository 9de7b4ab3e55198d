import type { Clock } from '../domain/clock.ts';
import type { Middleware } from 'koa';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/load.ts';
import { isAppError } from '../domain/errors.ts';
import type { Stores } from '../stores/types.ts';
import type { DataKeyring } from '../domain/data-key.ts';
import { mfaPolicies } from '../domain/mfa-policy.ts';
import { factorKinds, isFactorList } from '../domain/factors.ts';
import { REMEMBER_DAYS_MAX } from '../domain/remembered-devices.ts';
import { ACR_MFA, ACR_PASSWORD, ACR_PHR, acrOf } from './acr.ts';
import { createClientAdapter } from './client-adapter.ts';
import { createFindAccount } from './find-account.ts';
import { createInteractionPolicy } from './interaction-policy.ts';
import type { MfaAssessor } from './mfa-assessment.ts';
import type { Jwks } from './signing-keys.ts';

/** twofold's own client metadata, next to the OIDC registration metadata. */
export const extraClientProperties = [
  'first_party',
  'mfa_policy',
  'mfa_max_age',
  'mfa_factors',
  'remember_device_days',
  'passkey_sign_in',
] as const;

function validateExtraMetadata(key: string, value: unknown): void {
  if (value === undefined) return;
  if ((key === 'first_party' || key === 'passkey_sign_in') && typeof value !== 'boolean') {
    throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
  }
  if (key === 'mfa_policy' && !(mfaPolicies as readonly unknown[]).includes(value)) {
    throw new errors.InvalidClientMetadata(`mfa_policy must be one of ${mfaPolicies.join(', ')}`);
  }
  if (key === 'mfa_max_age' && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
    throw new errors.InvalidClientMetadata('mfa_max_age must be a number of seconds, 0 or more');
  }
  if (
    key === 'remember_device_days' &&
    !(Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= REMEMBER_DAYS_MAX)
  ) {
    throw new errors.InvalidClientMetadata(`remember_device_days must be a number of days from 0 to ${REMEMBER_DAYS_MAX}`);
  }
  if (key === 'mfa_factors' && !isFactorList(value)) {
    throw new errors.InvalidClientMetadata(`mfa_factors must be a list of one or more of ${factorKinds.join(', ')}, each once`);
  }
}

export function isFirstParty(client: { [key: string]: unknown } | undefined): boolean {
  return client?.['first_party'] === true;
}

export interface ProviderDeps {
  config: Config;
  stores: Stores;
  keyring: DataKeyring;
  jwks: Jwks;
  /** Per-request page rendering middleware: gives the engine's ctx its own `render`. */
  pages: Middleware;
  /** The response headers of the engine's own pages and endpoints (the HTTP layer's rules). */
  securityHeaders: Middleware;
  assessor: MfaAssessor;
  clock: Clock;
}

export function createProvider({ config, stores, keyring, jwks, pages, securityHeaders, assessor, clock }: ProviderDeps): Provider {
  const clientAdapter = createClientAdapter(stores.clients, keyring, {
    clock,
    onChanged: (listener) => stores.onChanged('clients', listener),
  });
  const ttl = config.oidc.ttl;

  const configuration: Configuration = {
    adapter: ((name: string) => (name === 'Client' ? clientAdapter : stores.oidc.adapterFor(name))) as never,
    findAccount: createFindAccount(stores.users),
    jwks: jwks as Configuration['jwks'],
    cookies: { keys: [...config.cookieKeys] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // Claims are released by scope; `openid` carries the authentication claims, so every
    // ID token says how the user signed in (RFC 8176 amr, OIDC acr).
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time', 'sid'],
      profile: ['name', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    acrValues: [ACR_PASSWORD, ACR_MFA, ACR_PHR],
    features: {
      devInteractions: { enabled: false },
      // Lets an application ask for the MFA context through claims.id_token.acr (step-up).
      claimsParameter: { enabled: true },
      // A client may introspect and revoke only the tokens issued to it.
      revocation: { enabled: true, allowedPolicy: (ctx, _client, token) => token.clientId === ctx.oidc.client?.clientId },
      introspection: { enabled: true, allowedPolicy: (ctx, _client, token) => token.clientId === ctx.oidc.client?.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          // The engine's form carries its CSRF token; it is submitted by the page's button.
          // An application that sent this session's own ID token (checked by the engine)
          // has asked already: the page then goes on by itself (OIDC RP-Initiated Logout 2),
          // so signing out of it is one confirmation, not two. Without scripts, the button.
          const hint = ctx.oidc.entities.IdTokenHint as { payload?: { sub?: string } } | undefined;
          const confirmed = hint?.payload?.sub !== undefined && hint.payload.sub === ctx.oidc.session?.accountId;
          await ctx.render('logout', { title: 'Sign out', form, confirmed });
        },
        async postLogoutSuccessSource(ctx) {
          await ctx.render('signed-out', {
            title: 'Signed out',
            message: 'You are signed out. Signing in again asks for your password, and a code where the application needs one.',
          });
        },
      },
    },
    extraClientMetadata: {
      properties: [...extraClientProperties],
      validator: (_ctx, key, value) => validateExtraMetadata(key, value),
    },
    interactions: {
      policy: createInteractionPolicy(assessor),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      Session: ttl.session,
      Interaction: ttl.interaction,
      AuthorizationCode: ttl.authorizationCode,
      AccessToken: ttl.accessToken,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      Grant: ttl.grant,
    },
    // CORS for browser-based clients: allowed from the origins of their redirect URIs.
    clientBasedCORS(_ctx, origin, client) {
      return client.redirectUris?.some((uri) => URL.canParse(uri) && new URL(uri).origin === origin) ?? false;
    },
    async renderError(ctx, out, error) {
      const unavailable = isAppError(error, 'store_unavailable');
      if (unavailable) ctx.status = 503;
      await ctx.render('error', {
        title: unavailable ? 'Temporarily unavailable' : 'Sign-in error',
        heading: unavailable ? 'Temporarily unavailable' : 'Something went wrong',
        message: unavailable
          ? 'twofold cannot reach its data store right now. Nobody can sign in until it is back; please try again shortly.'
          : (out.error_description ?? out.error),
      });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // Once no prompt is needed, and before the code or token is made from the session: the
  // acr, amr and auth_time of this authorization, from what the session proved and when.
  provider.on('authorization.accepted', (ctx: KoaContextWithOIDC) => reportAuthentication(ctx, assessor));
  provider.proxy = config.trustProxy > 0;
  provider.maxIpsCount = config.trustProxy;
  provider.use(securityHeaders as Parameters<Provider['use']>[0]);
  provider.use(pages as Parameters<Provider['use']>[0]);
  return provider;
}

/**
 * Gives this request's tokens the authentication it reports. The engine reads acr and amr
 * from its per-request context and auth_time from the session it loaded for the request;
 * both are shadowed on those request-owned objects only (the session's stored fields are
 * untouched, and the shadow is not one of them, so nothing of it is saved).
 */
function reportAuthentication(ctx: KoaContextWithOIDC, assessor: MfaAssessor): void {
  const session = ctx.oidc.session;
  if (!session) return;
  const reported = assessor.reportedFor(ctx, session.authTime() ?? 0);
  Object.defineProperty(ctx.oidc, 'acr', { value: acrOf(reported.level), configurable: true });
  Object.defineProperty(ctx.oidc, 'amr', { value: reported.amr, configurable: true });
  Object.defineProperty(session, 'authTime', { value: () => reported.authTime, configurable: true });
}

export type { Provider, KoaContextWithOIDC };
