import type { Context } from 'koa';
import { DEVICE_COOKIE } from '../domain/remembered-devices.ts';

/**
 * The remembered-browser cookie (domain/remembered-devices.ts): a random token and nothing
 * else, HTTP-only, SameSite=Lax, for the whole issuer (the sign-in pages, the engine's
 * authorization endpoint and the account page read it), secure over TLS. Not signed: the
 * token is unguessable, and only its hash is kept.
 */
const options = (ctx: Context) => ({
  signed: false,
  httpOnly: true,
  sameSite: 'lax' as const,
  path: '/',
  secure: ctx.secure,
  overwrite: true,
});

export const deviceCookie = {
  read: (ctx: Pick<Context, 'cookies'>): string | undefined => ctx.cookies.get(DEVICE_COOKIE, { signed: false }) || undefined,
  write: (ctx: Context, token: string, maxAgeSeconds: number) =>
    ctx.cookies.set(DEVICE_COOKIE, token, { ...options(ctx), maxAge: maxAgeSeconds * 1000 }),
  clear: (ctx: Context) => ctx.cookies.set(DEVICE_COOKIE, null, options(ctx)),
};
