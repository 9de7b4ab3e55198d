import type { Context } from 'koa';
import { z } from 'zod';
import type { Flash } from '../../oidc/mfa-state.ts';
import { logOf } from '../request-log.ts';
import { DISABLED, type InteractionDeps, type InteractionKit } from './kit.ts';
import { rateLimitedMessage } from './messages.ts';

const loginForm = z.strictObject({
  username: z.string().trim().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const WRONG_CREDENTIALS = 'The username or password is not correct.';

/**
 * The password step's page and form. The rules (rate limits, the password, whether a
 * second factor follows) are the sign-in journey's; this turns its outcome into a page,
 * a redirect to the second-factor page, or the engine's login.
 */
export function createLoginStep(deps: InteractionDeps, kit: InteractionKit) {
  async function show(ctx: Context, uid: string, clientName: string, options: Flash = {}) {
    ctx.status = options.status ?? 200;
    if (options.retryAfter) ctx.set('Retry-After', String(options.retryAfter));
    await ctx.render('login', {
      title: 'Sign in',
      uid,
      clientName,
      username: options.username ?? '',
      error: options.error,
      forgotHref: deps.passwordReset ? '/password/forgot' : undefined,
    });
  }

  async function submit(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login');
    const parsed = loginForm.safeParse(ctx.request.body);
    if (!parsed.success) return kit.retry(ctx, interaction, { error: loginFormProblem(ctx.request.body), status: 400 });
    const { username, password } = parsed.data;
    const source = await kit.sourceOf(ctx, interaction, client);
    const outcome = await deps.journey.password(await kit.journeyOf(ctx, interaction, client), username, password, source);
    const log = logOf(ctx, deps.log);
    switch (outcome.kind) {
      case 'refused':
        if (outcome.reason === 'rate_limited') {
          log.info(
            { event: 'signin.rate_limited', per: outcome.per, client: client.clientId, ip: ctx.ip },
            'password attempt rate limited',
          );
          return kit.retry(ctx, interaction, {
            error: rateLimitedMessage(outcome.waitMs, deps.clock.now()),
            username,
            status: 429,
            retryAfter: Math.ceil(outcome.waitMs / 1000),
          });
        }
        if (outcome.reason === 'not_admin') {
          log.info(
            { event: 'signin.refused', reason: 'not_admin', user: outcome.userId, client: client.clientId, ip: ctx.ip },
            'not an administrator',
          );
          ctx.status = 403;
          return ctx.render('not-admin', { title: 'For administrators only', username: outcome.username });
        }
        log.info({ event: 'signin.failed', reason: outcome.reason, client: client.clientId, ip: ctx.ip }, 'password sign-in failed');
        return kit.retry(ctx, interaction, { error: outcome.reason === 'disabled' ? DISABLED : WRONG_CREDENTIALS, username, status: 401 });
      case 'finished':
        log.info({ event: 'signin.password', user: outcome.accountId, client: client.clientId, ip: ctx.ip }, 'password accepted');
        return kit.finishJourney(ctx, outcome);
      case 'second_factor':
        log.info({ event: 'signin.password', user: outcome.accountId, client: client.clientId, ip: ctx.ip }, 'password accepted');
        ctx.status = 303;
        return ctx.redirect(`/interaction/${interaction.uid}`);
    }
  }

  return { show, submit };
}

/** What is wrong with a login form, in words for the person who sent it. */
function loginFormProblem(body: unknown): string {
  const fields = (body ?? {}) as Record<string, unknown>;
  if (typeof fields.username === 'string' && fields.username.trim().length > 128)
    return 'The username is too long: it has at most 128 characters.';
  if (typeof fields.password === 'string' && fields.password.length > 1024)
    return 'The password is too long: it has at most 1024 characters.';
  return 'Enter your username and password.';
}
