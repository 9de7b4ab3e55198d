import type { Context } from 'koa';
import QRCode from 'qrcode';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import type { AttemptSource } from '../../domain/second-factor.ts';
import { groupedSecret, otpauthUri } from '../../domain/totp.ts';
import type { AuthMethod } from '../../domain/authentication.ts';
import { passwordLogin } from '../../oidc/acr.ts';
import { MFA_PROMPT } from '../../oidc/interaction-policy.ts';
import type { SignInState } from '../../oidc/mfa-state.ts';
import type { UserRecord } from '../../domain/ports.ts';
import { logOf } from '../request-log.ts';
import { DISABLED, EXPIRED, type Interaction, type InteractionDeps, type InteractionKit, type OidcClient } from './kit.ts';
import { backupCodesPage, lockedMessage, minutesText } from './messages.ts';

export const codeForm = z.strictObject({ code: z.string().max(64) });

const ENTER_CODE = 'Enter the code your authenticator app shows, or one of your backup codes.';
const WRONG_CODE = 'That code is not correct or was already used. Enter the current code from your app.';
const REGISTERED_ELSEWHERE =
  'An authenticator app was registered for your account a moment ago, perhaps in another tab or window. Enter the code that app shows.';
const BACKUP_CODES_PURPOSE = 'backup-codes-display';
const QR_MARGIN = 4;

interface ShowOptions {
  error?: string | undefined;
  notice?: string | undefined;
  status?: number | undefined;
}

