import type { Context } from 'koa';
import QRCode from 'qrcode';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { groupedSecret, isTotpShaped, normalizeCode, otpauthUri } from '../../domain/totp.ts';
import { mfaLogin } from '../../oidc/acr.ts';
import { MFA_PROMPT } from '../../oidc/interaction-policy.ts';
import type { SignInState } from '../../oidc/mfa-state.ts';
import type { UserRecord } from '../../stores/types.ts';
import { DISABLED, EXPIRED, type Interaction, type InteractionDeps, type InteractionKit, type OidcClient } from './kit.ts';

export const codeForm = z.strictObject({ code: z.string().max(64) });

const ENTER_CODE = 'Enter the 6-digit code your authenticator app shows.';
const WRONG_CODE = 'That code is not correct or was already used. Enter the current code from your app.';

/**
 * The registration page and the code page. The second factor is asked either inside the
 * login prompt (right after the password, which is not handed to the engine until the
 * factor passes) or in the `mfa` prompt of a session that already has a password login.
 */
export function createSecondFactorPages(deps: InteractionDeps, kit: InteractionKit) {
  /**
   * Whose second factor this sign-in asks for (only after a password, or in a session that
   * has one), with the state kept for this sign-in so far.
   */
  async function pendingOf(interaction: Interaction): Promise<SignInState> {
    const state = await deps.mfaState.signIn.get(interaction.uid);
    if (interaction.prompt.name === MFA_PROMPT && interaction.session?.accountId) {
      return state?.accountId === interaction.session.accountId ? state : { accountId: interaction.session.accountId };
    }
    if (interaction.prompt.name === 'login' && state?.passwordAt !== undefined) return state;
    throw new AppError('sign_in_expired', EXPIRED);
  }

  async function userOf(accountId: string): Promise<UserRecord> {
    const user = await deps.users.findById(accountId);
    if (!user || user.disabled) throw new AppError('forbidden', DISABLED);
    return user;
  }

  /** The registration's secret, made once per sign-in and kept with it until it ends. */
  async function enrollmentOf(interaction: Interaction, state: SignInState): Promise<string> {
    if (state.sealedEnrollment) return state.sealedEnrollment;
    const { sealed } = deps.secondFactor.newEnrollment();
    await deps.mfaState.signIn.put(interaction.uid, { ...state, sealedEnrollment: sealed }, kit.remainingSeconds(interaction));
    await deps.users.markRegistrationPending(state.accountId, new Date(deps.clock.now()));
    return sealed;
  }

  async function show(ctx: Context, interaction: Interaction, client: OidcClient, options: { error?: string; status?: number } = {}) {
    const state = await pendingOf(interaction);
    const user = await userOf(state.accountId);
    const common = { uid: interaction.uid, clientName: kit.clientName(client), error: options.error };
    ctx.status = options.status ?? 200;
    if (user.mfa.device) {
      return ctx.render('totp-code', { ...common, title: 'Enter your code' });
    }
    const secret = deps.secondFactor.openEnrollment(await enrollmentOf(interaction, state));
    const settings = await deps.settings.get();
    const uri = otpauthUri({ secret, label: settings.issuerLabel, account: user.username });
    const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
    await ctx.render('totp-register', {
      ...common,
      title: 'Set up your authenticator app',
      qr,
      secret: groupedSecret(secret),
      label: settings.issuerLabel,
      username: user.username,
      message: settings.registrationMessage,
    });
  }

  /** Checks the submitted code; on success the sign-in goes on with the MFA login. */
  async function submit(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const state = await pendingOf(interaction);
    const user = await userOf(state.accountId);
    const parsed = codeForm.safeParse(ctx.request.body);
    const code = parsed.success ? normalizeCode(parsed.data.code) : '';
    if (!isTotpShaped(code)) return show(ctx, interaction, client, { error: ENTER_CODE, status: 400 });

    const event = { user: user.id, client: client.clientId, ip: ctx.ip };
    if (user.mfa.device) {
      if (!(await deps.secondFactor.verify(user, code))) {
        deps.log.info({ ...event, event: 'mfa.failed' }, 'second factor refused');
        return show(ctx, interaction, client, { error: WRONG_CODE, status: 401 });
      }
      deps.log.info({ ...event, event: 'mfa.passed' }, 'second factor passed');
    } else {
      if (!state.sealedEnrollment) throw new AppError('sign_in_expired', EXPIRED);
      const outcome = await deps.secondFactor.register(user.id, state.sealedEnrollment, code);
      if (outcome !== 'registered') {
        deps.log.info({ ...event, event: 'mfa.registration_failed', outcome }, 'registration refused');
        return show(ctx, interaction, client, { error: WRONG_CODE, status: 401 });
      }
      deps.log.info({ ...event, event: 'mfa.registered' }, 'authenticator registered');
      await afterRegistration(ctx, interaction);
    }
    await complete(ctx, interaction.uid, state.accountId);
  }

  /** The step between a registration and the end of the sign-in (backup codes go here). */
  async function afterRegistration(_ctx: Context, _interaction: Interaction): Promise<void> {}

  async function complete(ctx: Context, uid: string, accountId: string) {
    await deps.mfaState.signIn.drop(uid);
    const mfaAt = Math.floor(deps.clock.now() / 1000);
    await kit.finish(ctx, { login: mfaLogin(accountId), twofold: { accountId, mfaAt } });
  }

  return { show, submit };
}
