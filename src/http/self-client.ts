import type { Context } from 'koa';
import * as oidc from 'openid-client';
import { jsonCookies } from './json-cookies.ts';

export interface Transaction {
  verifier: string;
  nonce: string;
}

/** Sign-ins under way at once in one browser (tabs) that are remembered. */
const MAX_PENDING = 5;

export interface SelfClientOptions {
  issuer: string;
  clientId: string;
  /** None: a public client (PKCE only). */
  clientSecret?: string | undefined;
  /** Where the application lives, e.g. `/demo`: its callback is `<path>/callback`, its cookies are scoped to it. */
  path: string;
  scope: string;
  /** This node's own address (`http://127.0.0.1:PORT`) once it listens. */
  localOrigin: () => string | undefined;
}

/**
 * A relying party served by twofold itself (the demo, the account page): an OpenID Connect
 * code flow with PKCE through openid-client, its state in signed, HTTP-only cookies scoped
 * to its path.
 */
export function createSelfClient(options: SelfClientOptions) {
  const { issuer, path } = options;
  const redirectUri = `${issuer}${path}/callback`;
  const cookies = jsonCookies(path);
  const txCookie = `${path.slice(1)}_tx`;

  // Server-to-server calls (the token exchange, the keys) go to this node itself: a node
  // need not reach its public issuer URL (a load balancer's) to sign its own users in.
  const issuerOrigin = new URL(issuer).origin;
  const viaThisNode: oidc.CustomFetch = (url, init) => {
    const local = options.localOrigin();
    const target = new URL(url);
    const routed = local && target.origin === issuerOrigin ? new URL(`${target.pathname}${target.search}`, local) : target;
    return fetch(routed, init as RequestInit);
  };

  // The engine's endpoints are known from the issuer (its default routes), so there is no
  // discovery request: the addresses the browser is sent to are the issuer's, whatever
  // address this node is reached at. The same for every request, made once.
  const config = new oidc.Configuration(
    {
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      end_session_endpoint: `${issuer}/session/end`,
      userinfo_endpoint: `${issuer}/me`,
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
    },
    options.clientId,
    options.clientSecret === undefined ? { token_endpoint_auth_method: 'none' } : options.clientSecret,
    options.clientSecret === undefined ? oidc.None() : undefined,
  );
  config[oidc.customFetch] = viaThisNode;
  if (issuer.startsWith('http:')) oidc.allowInsecureRequests(config);
  const configuration = async () => config;

  return {
    readJson: cookies.read,
    writeJson: cookies.write,
    clear: cookies.clear,

    /** Sends the browser to sign in, keeping the PKCE verifier, state and nonce in a cookie. */
    async start(ctx: Context, params: Record<string, string> = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      // Several sign-ins may be under way (two tabs): each is kept under its state, the
      // newest few only.
      const pending = Object.entries(cookies.read<Record<string, Transaction>>(ctx, txCookie) ?? {}).slice(-(MAX_PENDING - 1));
      cookies.write(ctx, txCookie, Object.fromEntries([...pending, [state, { verifier, nonce }]]));
      const url = oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: options.scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...params,
      });
      ctx.redirect(url.href);
    },

    /**
     * The callback: exchanges the code with every check openid-client makes. The tokens, or
     * a reason the sign-in did not complete.
     */
    async finish(ctx: Context): Promise<{ tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers } | { error: string }> {
      const pending = cookies.read<Record<string, Transaction>>(ctx, txCookie) ?? {};
      const state = new URL(ctx.originalUrl, issuer).searchParams.get('state') ?? '';
      const tx = Object.hasOwn(pending, state) ? { ...pending[state]!, state } : undefined;
      if (!tx) return { error: 'the sign-in was not started here' };
      const { [state]: _done, ...rest } = pending;
      if (Object.keys(rest).length) cookies.write(ctx, txCookie, rest);
      else cookies.clear(ctx, txCookie);
      try {
        const tokens = await oidc.authorizationCodeGrant(await configuration(), new URL(ctx.originalUrl, issuer), {
          pkceCodeVerifier: tx.verifier,
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          idTokenExpected: true,
        });
        return { tokens };
      } catch (err) {
        return {
          error: err instanceof oidc.AuthorizationResponseError ? (err.error_description ?? err.error) : 'the answer could not be verified',
        };
      }
    },

    /**
     * For a relying party that keeps its transaction itself (server side): the address to
     * send the browser to, with the PKCE challenge of `tx.verifier`, its state and nonce.
     */
    async authorizationUrl(tx: Transaction & { state: string }, params: Record<string, string> = {}): Promise<URL> {
      return oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: options.scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(tx.verifier),
        code_challenge_method: 'S256',
        state: tx.state,
        nonce: tx.nonce,
        ...params,
      });
    },

    /** Exchanges the code of a callback for the transaction kept server side, with every check openid-client makes. */
    async exchange(callbackUrl: URL, tx: Transaction & { state: string }) {
      return oidc.authorizationCodeGrant(await configuration(), callbackUrl, {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
    },

    /** The profile claims (name, email) of the userinfo endpoint, for the access token's user. */
    userinfo: async (accessToken: string, sub: string) => oidc.fetchUserInfo(await configuration(), accessToken, sub),

    async endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<URL> {
      return oidc.buildEndSessionUrl(await configuration(), {
        post_logout_redirect_uri: postLogoutRedirectUri,
        ...(idToken ? { id_token_hint: idToken } : {}),
      });
    },
  };
}

export type SelfClient = ReturnType<typeof createSelfClient>;
