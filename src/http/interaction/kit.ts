import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { RateLimitConfig } from '../../config/load.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import type { DataKeyring } from '../../domain/data-key.ts';
import { AppError } from '../../domain/errors.ts';
import type { AttemptSource, SecondFactorService } from '../../domain/second-factor.ts';
import { policyForRequest, type Finished, type Journey, type SignInJourney } from '../../domain/sign-in-journey.ts';
import { passkeyLogin, passwordLogin, requestedLevel } from '../../oidc/acr.ts';
import { MFA_PROMPT } from '../../oidc/interaction-policy.ts';
import type { SettingsService } from '../../domain/settings.ts';
import type { UserService } from '../../domain/users.ts';
import { requestMaxAge, type MfaAssessor, type RequestApplication } from '../../oidc/mfa-assessment.ts';
import type { Flash, MfaState } from '../../oidc/mfa-state.ts';
import type { AuditLog, RateLimiter, UserStore } from '../../domain/ports.ts';
import { deviceCookie } from '../../oidc/device-cookie.ts';

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
export type OidcClient = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;
export type InteractionResult = Parameters<Provider['interactionResult']>[2];

export interface InteractionDeps {
  provider: Provider;
  users: UserStore;
  userService: UserService;
  secondFactor: SecondFactorService;
  settings: SettingsService;
  assessor: MfaAssessor;
  journey: SignInJourney;
  mfaState: MfaState;
  clock: Clock;
  log: Logger;
  bodyLimit: number;
  keyring: DataKeyring;
  rateLimiter: RateLimiter;
  rateLimits: RateLimitConfig;
  audit: AuditLog;
  /** "Forgot password?" is offered (mail can go out). */
  passwordReset: boolean;
}

interface RequestInteraction {
  interaction?: Interaction;
}

export const EXPIRED = 'This sign-in has expired or was already finished. Start again from the application.';
export const DISABLED = 'This account is disabled. Ask your administrator.';

