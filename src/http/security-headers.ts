import type { Context, Next } from 'koa';

/** The policy of every page: no inline script, no framing, nothing from elsewhere. */
export const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";
const HSTS = 'max-age=31536000';

/** The page policy letting images also come from one more origin (the brand logo's https address). */
export const withImageOrigin = (policy: string, origin: string) => policy.replace("img-src 'self' data:", `img-src 'self' data: ${origin}`);

declare module 'koa' {
  interface DefaultState {
    /** The origin of the brand logo when it is at an https address (the page renderer sets it). */
    imageOrigin?: string;
    /** The page fetches from its own origin (the API documentation loads the OpenAPI document). */
    connectSelf?: boolean;
  }
}

/**
 * Headers for every response. twofold's own pages run no inline script, only its one
 * script file (the backup codes' copy button); the engine's pages (which include the form_post auto-submit) are left to the
 * engine. There is no form-action directive: browsers apply it to the redirects that
 * follow a form post, which would block the return to the application.
 */
export async function securityHeaders(ctx: Context, next: Next) {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
  await next();
  if (ctx.respond === false || ctx.headerSent) return;
  if (ctx.response.is('html')) {
    let policy = ctx.state.imageOrigin ? withImageOrigin(PAGE_POLICY, ctx.state.imageOrigin) : PAGE_POLICY;
    if (ctx.state.connectSelf) policy = `${policy}; connect-src 'self'`;
    ctx.set('Content-Security-Policy', policy);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', 'no-store');
  }
}

/**
 * The same for the engine's own responses (its sign-out and error pages, form_post). The
 * policy is set before the engine answers: the engine adds the hash of the one inline
 * script it writes (form_post) to it, so nothing else inline runs and no page of it can
 * be framed (clickjacking of the sign-out button).
 */
export async function engineSecurityHeaders(ctx: Context, next: Next) {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', PAGE_POLICY);
  if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
  await next();
}
