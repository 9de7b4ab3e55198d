import type { Context } from 'koa';
import { z } from 'zod';
import { mfaLogin, passwordLogin } from '../../oidc/acr.ts';
import { DISABLED, type InteractionDeps, type InteractionKit } from './kit.ts';

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
  async function show(ctx: Context, uid: string, clientName: string, options: { error?: string; username?: string; status?: number } = {}) {
    ctx.status = options.status ?? 200;
    await ctx.render('login', { title: 'Sign in', uid, clientName, username: options.username ?? '', error: options.error });
  }

  async function submit(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login');
    const clientName = kit.clientName(client);
    const parsed = loginForm.safeParse(ctx.request.body);
    if (!parsed.success) return show(ctx, interaction.uid, clientName, { error: 'Enter your username and password.', status: 400 });
    const { username, password } = parsed.data;

    const result = await deps.userService.verifyPassword(username, password);
    if (!result.ok) {
      deps.log.info({ event: 'signin.failed', reason: result.reason, client: client.clientId, ip: ctx.ip }, 'password sign-in failed');
      const error = result.reason === 'disabled' ? DISABLED : WRONG_CREDENTIALS;
      return show(ctx, interaction.uid, clientName, { error, username, status: 401 });
    }
    const { user } = result;
    deps.log.info({ event: 'signin.password', user: user.id, client: client.clientId, ip: ctx.ip }, 'password accepted');

    // Signing in again in a session that passed the second factor keeps it (no downgrade).
    const lastSecondFactorAt = await deps.assessor.sessionSecondFactorAt(interaction.session?.uid, user.id);
    const decision = await deps.assessor.decide({
      user,
      clientMetadata: client.metadata() as Record<string, unknown>,
      acrValues: interaction.params.acr_values,
      claims: interaction.params.claims,
      lastSecondFactorAt,
    });
    switch (decision.action) {
      case 'deny':
        return show(ctx, interaction.uid, clientName, { error: DISABLED, username, status: 401 });
      case 'none':
        return kit.finish(ctx, { login: lastSecondFactorAt === undefined ? passwordLogin(user.id) : mfaLogin(user.id) });
      default: {
        const now = deps.clock.now();
        await deps.mfaState.signIn.put(interaction.uid, { accountId: user.id, passwordAt: Math.floor(now / 1000) }, kit.remainingSeconds(interaction));
        ctx.status = 303;
        ctx.redirect(`/interaction/${interaction.uid}`);
      }
    }
  }

  return { show, submit };
}
