import type { Context } from 'koa';
import { z } from 'zod';
import { factorKinds } from '../../domain/factors.ts';
import { groupedSecret } from '../../domain/totp.ts';
import { jsonField, parseInput } from '../validate.ts';
import { MFA_PROMPT } from '../../oidc/interaction-policy.ts';
import { logOf } from '../request-log.ts';
import { otpauthQr } from '../qr.ts';
import type { SendOutcome } from '../../domain/email-codes.ts';
import type { CodeOutcome } from '../../domain/sign-in-journey.ts';
import { type Interaction, type InteractionDeps, type InteractionKit, type OidcClient } from './kit.ts';
import { backupCodesPage, lockedMessage, minutesText, sentMessage } from './messages.ts';

/** "Don't ask again on this device", ticked. */
const rememberBox = z.literal('1').optional();
/** The code form; a registration's also names the app. */
export const codeForm = z.strictObject({ code: z.string().max(64), remember: rememberBox, name: z.string().max(200).optional() });
/** The security key page's form: the browser's answer (JSON), and a registration's name for the key. */
export const keyForm = z.strictObject({ response: z.string().max(32_768), name: z.string().max(200).optional(), remember: rememberBox });
export const factorForm = z.strictObject({ factor: z.enum(factorKinds) });

const ENTER_CODE = 'Enter the code your authenticator app shows, or one of your backup codes.';
const WRONG_CODE = 'That code is not correct or was already used. Enter the current code from your app.';
const WRONG_EMAIL_CODE = 'That code is not correct or was already used. Enter the code from the latest email.';
const EXPIRED_EMAIL_CODE = 'That code has expired: codes work for 10 minutes. Send a new code and enter it.';
const KEY_REFUSED = 'Your security key’s answer was not accepted. Try again, or use another way to sign in.';
const KEY_CLONED =
  'This security key was refused: its answer shows a copy of it may be in use elsewhere. Use another way to sign in, and tell your administrator.';
const KEY_NOT_ADDED = 'That security key is registered already, or you have as many as can be added. Use it to sign in instead.';
const REGISTERED_ELSEWHERE =
  'An authenticator app was registered for your account a moment ago, perhaps in another tab or window. Enter the code that app shows.';

/** The wrong-code message, warning on the last tries before the lock. */
const wrongCodeMessage = (triesLeft: number | undefined, wrong = WRONG_CODE) =>
  triesLeft === undefined ? wrong : `${wrong} ${triesLeft === 1 ? '1 try' : `${triesLeft} tries`} left before your account is locked.`;

interface ShowOptions {
  error?: string | undefined;
  notice?: string | undefined;
  status?: number | undefined;
}

/**
 * The registration page, the code page (with its backup-code form) and the backup codes
 * shown once after a registration: the sign-in journey decides which, and checks the
 * codes; this renders its pages and hands a finished sign-in to the engine. The second
 * factor is asked either inside the login prompt (right after the password) or in the
 * `mfa` prompt of a session that already has a password login.
 */
