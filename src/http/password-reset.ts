import Router from '@koa/router';
import { z } from 'zod';
import type { PasswordReset, ResetCheck } from '../domain/password-reset.ts';
import type { Logger } from '../logger.ts';
import { bodyParser } from './body.ts';
import { newPasswordProblem } from './password-rules.ts';
import { rateLimitedMessage } from './interaction/messages.ts';

const forgotForm = z.strictObject({
  username: z
    .string()
    .trim()
    .min(1)
    .max(128)
    .regex(/^[^\p{Cc}]+$/u),
});
const resetForm = z.strictObject({ password: z.string(), confirm: z.string() });

const refusals: Record<Exclude<ResetCheck, { ok: true }>['reason'], string> = {
  malformed: 'This link is not a whole password reset link. Open the link from the mail again, or ask for a new one.',
  unknown_or_used: 'This link was already used, or is not one we sent. Ask for a new one.',
  expired: 'This link has expired: it works for 15 minutes. Ask for a new one.',
};

/**
 * The password reset pages: /password/forgot asks for the username and always gives the
 * same answer; /password/reset/TOKEN sets a new password with a mailed link, once. Only
 * there when mail can go out.
 */
export function createPasswordResetRoutes(deps: { reset: PasswordReset; log: Logger; bodyLimit: number; now: () => number }) {
  const router = new Router({ prefix: '/password' });
  const form = bodyParser({ limit: deps.bodyLimit, accept: ['form'] });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/forgot', (ctx) => ctx.render('password-forgot', { title: 'Forgot your password?', username: '' }));

  router.post('/forgot', form, async (ctx) => {
    const parsed = forgotForm.safeParse(ctx.request.body);
    if (!parsed.success) {
      ctx.status = 400;
      return ctx.render('password-forgot', { title: 'Forgot your password?', username: '', error: 'Enter your username.' });
    }
    const source = { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined };
    const { waitMs, later } = await deps.reset.request(parsed.data.username, source);
    if (waitMs > 0) {
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      return ctx.render('password-forgot', {
        title: 'Forgot your password?',
        username: parsed.data.username,
        error: rateLimitedMessage(waitMs, deps.now()),
      });
    }
    // The answer does not wait for the work that depends on whether the account exists.
    later().catch((err: unknown) => deps.log.warn({ err }, 'password reset link not sent'));
    await ctx.render('password-sent', { title: 'Check your mail' });
  });

  router.get('/reset/:token', async (ctx) => {
    const checked = await deps.reset.check(ctx.params.token!);
    if (!checked.ok) {
      ctx.status = 400;
      return ctx.render('password-reset', { title: 'Choose a new password', refused: refusals[checked.reason] });
    }
    await ctx.render('password-reset', { title: 'Choose a new password', token: ctx.params.token });
  });

  router.post('/reset/:token', form, async (ctx) => {
    const token = ctx.params.token!;
    const parsed = resetForm.safeParse(ctx.request.body);
    const password = parsed.success ? parsed.data.password : '';
    const problem = parsed.success ? newPasswordProblem(password, parsed.data.confirm) : 'Enter the new password twice.';
    if (problem) {
      const checked = await deps.reset.check(token);
      ctx.status = 400;
      return ctx.render(
        'password-reset',
        checked.ok
          ? { title: 'Choose a new password', token, error: problem }
          : { title: 'Choose a new password', refused: refusals[checked.reason] },
      );
    }
    const done = await deps.reset.complete(token, password, { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
    if (!done.ok) {
      ctx.status = 400;
      return ctx.render('password-reset', { title: 'Choose a new password', refused: refusals[done.reason] });
    }
    await ctx.render('signed-out', {
      title: 'Password changed',
      message:
        'Your password is changed, and you are signed out everywhere. Sign in with the new password; your second factor is asked as before.',
      signInHref: '/account/',
      signInLabel: 'Sign in to your account',
    });
  });

  return router;
}