/** What every interaction handler does first and last, after the engine's example routes. */
export function createInteractionKit(deps: InteractionDeps) {
  const { provider } = deps;
  return {
    /**
     * The pending interaction of this browser, checked against the address. It is kept on
     * the request's own context, so finishing the step saves it without reading it again.
     */
    async details(ctx: Context, ...expectedPrompts: string[]) {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res);
      (ctx.state as RequestInteraction).interaction = interaction;
      // The cookie names another sign-in than the address: a page of an older attempt.
      if (interaction.uid !== ctx.params.uid) throw new AppError('sign_in_expired', EXPIRED);
      if (expectedPrompts.length && !expectedPrompts.includes(interaction.prompt.name)) {
        // A post for a step that is not the pending one (replayed, or skipped ahead).
        throw new AppError('invalid_request', 'This step of the sign-in is not the current one. Start again from the application.');
      }
      const client = await provider.Client.find(String(interaction.params.client_id));
      if (!client) throw new AppError('invalid_request', 'The application of this sign-in is no longer registered.');
      return { interaction, client };
    },

    /** Where a person whose sign-in expired can start again: the application's address. */
    async applicationHome(uid: string | undefined): Promise<string | undefined> {
      const clientId = uid ? await deps.mfaState.origin.get(uid) : undefined;
      const client = clientId ? await provider.Client.find(clientId) : undefined;
      if (!client) return undefined;
      const candidate = client.clientUri ?? client.redirectUris?.[0];
      return candidate && URL.canParse(candidate) && /^https?:$/.test(new URL(candidate).protocol)
        ? (client.clientUri ?? new URL(candidate).origin)
        : undefined;
    },

    /**
     * Hands the result back to the engine and sends the browser on to it: the engine's
     * interactionResult, on the interaction this request read (its session was checked
     * then; the engine checks it again when the browser resumes).
     */
    async finish(ctx: Context, result: InteractionResult, merge = false) {
      const interaction = (ctx.state as RequestInteraction).interaction ?? (await provider.interactionDetails(ctx.req, ctx.res));
      interaction.result = merge && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
      await interaction.save(this.remainingSeconds(interaction));
      ctx.status = 303;
      ctx.redirect(interaction.returnTo);
    },

    /**
     * Answers a refused form with a redirect to its page (post/redirect/get), which shows
     * the outcome once: Back and Reload then never send the form again.
     */
    async retry(ctx: Context, interaction: Interaction, flash: Flash) {
      await deps.mfaState.flash.put(interaction.uid, flash, this.remainingSeconds(interaction));
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}?retry=1${ctx.query.use === 'backup' ? '&use=backup' : ''}`);
    },

    /**
     * Seconds until the interaction expires: state kept with it lives as long. The expiry is
     * the engine's, on the engine's (the system's) clock, so it is measured on that clock.
     */
    remainingSeconds(interaction: Interaction): number {
      return Math.max(1, interaction.exp - Math.floor(systemClock.now() / 1000));
    },

    clientName: (client: OidcClient) => client.clientName ?? client.clientId,

    /**
     * The application this request's sign-in is for (a SAML application's, for the SAML
     * client), found once per request and kept on its own context.
     */
    application(ctx: Context, interaction: Interaction, client: OidcClient): Promise<RequestApplication> {
      const state = ctx.state as { signInApplication?: Promise<RequestApplication> };
      return (state.signInApplication ??= deps.assessor.applicationOf(client, interaction.params));
    },

    /** Where an attempt came from, for the audit log and the user's last sign-in. */
    async sourceOf(ctx: Context, interaction: Interaction, client: OidcClient): Promise<AttemptSource> {
      const { clientId, protocol } = await this.application(ctx, interaction, client);
      return { clientId, protocol, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined };
    },

    /**
     * This sign-in as the journey knows it: the application's policy, the request, the
     * session. Made once per request and kept on its own context.
     */
    journeyOf(ctx: Context, interaction: Interaction, client: OidcClient): Promise<Journey> {
      const state = ctx.state as { journey?: Promise<Journey> };
      return (state.journey ??= this.newJourney(ctx, interaction, client));
    },

    async newJourney(ctx: Context, interaction: Interaction, client: OidcClient): Promise<Journey> {
      const { params, prompt, session } = interaction;
      const application = await this.application(ctx, interaction, client);
      const level = requestedLevel(params.acr_values, params.claims);
      return {
        id: interaction.uid,
        expiresIn: this.remainingSeconds(interaction),
        app: policyForRequest(application.policy, level),
        appName: application.name,
        request: {
          stepUp: level !== undefined,
          maxAge: requestMaxAge(params.max_age),
          forced: prompt.reasons.includes('login_prompt') || prompt.reasons.includes('max_age'),
        },
        sessionAccountId: prompt.name === MFA_PROMPT ? session?.accountId : undefined,
        sessionMethods: (accountId) => deps.assessor.sessionMethods(session?.uid, accountId),
        deviceToken: deviceCookie.read(ctx),
      };
    },

    /**
     * Hands a finished sign-in to the engine: a password presented in it is a new login
     * (the engine is only ever told of the password); beside it, every method it
     * presented, recorded on the session once the engine has it.
     */
    finishJourney(ctx: Context, finished: Finished) {
      const { accountId, methods, login, remembered, passwordless } = finished;
      if (remembered) deviceCookie.write(ctx, remembered.token, remembered.maxAgeSeconds);
      const key = methods.hwk === undefined ? 'swk' : 'hwk';
      const engineLogin = passwordless ? passkeyLogin(accountId, key, methods[key]!) : passwordLogin(accountId);
      return this.finish(ctx, { ...(login ? { login: engineLogin } : {}), twofold: { accountId, methods } });
    },
  };
}

export type InteractionKit = ReturnType<typeof createInteractionKit>;