export function createSecondFactorPages(deps: InteractionDeps, kit: InteractionKit) {
  async function show(ctx: Context, interaction: Interaction, client: OidcClient, options: ShowOptions = {}) {
    const page = await deps.journey.factorPage(await kit.journeyOf(ctx, interaction, client), await kit.sourceOf(ctx, interaction, client));
    const registeredElsewhere = page.kind === 'code' && page.registeredElsewhere;
    const notice = options.notice ?? (registeredElsewhere ? REGISTERED_ELSEWHERE : undefined);
    const common = {
      uid: interaction.uid,
      clientName: (await kit.application(ctx, interaction, client)).name,
      error: options.error,
      notice,
    };
    ctx.status = options.status ?? 200;
    switch (page.kind) {
      case 'backup_codes':
        // Registered: say so, with the backup codes (shown only until the person goes on).
        return ctx.render('backup-codes', {
          ...common,
          title:
            page.factor === 'email'
              ? 'Email codes turned on'
              : page.factor === 'webauthn'
                ? 'Security key added'
                : 'Authenticator app added',
          added: page.factor,
          ...backupCodesPage(page.user.username, page.codes),
        });
      case 'backup_code_used':
        return ctx.render('backup-code-used', { ...common, title: 'Signed in with a backup code', left: page.left });
      case 'locked':
        ctx.status = 403;
        return ctx.render('totp-code', { ...common, title: 'Account locked', locked: lockedMessage(page.until, deps.clock.now()) });
      case 'code': {
        const backup = ctx.query.use === 'backup';
        return ctx.render('totp-code', {
          ...common,
          title: backup ? 'Enter a backup code' : 'Enter your code',
          backup,
          emailInstead: page.emailInstead,
          keyInstead: page.keyInstead,
          rememberDays: page.rememberDays,
        });
      }
      case 'key': {
        const backup = ctx.query.use === 'backup' && page.hasBackupCodes;
        if (backup)
          return ctx.render('totp-code', { ...common, title: 'Enter a backup code', backup, byKey: true, rememberDays: page.rememberDays });
        return ctx.render('security-key', {
          ...common,
          title: page.registering ? 'Add a security key or passkey' : 'Use your security key',
          registering: page.registering,
          options: page.options,
          appInstead: page.appInstead,
          emailInstead: page.emailInstead,
          hasBackupCodes: page.hasBackupCodes,
          rememberDays: page.rememberDays,
        });
      }
      case 'email_code': {
        const backup = ctx.query.use === 'backup' && page.hasBackupCodes;
        if (backup)
          return ctx.render('totp-code', {
            ...common,
            title: 'Enter a backup code',
            backup,
            byEmail: true,
            rememberDays: page.rememberDays,
          });
        const sent = page.sent ? sentMessage(page.sent, deps.clock.now(), page.hasBackupCodes) : undefined;
        return ctx.render('email-code', {
          ...common,
          title: page.registering ? 'Confirm your email address' : 'Enter the code we emailed you',
          registering: page.registering,
          to: page.to,
          appInstead: page.appInstead,
          hasBackupCodes: page.hasBackupCodes,
          rememberDays: page.rememberDays,
          notice: sent?.notice ?? common.notice,
          error: sent?.error ?? common.error,
        });
      }
      case 'register': {
        return ctx.render('totp-register', {
          ...common,
          title: 'Set up your authenticator app',
          ...(await otpauthQr(page.uri)),
          otpauth: page.uri,
          // The sign-in expires on the engine's clock.
          validFor: minutesText(kit.remainingSeconds(interaction)),
          secret: groupedSecret(page.secret),
          label: page.label,
          username: page.user.username,
          message: page.message,
          emailInstead: page.emailInstead,
          keyInstead: page.keyInstead,
        });
      }
    }
  }

  /** Checks the submitted code; on success the sign-in goes on with what it presented. */
  async function submit(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const parsed = codeForm.safeParse(ctx.request.body);
    const input = parsed.success ? parsed.data.code : '';
    const remember = parsed.success && parsed.data.remember === '1';
    const name = parsed.success ? (parsed.data.name ?? '') : '';
    const journey = await kit.journeyOf(ctx, interaction, client);
    const outcome = await deps.journey.code(journey, input, await kit.sourceOf(ctx, interaction, client), { remember, name });
    return answered(ctx, interaction, client, outcome, 'mfa');
  }

  /**
   * The security key page's form: the browser's answer to this sign-in's challenge, to sign
   * in with a key or to register one. An answer that is not JSON is a wrong answer.
   */
  async function submitKey(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const { response, name, remember } = parseInput(keyForm, ctx.request.body);
    const journey = await kit.journeyOf(ctx, interaction, client);
    const source = await kit.sourceOf(ctx, interaction, client);
    const outcome = await deps.journey.key(journey, jsonField(response), name ?? '', source, remember === '1');
    return answered(ctx, interaction, client, outcome, 'mfa.key');
  }

  /** What a checked code or key answer leads to: logged, then the sign-in goes on or the page again says why not. */
  function answered(ctx: Context, interaction: Interaction, client: OidcClient, outcome: CodeOutcome, event: 'mfa' | 'mfa.key') {
    if (outcome.checked) {
      const { as, result, user } = outcome.checked;
      logOf(ctx, deps.log).info(
        { event: `${event}.${as}`, outcome: result, user, client: client.clientId, ip: ctx.ip },
        as === 'register' ? 'registration checked' : 'second factor checked',
      );
    }
    switch (outcome.kind) {
      case 'finished':
        return kit.finishJourney(ctx, outcome);
      case 'page':
        ctx.status = 303;
        return ctx.redirect(`/interaction/${interaction.uid}`);
      case 'retry':
        switch (outcome.reason) {
          case 'empty':
            return kit.retry(ctx, interaction, { error: ENTER_CODE, status: 400 });
          case 'locked':
            return kit.retry(ctx, interaction, { status: 403 });
          case 'registered_elsewhere':
            return kit.retry(ctx, interaction, { notice: REGISTERED_ELSEWHERE, status: 409 });
          case 'expired':
            return kit.retry(ctx, interaction, { error: EXPIRED_EMAIL_CODE, status: 401 });
          case 'wrong':
            return kit.retry(ctx, interaction, {
              error: wrongCodeMessage(outcome.triesLeft, outcome.byEmail ? WRONG_EMAIL_CODE : WRONG_CODE),
              status: 401,
            });
          case 'key_refused':
            return kit.retry(ctx, interaction, { error: KEY_REFUSED, status: 401 });
          case 'key_cloned':
            return kit.retry(ctx, interaction, { error: KEY_CLONED, status: 401 });
          case 'key_not_added':
            return kit.retry(ctx, interaction, { error: KEY_NOT_ADDED, status: 409 });
        }
    }
  }

  /** The other factor was chosen on the page (email codes, or back to the app). */
  async function choose(ctx: Context) {
    const { factor } = parseInput(factorForm, ctx.request.body);
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const journey = await kit.journeyOf(ctx, interaction, client);
    const sent = await deps.journey.choose(journey, factor, await kit.sourceOf(ctx, interaction, client));
    return afterSend(ctx, interaction, sent);
  }

  /** "Send a new code" on the email code page. */
  async function resend(ctx: Context) {
    parseInput(z.strictObject({}), ctx.request.body);
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const journey = await kit.journeyOf(ctx, interaction, client);
    const sent = await deps.journey.resend(journey, await kit.sourceOf(ctx, interaction, client));
    return afterSend(ctx, interaction, sent, 'resend');
  }

  /** Back to the page (post/redirect/get), saying what became of the mail. */
  async function afterSend(ctx: Context, interaction: Interaction, sent: SendOutcome | undefined, why?: 'resend') {
    if (!sent) {
      ctx.status = 303;
      return ctx.redirect(`/interaction/${interaction.uid}`);
    }
    const message = sentMessage(sent, deps.clock.now(), true, why);
    return kit.retry(ctx, interaction, { ...message, status: sent.sent ? 200 : 429 });
  }

  /** The person saw the backup codes: the sign-in goes on. */
  async function proceed(ctx: Context) {
    const { interaction, client } = await kit.details(ctx, 'login', MFA_PROMPT);
    const finished = await deps.journey.proceed(
      await kit.journeyOf(ctx, interaction, client),
      await kit.sourceOf(ctx, interaction, client),
    );
    return kit.finishJourney(ctx, finished);
  }

  return { show, submit, submitKey, choose, resend, proceed };
}
