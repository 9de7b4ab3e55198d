import * as oidc from 'openid-client';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/**
 * A user agent without a browser: follows redirects by hand and keeps cookies by name and
 * path, as a browser would for one host.
 */
export class UserAgent {
  cookies: Cookie[] = [];
  /** Sends a request somewhere else than its URL says, as a load balancer picks a node. */
  readonly route: (url: URL) => URL;
  /** Headers every request of this browser sends (its User-Agent, say). */
  headers: Record<string, string> = {};

  constructor(route: (url: URL) => URL = (url) => url) {
    this.route = route;
  }

  /** A browser behind a load balancer that sends it to `node`: its requests to `issuer`'s host go there. */
  static via(issuer: string, node: string): UserAgent {
    const from = new URL(issuer).host;
    const to = new URL(node).host;
    return new UserAgent((url) => {
      const routed = new URL(url);
      if (routed.host === from) routed.host = to;
      return routed;
    });
  }

  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  store(response: Response, url: URL) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? url.pathname.replace(/\/[^/]*$/, '') ?? '/';
      const expired = attributes.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()) || value === '';
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = this.cookieHeader(target);
    const response = await fetch(this.route(target), {
      ...init,
      redirect: 'manual',
      headers: { accept: 'text/html', ...this.headers, ...(cookie ? { cookie } : {}), ...init.headers },
    });
    this.store(response, target);
    return response;
  }

  /**
   * Posts a form as a browser does. A refused form redirects back to its page (post/
   * redirect/get, marked `retry=1`), which is followed: the answer is that page, with its
   * status. Any other answer (a redirect onwards) is returned as it is.
   */
  postForm(url: string | URL, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.postBody(url, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', headers);
  }

  /** postForm with a body as it is, of any content type. */
  async postBody(url: string | URL, body: string, contentType: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await this.request(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
    const location = response.headers.get('location');
    if (response.status !== 303 || !location || !/[?&]retry=1(&|$)/.test(location)) return response;
    return this.request(new URL(location, url));
  }
}

export interface Page {
  url: URL;
  status: number;
  html: string;
}

/** Follows redirects from `url` until a page is shown or `stopAt` is reached. */
export async function follow(agent: UserAgent, url: string | URL, stopAt: string): Promise<Page> {
  let current = new URL(url);
  let response = await agent.request(current);
  for (let hops = 0; hops < 15; hops++) {
    if (response.status < 300 || response.status >= 400) break;
    current = new URL(response.headers.get('location')!, current);
    if (current.href.startsWith(stopAt)) return { url: current, status: response.status, html: '' };
    response = await agent.request(current);
  }
  return { url: current, status: response.status, html: await response.text() };
}

/** The action of the form on a page whose action ends with `suffix`. */
export function formAction(page: Page, suffix: string): URL {
  const match = [...page.html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1]!).find((a) => a.endsWith(suffix));
  if (!match) throw new Error(`no form posting to *${suffix} on ${page.url.pathname} (status ${page.status})`);
  return new URL(match.replaceAll('&amp;', '&'), page.url);
}

/** The login form answered with a page instead of moving on. */
export class SignInRefused extends Error {
  readonly page: Page;
  constructor(page: Page) {
    super(`sign-in refused with ${page.status}`);
    this.page = page;
  }
}

export interface RelyingParty {
  config: oidc.Configuration;
  clientId: string;
  redirectUri: string;
}

export async function relyingParty(issuer: string, clientId: string, clientSecret: string | undefined, redirectUri: string) {
  const config = await oidc.discovery(new URL(issuer), clientId, clientSecret, clientSecret === undefined ? oidc.None() : undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  return { config, clientId, redirectUri } satisfies RelyingParty;
}

export interface AuthorizationStart {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function startAuthorization(rp: RelyingParty, params: Record<string, string> = {}): Promise<AuthorizationStart> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce };
}

/** The person at the authenticator app: answers the registration and code pages. */
export interface Authenticator {
  /** Called with the page's secret on the registration page; returns the code to enter. */
  register?(secret: string, page: Page): Promise<string> | string;
  /** Returns the code to enter on the code page. */
  code?(page: Page): Promise<string> | string;
  /** Keeps the backup codes shown once after a registration. */
  saveBackupCodes?(codes: string[]): void;
  /** Ticks "don't ask again on this device" on the code page (which must offer it). */
  remember?: boolean;
}

