import type { Context } from 'koa';
import { z } from 'zod';
import type { Flash } from '../../oidc/mfa-state.ts';
import { logOf } from '../request-log.ts';
import { DISABLED, type Interaction, type InteractionDeps, type InteractionKit, type OidcClient } from './kit.ts';
import { lockedMessage, rateLimitedMessage } from './messages.ts';
import { jsonField, parseInput } from '../validate.ts';

const loginForm = z.strictObject({
  username: z.string().trim().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const WRONG_CREDENTIALS = 'The username or password is not correct.';
/** The login page's passkey form: the browser's answer (JSON). */
const passkeyForm = z.strictObject({ response: z.string().max(32_768) });
const PASSKEY_REFUSED =
  'That passkey was not accepted: it is not registered here, or your device did not check it was you (a PIN, fingerprint or face). Try again, or sign in with your password.';
const PASSKEY_CLONED =
  'That passkey was refused: its answer shows a copy of it may be in use elsewhere. Sign in with your password, and tell your administrator.';

/**
 * The password step's page and form. The rules (rate limits, the password, whether a
 * second factor follows) are the sign-in journey's; this turns its outcome into a page,
 * a redirect to the second-factor page, or the engine's login.
 */
export function createLoginStep(deps: InteractionDeps, kit: InteractionKit) {
  async function show(ctx: Context, interaction: Interaction, client: OidcClient, options: Flash = {}) {
    const journey = await kit.journeyOf(ctx, interaction, client);
    const passkeyOptions = await deps.journey.passkeyOffer(journey);
    ctx.status = options.status ?? 200;
    if (options.retryAfter) ctx.set('Retry-After', String(options.retryAfter));
    await ctx.render('login', {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: (await kit.application(ctx, interaction, client)).name,
      username: options.username ?? '',
      error: options.error,
      forgotHref: deps.passwordReset ? '/password/forgot' : undefined,
      passkeyOptions,
    });
  }

  /**
   * "Sign in with a passkey": the browser's answer to the login page's challenge. A passkey
   * that verified its user signs in without the password; anything else is refused with
   * one message (nothing tells whose passkey it was, or whether it was anyone's).
   */
  async function submitPasskey(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login');
    const { response } = parseInput(passkeyForm, ctx.request.body);
    const journey = await kit.journeyOf(ctx, interaction, client);
    const outcome = await deps.journey.passkey(journey, jsonField(response), await kit.sourceOf(ctx, interaction, client));
    const log = logOf(ctx, deps.log);
    if (outcome.kind === 'finished') {
      log.info({ event: 'signin.passkey', user: outcome.accountId, client: client.clientId, ip: ctx.ip }, 'passkey accepted');
      return kit.finishJourney(ctx, outcome);
    }
    log.info({ event: 'signin.failed', reason: outcome.reason, method: 'passkey', client: client.clientId, ip: ctx.ip }, 'passkey refused');
    switch (outcome.reason) {
      case 'rate_limited':
        return kit.retry(ctx, interaction, {
          error: rateLimitedMessage(outcome.waitMs, deps.clock.now()),
          status: 429,
          retryAfter: Math.ceil(outcome.waitMs / 1000),
        });
      case 'locked':
        return kit.retry(ctx, interaction, { error: lockedMessage(outcome.until, deps.clock.now()), status: 403 });
      case 'disabled':
        return kit.retry(ctx, interaction, { error: DISABLED, status: 401 });
      case 'cloned':
        return kit.retry(ctx, interaction, { error: PASSKEY_CLONED, status: 401 });
      default:
        return kit.retry(ctx, interaction, { error: PASSKEY_REFUSED, status: 401 });
    }
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

  return { show, submit, submitPasskey };
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
