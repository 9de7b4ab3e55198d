import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

const REQUEST_LOG = Symbol('twofold.requestLog');
type WithLog = IncomingMessage & { [REQUEST_LOG]?: Logger };

/**
 * Gives each request a logger of its own, whose every line carries the request's id (also
 * sent back as X-Request-Id). It is kept on the request itself, so the engine, which gets
 * the same request object, logs with it too. Paths only are logged: query strings carry
 * authorization codes and state.
 */
export function requestLogging(log: Logger, isShuttingDown: () => boolean) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    const reqId = randomUUID();
    const child = log.child({ reqId });
    (ctx.req as WithLog)[REQUEST_LOG] = child;
    ctx.set('X-Request-Id', reqId);
    if (isShuttingDown()) ctx.set('Connection', 'close');
    try {
      await next();
    } finally {
      child.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    }
  };
}

/** The logger of the request `ctx` belongs to (the app's or the engine's context). */
export const logOf = (ctx: { req: IncomingMessage }, fallback: Logger): Logger => (ctx.req as WithLog)[REQUEST_LOG] ?? fallback;