export const backupCodesOnPage = (html: string) => [...html.matchAll(/data-testid="backup-code"[^>]*>([^<]+)</g)].map((m) => m[1]!.trim());

export const secretOnPage = (html: string) => /data-testid="totp-secret"[^>]*>([^<]+)</.exec(html)?.[1]?.trim();

/**
 * Runs a whole sign-in: the authorization request, the login page (when shown), the
 * second-factor pages (when shown), the consent page (when shown), and the code exchange
 * with every check openid-client makes.
 */
export async function signIn(
  agent: UserAgent,
  rp: RelyingParty,
  credentials: { username: string; password: string } | null,
  params: Record<string, string> = {},
  authenticator: Authenticator = {},
  onPage: (
    kind: 'login' | 'register' | 'code' | 'backup-codes' | 'backup-code-used' | 'registered' | 'consent',
    page: Page,
  ) => void = () => {},
) {
  const start = await startAuthorization(rp, params);
  let page = await follow(agent, start.url, rp.redirectUri);
  const seen: string[] = [];
  while (!page.url.href.startsWith(rp.redirectUri)) {
    if (page.status !== 200) throw new Error(`sign-in stopped at ${page.url.pathname} with ${page.status}: ${page.html.slice(0, 300)}`);
    if (page.html.includes('name="password"')) {
      if (!credentials) throw new Error('a login page was shown where none was expected');
      seen.push('login');
      onPage('login', page);
      const response = await agent.postForm(formAction(page, '/login'), credentials);
      if (response.status !== 303) throw new SignInRefused({ url: page.url, status: response.status, html: await response.text() });
      page = await follow(agent, new URL(response.headers.get('location')!, page.url), rp.redirectUri);
    } else if (page.html.includes('autocomplete="one-time-code"')) {
      const secret = secretOnPage(page.html);
      seen.push(secret ? 'register' : 'code');
      onPage(secret ? 'register' : 'code', page);
      const answer = secret ? authenticator.register : authenticator.code;
      if (!answer) throw new Error(`a ${secret ? 'registration' : 'code'} page was shown where none was expected`);
      const code = await (secret ? authenticator.register!(secret, page) : authenticator.code!(page));
      const remember = !secret && authenticator.remember === true;
      if (remember && !page.html.includes('data-testid="remember"')) throw new Error('the code page offers no "don\'t ask again"');
      const response = await agent.postForm(formAction(page, '/code'), { code, ...(remember ? { remember: '1' } : {}) });
      if (response.status !== 303) throw new SignInRefused({ url: page.url, status: response.status, html: await response.text() });
      page = await follow(agent, new URL(response.headers.get('location')!, page.url), rp.redirectUri);
    } else if (page.html.includes('data-testid="continue"')) {
      // After a registration: the app was added, with the backup codes when there are any.
      const kind = page.html.includes('data-testid="backup-code"')
        ? 'backup-codes'
        : page.html.includes('data-testid="backup-codes-left"')
          ? 'backup-code-used'
          : 'registered';
      seen.push(kind);
      onPage(kind, page);
      authenticator.saveBackupCodes?.(backupCodesOnPage(page.html));
      const response = await agent.postForm(formAction(page, '/continue'), {});
      if (response.status !== 303) throw new SignInRefused({ url: page.url, status: response.status, html: await response.text() });
      page = await follow(agent, new URL(response.headers.get('location')!, page.url), rp.redirectUri);
    } else if (page.html.includes('data-testid="consent-allow"')) {
      seen.push('consent');
      onPage('consent', page);
      const response = await agent.postForm(formAction(page, '/confirm'), {});
      page = await follow(agent, new URL(response.headers.get('location')!, page.url), rp.redirectUri);
    } else {
      throw new Error(`unexpected page ${page.url.pathname}: ${page.html.slice(0, 300)}`);
    }
  }
  const tokens = await exchangeCode(rp, start, page.url);
  return { seen, tokens, claims: tokens.claims()! };
}

/** The relying party's side of the callback: the code exchange, with every check of openid-client. */
export function exchangeCode(rp: RelyingParty, start: AuthorizationStart, callback: URL) {
  return oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
    idTokenExpected: true,
  });
}
