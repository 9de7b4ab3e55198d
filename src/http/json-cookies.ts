import type { Context } from 'koa';

/**
 * JSON values in signed, HTTP-only, SameSite=Lax cookies scoped to one path (secure over
 * TLS): the state twofold's own applications (the demos, the account page, the console)
 * keep in the browser. A cookie that is missing, unsigned or not JSON reads as undefined.
 */
export function jsonCookies(path: string) {
  const options = (ctx: Context) => ({ signed: true, httpOnly: true, sameSite: 'lax' as const, path, overwrite: true, secure: ctx.secure });
  return {
    read<T>(ctx: Context, name: string): T | undefined {
      const raw = ctx.cookies.get(name, { signed: true });
      if (!raw) return undefined;
      try {
        return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
      } catch {
        return undefined;
      }
    },
    write: (ctx: Context, name: string, value: unknown) =>
      ctx.cookies.set(name, Buffer.from(JSON.stringify(value)).toString('base64url'), options(ctx)),
    clear: (ctx: Context, name: string) => ctx.cookies.set(name, null, options(ctx)),
  };
}
