import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { AccountChanges, EmailConfirmation } from '../domain/account-changes.ts';
import type { UserRecord } from '../domain/ports.ts';
import type { LiveSession } from '../oidc/sign-in-sessions.ts';
import type { AccountSession } from './account.ts';
import { newPasswordProblem } from './password-rules.ts';

type Current = { session: AccountSession; live: LiveSession; user: UserRecord };

// One address on one line: no control or invisible characters, as an address has none.
const address = z
  .string()
  .trim()
  .max(254, { message: 'An email address has at most 254 characters.' })
  .refine((value) => !/[\p{Cc}\p{Cf}\s]/u.test(value), { message: 'Enter one email address, without spaces.' })
  .pipe(z.email({ message: 'Enter an email address, like name@example.com.' }));

const refusals: Record<Exclude<EmailConfirmation, { ok: true }>['reason'], string> = {
  malformed: 'This link is not a whole confirmation link. Open the link from the mail again.',
  unknown_or_used: 'This link was already used, or is not one we sent. Ask for a new one on your account page.',
  expired: 'This link has expired: it works for 15 minutes. Ask for a new one on your account page.',
};

/**
 * The account page's password and email changes. Both need the session's second factor
 * from the last 5 minutes (a code is asked when it is older), like the other changes there.
 */
export function mountAccountChanges(
  router: Router,
  deps: {
    changes: AccountChanges;
    form: Middleware;
    signedIn(ctx: Context): Promise<Current | null>;
    guardForm(ctx: Context, current: Current): Promise<{ status: number; error?: string; locked?: string } | null>;
    /** The code a change asks for: the app's (or a backup code), a backup code alone, or none. */
    askCode(current: Current): 'app' | 'backup' | false;
    csrf(session: AccountSession): string;
    endPage(ctx: Context): void;
    source(ctx: Context): { ip?: string | undefined; userAgent?: string | undefined };
  },
) {
  const passwordPage = (ctx: Context, current: Current, options: { status?: number; error?: string; locked?: string } = {}) => {
    ctx.status = options.status ?? 200;
    return ctx.render('account-password', {
      title: 'Change your password',
      csrf: deps.csrf(current.session),
      askCode: deps.askCode(current),
      ...options,
    });
  };
  const emailPage = (
    ctx: Context,
    current: Current,
    options: { status?: number; error?: string; locked?: string; typed?: string } = {},
  ) => {
    ctx.status = options.status ?? 200;
    return ctx.render('account-email', {
      title: 'Change your email',
      csrf: deps.csrf(current.session),
      askCode: deps.askCode(current),
      email: current.user.email,
      emailVerified: current.user.emailVerified === true,
      ...options,
    });
  };

  router.get('/password', async (ctx) => {
    const current = await deps.signedIn(ctx);
    if (!current) return ctx.redirect('/account/');
    await passwordPage(ctx, current);
  });

  router.post('/password', deps.form, async (ctx) => {
    const current = await deps.signedIn(ctx);
    if (!current) return ctx.redirect('/account/');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const next = text('password');
    const problem = newPasswordProblem(next, text('confirm'));
    if (problem) return passwordPage(ctx, current, { status: 400, error: problem });
    const refused = await deps.guardForm(ctx, current);
    if (refused) return passwordPage(ctx, current, refused);
    const outcome = await deps.changes.changePassword(current.user, text('current').slice(0, 1024), next, deps.source(ctx));
    if (outcome === 'rate_limited')
      return passwordPage(ctx, current, { status: 429, error: 'Too many tries. Wait a minute and try again.' });
    if (outcome === 'wrong_password') return passwordPage(ctx, current, { status: 401, error: 'Your current password is not correct.' });
    deps.endPage(ctx);
    ctx.status = 303;
    ctx.redirect('/account/signed-out?reason=password');
  });

  router.get('/email', async (ctx) => {
    const current = await deps.signedIn(ctx);
    if (!current || !deps.changes.mailEnabled()) return ctx.redirect('/account/');
    await emailPage(ctx, current);
  });

  router.post('/email', deps.form, async (ctx) => {
    const current = await deps.signedIn(ctx);
    if (!current || !deps.changes.mailEnabled()) return ctx.redirect('/account/');
    const typed =
      typeof (ctx.request.body as Record<string, unknown>)?.email === 'string'
        ? ((ctx.request.body as Record<string, string>).email ?? '')
        : '';
    const parsed = address.safeParse(typed);
    if (!parsed.success)
      return emailPage(ctx, current, { status: 400, error: parsed.error.issues[0]!.message, typed: typed.slice(0, 254) });
    const refused = await deps.guardForm(ctx, current);
    if (refused) return emailPage(ctx, current, { ...refused, typed: parsed.data });
    const outcome = await deps.changes.requestEmailChange(current.user, parsed.data, deps.source(ctx));
    if (outcome === 'rate_limited')
      return emailPage(ctx, current, { status: 429, error: 'Too many tries. Wait a minute and try again.', typed: parsed.data });
    if (outcome === 'same') return emailPage(ctx, current, { status: 400, error: 'This is your address already.', typed: parsed.data });
    await ctx.render('account-email-sent', { title: 'Check your mail', address: parsed.data });
  });

  // A mailed link: opening it shows a button (mail scanners open links; only a person confirms).
  router.get('/email/confirm/:token', async (ctx) => {
    const checked = await deps.changes.checkEmailLink(ctx.params.token!);
    ctx.status = checked.ok ? 200 : 400;
    await ctx.render(
      'account-email-confirm',
      checked.ok
        ? { title: 'Confirm your email', token: ctx.params.token, address: checked.email }
        : { title: 'Confirm your email', refused: refusals[checked.reason] },
    );
  });

  router.post('/email/confirm/:token', async (ctx) => {
    const done = await deps.changes.confirmEmail(ctx.params.token!, deps.source(ctx));
    ctx.status = done.ok ? 200 : 400;
    await ctx.render(
      'account-email-confirm',
      done.ok ? { title: 'Email confirmed', confirmed: done.email } : { title: 'Confirm your email', refused: refusals[done.reason] },
    );
  });
}
