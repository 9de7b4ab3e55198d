import type { Context, Next } from 'koa';

/**
 * Headers for every response. twofold's own pages run no inline script, only its one
 * script file (the backup codes' copy button); the engine's pages (which include the form_post auto-submit) are left to the
 * engine. There is no form-action directive: browsers apply it to the redirects that
 * follow a form post, which would block the return to the application.
 */
export async function securityHeaders(ctx: Context, next: Next) {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  await next();
  if (ctx.respond === false || ctx.headerSent) return;
  if (ctx.response.is('html')) {
    ctx.set(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    );
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', 'no-store');
  }
}