/**
 * The registration page, the code page (with its backup-code form) and the backup codes
 * shown once after a registration. The second factor is asked either inside the login
 * prompt (right after the password, which is not handed to the engine until the factor
 * passes) or in the `mfa` prompt of a session that already has a password login.
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

  const putState = (interaction: Interaction, state: SignInState) =>
    deps.mfaState.signIn.put(interaction.uid, state, kit.remainingSeconds(interaction));

  /** The registration's secret, made once per sign-in and kept with it until it ends. */
  async function enrollmentOf(interaction: Interaction, state: SignInState): Promise<string> {
    if (state.sealedEnrollment) return state.sealedEnrollment;
    const { sealed } = deps.secondFactor.newEnrollment();
    await putState(interaction, { ...state, sealedEnrollment: sealed });
    await deps.users.markRegistrationPending(state.accountId, new Date(deps.clock.now()));
    return sealed;
  }

  async function show(ctx: Context, interaction: Interaction, client: OidcClient, options: ShowOptions = {}) {
    const state = await pendingOf(interaction);
    const user = await userOf(state.accountId);
    const notice = options.notice ?? (user.mfa.device && state.sealedEnrollment ? REGISTERED_ELSEWHERE : undefined);
    const common = { uid: interaction.uid, clientName: kit.clientName(client), error: options.error, notice };
    ctx.status = options.status ?? 200;
    if (state.secondFactorAt !== undefined) {
      // Registered: say so, with the backup codes (shown only until the person goes on).
      const codes = state.sealedBackupCodes
        ? (JSON.parse(deps.keyring.open(state.sealedBackupCodes, BACKUP_CODES_PURPOSE)) as string[])
        : [];
      return ctx.render('backup-codes', {
        ...common,
        title: 'Authenticator app added',
        added: true,
        ...backupCodesPage(user.username, codes),
      });
    }
    const lock = await deps.secondFactor.lockOf(user);
    if (lock) {
      ctx.status = 403;
      return ctx.render('totp-code', { ...common, title: 'Account locked', locked: lockedMessage(lock.until, deps.clock.now()) });
    }
    if (user.mfa.device) {
      const backup = ctx.query.use === 'backup';
      return ctx.render('totp-code', { ...common, title: backup ? 'Enter a backup code' : 'Enter your code', backup });
    }
    const secret = deps.secondFactor.openEnrollment(await enrollmentOf(interaction, state));
    const settings = await deps.settings.get();
    const uri = otpauthUri({ secret, label: settings.issuerLabel, account: user.username });
    // Drawn at a whole number of pixels per module, at most 300 px wide with its quiet
    // zone, and shown at exactly that size: every module comes out the same.
    const modules = QRCode.create(uri, { errorCorrectionLevel: 'M' }).modules.size + 2 * QR_MARGIN;
    const scale = Math.max(2, Math.floor(300 / modules));
    const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: QR_MARGIN, scale });
    await ctx.render('totp-register', {
      ...common,
      title: 'Set up your authenticator app',
      qr,
      qrSize: modules * scale,
      otpauth: uri,
      // The sign-in expires on the engine's clock.
      validFor: minutesText(kit.remainingSeconds(interaction)),
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
    // Passed already, and the backup codes are on screen: show them again.
    if (state.secondFactorAt !== undefined) return redirectToPage(ctx, interaction);
    const user = await userOf(state.accountId);
    const parsed = codeForm.safeParse(ctx.request.body);
    const input = parsed.success ? parsed.data.code : '';
    if (input.trim() === '') return kit.retry(ctx, interaction, { error: ENTER_CODE, status: 400 });
    const source: AttemptSource = { clientId: client.clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined };

    // This page was a registration, and another finished first: ask for that app's code.
    if (user.mfa.device && state.sealedEnrollment) return registeredElsewhere(ctx, interaction, state);
    const event = { user: user.id, client: client.clientId, ip: ctx.ip };
    if (user.mfa.device) {
      const outcome = await deps.secondFactor.verify(user, input, source);
      logOf(ctx, deps.log).info({ ...event, event: 'mfa.verify', outcome: outcome.result }, 'second factor checked');
      if (outcome.result === 'locked') return kit.retry(ctx, interaction, { status: 403 });
      if (outcome.result !== 'passed') return kit.retry(ctx, interaction, { error: WRONG_CODE, status: 401 });
      return complete(ctx, interaction.uid, state, outcome.method, Math.floor(deps.clock.now() / 1000));
    }
    if (!state.sealedEnrollment) throw new AppError('sign_in_expired', EXPIRED);
    const outcome = await deps.secondFactor.register(user, state.sealedEnrollment, input, source);
    logOf(ctx, deps.log).info({ ...event, event: 'mfa.register', outcome: outcome.result }, 'registration checked');
    switch (outcome.result) {
      case 'registered':
        return afterRegistration(ctx, interaction, state, source);
      case 'already_registered':
        return registeredElsewhere(ctx, interaction, state);
      case 'locked':
        return kit.retry(ctx, interaction, { status: 403 });
      default:
        return kit.retry(ctx, interaction, { error: WRONG_CODE, status: 401 });
    }
  }

  /** Another registration of the user finished first: this sign-in drops its own secret and asks for that app's code. */
  async function registeredElsewhere(ctx: Context, interaction: Interaction, state: SignInState) {
    const { sealedEnrollment: _dropped, ...rest } = state;
    await putState(interaction, rest);
    return kit.retry(ctx, interaction, { notice: REGISTERED_ELSEWHERE, status: 409 });
  }

  /** After a registration: a page that says so, with the backup codes, before the sign-in goes on. */
  async function afterRegistration(ctx: Context, interaction: Interaction, state: SignInState, source: AttemptSource) {
    const secondFactorAt = Math.floor(deps.clock.now() / 1000);
    const codes = await deps.secondFactor.issueBackupCodes(state.accountId, source);
    const { sealedEnrollment: _done, ...rest } = state;
    await putState(interaction, {
      ...rest,
      secondFactorAt,
      ...(codes ? { sealedBackupCodes: deps.keyring.seal(JSON.stringify(codes), BACKUP_CODES_PURPOSE) } : {}),
    });
    return redirectToPage(ctx, interaction);
  }

  /** The person saw the backup codes: the sign-in goes on. */
  async function proceed(ctx: Context) {
    const { interaction } = await kit.details(ctx, 'login', MFA_PROMPT);
    const state = await pendingOf(interaction);
    if (state.secondFactorAt === undefined)
      throw new AppError('invalid_request', 'This step of the sign-in is not the current one. Start again from the application.');
    return complete(ctx, interaction.uid, state, 'totp', state.secondFactorAt);
  }

  function redirectToPage(ctx: Context, interaction: Interaction) {
    ctx.status = 303;
    ctx.redirect(`/interaction/${interaction.uid}`);
  }

  /**
   * Hands the engine what this sign-in presented: after a password in this sign-in, its
   * login and both methods; in a session that had its password already (step-up, an
   * expired second factor), the second factor alone, with no new login: the password was
   * not asked again. The three writes are independent, so they go out at once.
   */
  async function complete(ctx: Context, uid: string, state: SignInState, method: AuthMethod, at: number) {
    const { accountId, passwordAt } = state;
    const methods = passwordAt === undefined ? { [method]: at } : { pwd: passwordAt, [method]: at };
    await Promise.all([
      deps.mfaState.signIn.drop(uid),
      kit.recordSignIn(ctx, accountId, true),
      kit.finish(ctx, { ...(passwordAt === undefined ? {} : { login: passwordLogin(accountId) }), twofold: { accountId, methods } }),
    ]);
  }

  return { show, submit, proceed };
}
