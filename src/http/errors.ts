import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.ts';
import { logOf } from './request-log.ts';

const headings: Partial<Record<AppError['code'], string>> = {
  sign_in_expired: 'Sign-in expired',
  store_unavailable: 'Temporarily unavailable',
  not_found: 'Page not found',
  method_not_allowed: 'This page cannot be opened that way',
  payload_too_large: 'Too much was sent',
  not_implemented: 'This page cannot be opened that way',
};

/**
 * The one error middleware of twofold's own routes. An exposed error answers its status
 * with its message, as JSON or as a page by what the client accepts; anything else is a
 * generic 500 whose detail goes to the log only.
 */
export function errorMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const appError = toAppError(err);
      // An unknown method is the client's doing, not a fault here.
      if (appError.status >= 500 && appError.code !== 'not_implemented') {
        logOf(ctx, log).error({ err: appError.cause ?? appError, detail: appError.detail, path: ctx.path }, 'request failed');
      }
      ctx.status = appError.status;
      if (appError.code === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer realm="twofold-admin"');
      const message = appError.expose ? appError.message : 'Something went wrong on our side.';
      if (ctx.path.startsWith('/admin/api') || ctx.accepts('html', 'json') === 'json') {
        ctx.body = { error: appError.code, message };
      } else {
        await ctx.render('error', {
          title: headings[appError.code] ?? 'Error',
          heading: headings[appError.code] ?? 'Something went wrong',
          message,
          backTo: ctx.state.backTo,
        });
      }
    }
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      status === 413 ? 'payload_too_large' : status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'invalid_request';
    return new AppError(code, (err as Error).message, {
      cause: err,
    });
  }
  return new AppError('internal', 'internal error', { detail: (err as Error)?.message, cause: err });
}
