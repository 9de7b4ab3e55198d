import Router from '@koa/router';
import Tokens from 'csrf';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { Actor } from '../../domain/administration.ts';
import type { Clock } from '../../domain/clock.ts';
import { CONSOLE_CLIENT_ID } from '../../oidc/internal-clients.ts';
import type { SignInSessions } from '../../oidc/sign-in-sessions.ts';
import type { UserRecord, UserStore } from '../../domain/ports.ts';
import { LOGO_MAX_BYTES } from '../../domain/brand-logo.ts';
import type { DataKeyring } from '../../domain/data-key.ts';
import { bodyParser, multipartBody } from '../body.ts';
import { createConsoleFlash, type ConsoleFlash } from './flash.ts';
import { createSelfClient } from '../self-client.ts';

const SESSION_COOKIE = 'console_session';
const epochSeconds = z.number().int();
const sessionSchema = z.strictObject({
  sub: z.string().min(1),
  /** The uid of the sign-in session the console's sign-in came from. */
  sid: z.string().min(1),
  csrf: z.string().min(1),
  /** When the console lapses without another request. */
  exp: epochSeconds,
  /** When the console ends however active it is. */
  end: epochSeconds,
});
type ConsoleSession = z.infer<typeof sessionSchema>;

/** What a console page knows of who is using it. */
export interface ConsoleState {
  admin: UserRecord;
  actor: Actor;
  /** The CSRF token every form of the page carries. */
  csrf: string;
  /** What the action before this page said (post/redirect/get), once. */
  flash?: ConsoleFlash | undefined;
  /** Ends an action: says `flash` on the page at `location` and redirects there (303). */
  done(location: string, flash: ConsoleFlash): void;
}

declare module 'koa' {
  interface DefaultState {
    console?: ConsoleState;
  }
}

export const consoleOf = (ctx: Context): ConsoleState => ctx.state.console!;

/** The locals every console page renders with. */
export const consoleLocals = (ctx: Context) => {
  const { admin, csrf, flash } = consoleOf(ctx);
  return { admin, csrf, flash };
};

/**
 * Signing in to the console: through twofold itself, as the `twofold-console` client whose
 * second factor is always required, and always with the password and the code (the
 * authorization asks for a new login): a console session never starts from single sign-on.
 * Its cookie names the sign-in session it came from and lapses after `idleMinutes` without
 * a request or `maxHours` after the sign-in; lapsing and signing out end that sign-in
 * session too. Each request checks that the sign-in session is still there (whatever ended
 * it, on whatever node) and that the user still exists, is enabled and is an
 * administrator. Every POST carries the session's CSRF token or changes nothing.
 */
export function createConsoleSession(deps: {
  issuer: string;
  localOrigin: () => string | undefined;
  users: UserStore;
  sessions: SignInSessions;
  clock: Clock;
  keyring: DataKeyring;
  idleMinutes: number;
  maxHours: number;
  bodyLimit: number;
}) {
  const flashes = createConsoleFlash(deps);
  const upload = multipartBody(LOGO_MAX_BYTES + 16 * 1024);
  const client = createSelfClient({
    issuer: deps.issuer,
    clientId: CONSOLE_CLIENT_ID,
    path: '/admin',
    scope: 'openid',
    localOrigin: deps.localOrigin,
  });
  const tokens = new Tokens();
  const now = () => Math.floor(deps.clock.now() / 1000);
  const form = bodyParser({ limit: deps.bodyLimit, accept: ['form'] });

  const refused = (ctx: Context, status: number, heading: string, message: string) => {
    ctx.status = status;
    return ctx.render('error', { title: heading, heading, message });
  };
  const signIn = (ctx: Context) => client.start(ctx, { prompt: 'login' });

  /** Ends the console and the sign-in session it came from. */
  async function end(ctx: Context, session: ConsoleSession | undefined) {
    client.clear(ctx, SESSION_COOKIE);
    if (session) await deps.sessions.end(session.sid);
  }

  /** The console's pages: only for a signed-in administrator; POSTs need the CSRF token. */
  async function guard(ctx: Context, next: Next) {
    ctx.set('Cache-Control', 'no-store');
    const parsed = sessionSchema.safeParse(client.readJson(ctx, SESSION_COOKIE));
    const session = parsed.success ? parsed.data : undefined;
    const lapsed = !session || session.exp <= now() || session.end <= now();
    const live = !lapsed && (await deps.sessions.live(session.sid, session.sub));
    if (!live) {
      await end(ctx, session);
      if (ctx.method === 'GET') return signIn(ctx);
      return refused(ctx, 403, 'Signed out', 'Your console session has ended. Open the console again to sign in.');
    }
    const admin = await deps.users.findById(session!.sub);
    if (!admin || admin.disabled || admin.role !== 'admin') {
      // No longer an administrator: the console ends, so a later sign-in starts afresh.
      await end(ctx, session);
      ctx.status = 403;
      return ctx.render('not-admin', { title: 'For administrators only', username: admin?.username ?? 'This account' });
    }
    if (ctx.method === 'POST') {
      await (ctx.is('multipart/form-data') ? upload : form)(ctx, async () => {});
      const token = (ctx.request.body as Record<string, unknown>).csrf;
      if (typeof token !== 'string' || !tokens.verify(session!.csrf, token)) {
        return refused(ctx, 403, 'This form has expired', 'Nothing was changed. Open the page again and repeat the change.');
      }
    }
    // Every request moves the idle limit on, never past the end.
    client.writeJson(ctx, SESSION_COOKIE, {
      ...session!,
      exp: Math.min(now() + deps.idleMinutes * 60, session!.end),
    } satisfies ConsoleSession);
    ctx.state.console = {
      admin,
      actor: { actor: `console:${admin.username}`, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined },
      csrf: tokens.create(session!.csrf),
      flash: ctx.method === 'GET' ? flashes.take(ctx, admin.id) : undefined,
      done: (location, flash) => flashes.redirect(ctx, admin.id, location, flash),
    };
    await next();
  }

  /** The sign-in callback, outside the guard. */
  const router = new Router({ prefix: '/admin' });
  router.get('/callback', async (ctx) => {
    const result = await client.finish(ctx);
    const claims = 'tokens' in result ? result.tokens.claims() : undefined;
    if (!claims || !Array.isArray(claims.amr) || !claims.amr.includes('mfa')) {
      return refused(
        ctx,
        400,
        'Sign-in did not complete',
        'error' in result ? `Sign-in did not complete: ${result.error.replace(/\.$/, '')}.` : 'Sign-in did not complete.',
      );
    }
    // The sign-in session this browser just signed in with, for this very user.
    const signedIn = await deps.sessions.ofBrowser(ctx, claims.sub);
    if (!signedIn)
      return refused(
        ctx,
        400,
        'Sign-in did not complete',
        'Sign-in did not complete: this browser has no sign-in session. Open the console again.',
      );
    const started = now();
    client.writeJson(ctx, SESSION_COOKIE, {
      sub: claims.sub,
      sid: signedIn.uid,
      csrf: tokens.secretSync(),
      exp: started + deps.idleMinutes * 60,
      end: started + deps.maxHours * 3600,
    } satisfies ConsoleSession);
    ctx.redirect('/admin/');
  });

  return {
    guard,
    router,
    /** Signs out of the console and of the sign-in session (the guard has checked the session). */
    signOut: (ctx: Context) => end(ctx, sessionSchema.safeParse(client.readJson(ctx, SESSION_COOKIE)).data),
  };
}
