import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError } from '../../domain/errors.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Bearer ADMIN_TOKEN. Both sides are hashed before the constant-time comparison, so
 * neither the token's content nor its length shows in the timing.
 */
export function adminAuth(adminToken: string) {
  const expected = digest(adminToken);
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(ctx.get('authorization'));
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new AppError('unauthorized', 'a valid admin token is needed: Authorization: Bearer <ADMIN_TOKEN>');
    }
    await next();
  };
}
