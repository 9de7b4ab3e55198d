import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { secondFactorAt } from '../../domain/authentication.ts';
import { passwordLogin } from '../../oidc/acr.ts';
import { requestMaxAge } from '../../oidc/mfa-assessment.ts';
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
 * The password step. When the policy wants a second factor, the login is not handed to
 * the engine yet: the accepted account is kept with the sign-in and the second-factor page
 * follows; only once it passes does the engine get a login (with the MFA amr).
 */
export function createLoginStep(deps: InteractionDeps, kit: InteractionKit) {
  async function show(ctx: Context, uid: string, clientName: string, options: Flash = {}) {
    ctx.status = options.status ?? 200;
    if (options.retryAfter) ctx.set('Retry-After', String(options.retryAfter));
    await ctx.render('login', { title: 'Sign in', uid, clientName, username: options.username ?? '', error: options.error });
  }

  /**
   * Counts this attempt against the client address and then the account (known or not):
   * the wait until another is allowed, or 0. Nothing about the password is checked first.
   */
  async function rateLimited(ctx: Context, username: string): Promise<{ waitMs: number; per: string }> {
    const now = deps.clock.now();
    const { perIp, perAccount } = deps.rateLimits;
    const byIp = await deps.rateLimiter.hit(`ip:${ctx.ip}`, perIp.limit, perIp.windowSeconds * 1000, now);
    if (!byIp.allowed) return { waitMs: byIp.retryAfterMs, per: 'per_ip' };
    const account = createHash('sha256').update(username.toLowerCase()).digest('base64url');
    const byAccount = await deps.rateLimiter.hit(`account:${account}`, perAccount.limit, perAccount.windowSeconds * 1000, now);
    return byAccount.allowed ? { waitMs: 0, per: '' } : { waitMs: byAccount.retryAfterMs, per: 'per_account' };
  }

  async function submit(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login');
    const parsed = loginForm.safeParse(ctx.request.body);
    if (!parsed.success) return kit.retry(ctx, interaction, { error: loginFormProblem(ctx.request.body), status: 400 });
    const { username, password } = parsed.data;
    const source = { clientId: client.clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined };
    const at = () => new Date(deps.clock.now());

    const limited = await rateLimited(ctx, username);
    if (limited.waitMs > 0) {
      logOf(ctx, deps.log).info(
        { event: 'signin.rate_limited', per: limited.per, client: client.clientId, ip: ctx.ip },
        'password attempt rate limited',
      );
      await deps.audit.record({ at: at(), type: 'rate_limited', outcome: 'failure', reason: limited.per, ...source });
      return kit.retry(ctx, interaction, {
        error: rateLimitedMessage(limited.waitMs, deps.clock.now()),
        username,
        status: 429,
        retryAfter: Math.ceil(limited.waitMs / 1000),
      });
    }

    const result = await deps.userService.verifyPassword(username, password);
    if (!result.ok) {
      logOf(ctx, deps.log).info(
        { event: 'signin.failed', reason: result.reason, client: client.clientId, ip: ctx.ip },
        'password sign-in failed',
      );
      await deps.audit.record({
        at: at(),
        type: 'password.refused',
        outcome: 'failure',
        reason: result.reason,
        ...(result.userId ? { userId: result.userId } : {}),
        ...source,
      });
      if (result.userId) await kit.recordSignIn(ctx, result.userId, false);
      const error = result.reason === 'disabled' ? DISABLED : WRONG_CREDENTIALS;
      return kit.retry(ctx, interaction, { error, username, status: 401 });
    }
    const { user } = result;
    logOf(ctx, deps.log).info({ event: 'signin.password', user: user.id, client: client.clientId, ip: ctx.ip }, 'password accepted');

    // Signing in again in a session that passed the second factor keeps it (no downgrade),
    // unless the application forced a new sign-in (prompt=login, max_age): then a second
    // factor it wants is asked again, not carried over from before. Either way the password
    // alone is what this step presented: the session's second-factor time stays as it was.
    const known = await deps.assessor.sessionMethods(interaction.session?.uid, user.id);
    const forced = interaction.prompt.reasons.includes('login_prompt') || interaction.prompt.reasons.includes('max_age');
    const decision = await deps.assessor.decide({
      user,
      clientId: client.clientId,
      clientMetadata: client.metadata() as Record<string, unknown>,
      acrValues: interaction.params.acr_values,
      claims: interaction.params.claims,
      requestMaxAge: requestMaxAge(interaction.params.max_age),
      lastSecondFactorAt: forced ? undefined : secondFactorAt(known),
    });
    const passwordAt = Math.floor(deps.clock.now() / 1000);
    switch (decision.action) {
      case 'deny':
        return kit.retry(ctx, interaction, { error: DISABLED, username, status: 401 });
      case 'none':
        await kit.recordSignIn(ctx, user.id, true);
        return kit.finish(ctx, { login: passwordLogin(user.id), twofold: { accountId: user.id, methods: { pwd: passwordAt } } });
      default: {
        await kit.recordSignIn(ctx, user.id, false);
        await deps.mfaState.signIn.put(interaction.uid, { accountId: user.id, passwordAt }, kit.remainingSeconds(interaction));
        ctx.status = 303;
        ctx.redirect(`/interaction/${interaction.uid}`);
      }
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
