import type { Context } from 'koa';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import type { DataKeyring } from '../../domain/data-key.ts';
import { jsonCookies } from '../json-cookies.ts';

const COOKIE = 'console_flash';
const PURPOSE = 'console-flash';
// A message is for the page the action redirects to, not for a visit much later.
const LIFETIME_SECONDS = 120;

const flashSchema = z.strictObject({
  message: z.string(),
  /** A secret shown once (a new client secret), with what it is. */
  secret: z.strictObject({ label: z.string(), value: z.string() }).optional(),
  /** The administrator it is for. */
  sub: z.string(),
  exp: z.number(),
});
export type ConsoleFlash = Pick<z.infer<typeof flashSchema>, 'message' | 'secret'>;

/**
 * What an action says on the page it redirects to (post/redirect/get): a success message,
 * and once, a new secret. It travels in a cookie sealed with the data key (a secret is never
 * in the clear in the browser's cookie store), is read once and cleared, and lapses after
 * two minutes: a reload or a later visit shows nothing and repeats nothing.
 */
export function createConsoleFlash(deps: { keyring: DataKeyring; clock: Clock }) {
  const cookies = jsonCookies('/admin');
  const now = () => Math.floor(deps.clock.now() / 1000);
  return {
    /** Says `flash` on the page at `location`, and redirects there. */
    redirect(ctx: Context, sub: string, location: string, flash: ConsoleFlash) {
      const sealed = deps.keyring.seal(JSON.stringify({ ...flash, sub, exp: now() + LIFETIME_SECONDS }), PURPOSE);
      cookies.write(ctx, COOKIE, sealed);
      ctx.status = 303;
      ctx.redirect(location);
    },
    /** The message for this administrator, once; undefined when there is none (or it lapsed). */
    take(ctx: Context, sub: string): ConsoleFlash | undefined {
      const sealed = cookies.read<string>(ctx, COOKIE);
      if (sealed === undefined) return undefined;
      cookies.clear(ctx, COOKIE);
      try {
        const flash = flashSchema.parse(JSON.parse(deps.keyring.open(sealed, PURPOSE)));
        if (flash.sub !== sub || flash.exp <= now()) return undefined;
        return { message: flash.message, ...(flash.secret ? { secret: flash.secret } : {}) };
      } catch {
        return undefined;
      }
    },
  };
}

export type ConsoleFlashes = ReturnType<typeof createConsoleFlash>;
