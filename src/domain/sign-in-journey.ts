import { countAttempt } from './attempt-limits.ts';
import { secondFactorAt, type AuthMethod, type MethodTimes } from './authentication.ts';
import type { EmailCodes, SendOutcome } from './email-codes.ts';
import {
  acceptedFactors,
  acceptedTimes,
  hasVerifiedEmail,
  factorOfMethod,
  maskedAddress,
  methodsOfFactor,
  registeredFactors,
  usableFactors,
  type FactorKind,
} from './factors.ts';
import type { Clock } from './clock.ts';
import { isHonoured, newRememberedDevice, rememberedDeviceOf } from './remembered-devices.ts';
import type { DataKeyring } from './data-key.ts';
import { AppError, assertThat } from './errors.ts';
import { decideMfa, type MfaDecision, type MfaPolicy } from './mfa-policy.ts';
import type { AuditLog, JourneyStateStore, RateLimiter, SignInState, UserRecord, UserStore } from './ports.ts';
import {
  signedInEvent,
  type AttemptSource,
  type CodeOutcome as FactorOutcome,
  type RegisterOutcome,
  type SecondFactorService,
} from './second-factor.ts';
import type { SettingsService } from './settings.ts';
import { otpauthUri } from './totp.ts';
import type { UserService } from './users.ts';

/** What an application asks of a sign-in, whichever protocol it speaks. */
export interface AppPolicy {
  mfaPolicy?: MfaPolicy | undefined;
  mfaMaxAge?: number | undefined;
  /** twofold's own applications (account page, console): always a second factor. */
  alwaysRequired?: boolean | undefined;
  /** Only administrators may sign in (the console): others are refused after the password, before any second factor. */
  adminsOnly?: boolean | undefined;
  /** The second factors the application accepts (`mfa_factors`); all that are switched on when absent. */
  mfaFactors?: readonly FactorKind[] | undefined;
  /** How many days a browser may be remembered after a second factor (`remember_device_days`); 0 or absent: never. */
  rememberDays?: number | undefined;
  /** A passkey may sign in instead of the password (`passkey_sign_in`), where the setting allows it. */
  passkeySignIn?: boolean | undefined;
}

/** The application takes security keys and passkeys only: the phishing-resistant level. */
export const wantsKeysOnly = (app: AppPolicy) => app.mfaFactors?.length === 1 && app.mfaFactors[0] === 'webauthn';

/**
 * The application as one request sees it: a request for the phishing-resistant level
 * (`acr_values`, SAML's RequestedAuthnContext) takes security keys only, whatever the
 * application accepts otherwise. Where keys cannot be used, the app's code still stands
 * (see `acceptedFactors`), and the token then says MFA, not the level asked for.
 */
export function policyForRequest(app: AppPolicy, level: 'mfa' | 'phr' | undefined): AppPolicy {
  return level === 'phr' ? { ...app, mfaFactors: ['webauthn'] } : app;
}

/** What one request of an application asks for: the MFA context, a bound on age, a new sign-in. */
export interface JourneyRequest {
  stepUp: boolean;
  maxAge?: number | undefined;
  /** A new sign-in was asked for (`prompt=login`, `max_age`, `ForceAuthn`): no earlier second factor counts. */
  forced: boolean;
}

/** One sign-in under way, as its protocol door knows it. */
export interface Journey {
  /** The sign-in's id (the OIDC interaction uid; a SAML request rides on one). */
  id: string;
  /** Seconds until the sign-in expires: state kept with it lives as long. */
  expiresIn: number;
  app: AppPolicy;
  request: JourneyRequest;
  /** The application's name, as the mailed code names it. */
  appName: string;
  /** The account the browser's session signed in already, when the step is the second factor alone. */
  sessionAccountId?: string | undefined;
  /** When each method was presented in the browser's session, for `sessionAccountId` or the password's account. */
  sessionMethods: (accountId: string) => Promise<MethodTimes>;
  /** The token of the browser's remembered-device cookie, if it sent one. */
  deviceToken?: string | undefined;
  /**
   * This request's copy of the sign-in's state: read at most once per request and kept in
   * step with what the request writes. The Journey is the request's own, so is this.
   */
  state?: Promise<SignInState | undefined>;
}

/** The sign-in is over: what it presented, for the door to hand to its protocol. */
export interface Finished {
  kind: 'finished';
  accountId: string;
  methods: MethodTimes;
  /** A password (or a passkey instead of it) was presented in this sign-in: a new login, not only a second factor. */
  login: boolean;
  /** The login was a passkey's, without a password: `methods` has no `pwd`. */
  passwordless?: true | undefined;
  /** The browser is remembered from now on: the token its cookie keeps, for so long. */
  remembered?: { token: string; maxAgeSeconds: number } | undefined;
}

export type PasswordOutcome =
  | { kind: 'refused'; reason: 'rate_limited'; per: 'per_ip' | 'per_account'; waitMs: number }
  | { kind: 'refused'; reason: 'unknown_user' | 'wrong_password' | 'disabled'; userId?: string | undefined }
  /** The password was right, but the application is for administrators only. */
  | { kind: 'refused'; reason: 'not_admin'; userId: string; username: string }
  | { kind: 'second_factor'; accountId: string }
  | Finished;

/** What came of a passkey presented instead of the password. */
export type PasskeyOutcome =
  | { kind: 'refused'; reason: 'rate_limited'; per: 'per_ip' | 'per_account'; waitMs: number }
  /** `refused`: no passkey of anyone, a wrong answer, or one whose authenticator did not verify the user. */
  | { kind: 'refused'; reason: 'refused' | 'cloned' | 'disabled'; userId?: string | undefined }
  | { kind: 'refused'; reason: 'locked'; userId: string; until: number | null }
  | Finished;

/** The page of the second-factor step. */
export type FactorPage =
  /** After a registration: which factor was added, and the new backup codes. */
  | { kind: 'backup_codes'; user: UserRecord; codes: string[]; factor: FactorKind }
  /** A backup code signed in: how many are left (a new set is due when few are). */
  | { kind: 'backup_code_used'; user: UserRecord; left: number }
  | { kind: 'locked'; user: UserRecord; until: number | null }
  /**
   * The app's code page; `emailInstead`: the masked address a code may be mailed to instead;
   * `keyInstead`: a security key may be used instead.
   */
  | {
      kind: 'code';
      user: UserRecord;
      registeredElsewhere: boolean;
      emailInstead?: string | undefined;
      keyInstead: boolean;
      /** "Don't ask again on this device" is offered, for this many days (0: not offered). */
      rememberDays: number;
    }
  /** `emailInstead`: email codes may be registered instead, to this masked address; `keyInstead`: a security key. */
  | {
      kind: 'register';
      user: UserRecord;
      secret: Buffer;
      uri: string;
      label: string;
      message: string | undefined;
      emailInstead?: string | undefined;
      keyInstead: boolean;
    }
  /**
   * The security key page: to sign in with a key, or to register one (`registering`).
   * `options`: the WebAuthn options for the browser (JSON), whose challenge this sign-in keeps.
   */
  | {
      kind: 'key';
      user: UserRecord;
      registering: boolean;
      options: string;
      appInstead: boolean;
      emailInstead?: string | undefined;
      hasBackupCodes: boolean;
      rememberDays: number;
    }
  /**
   * The email code page: to sign in, or to register email codes (`registering`). `to`: the
   * masked address; `sent`: what became of a code mailed while showing it; `appInstead`:
   * the authenticator app may be used (or registered) instead.
   */
  | {
      kind: 'email_code';
      user: UserRecord;
      registering: boolean;
      to: string;
      sent?: SendOutcome | undefined;
      appInstead: boolean;
      hasBackupCodes: boolean;
      rememberDays: number;
    };

/** What a code was checked as, and what came of it (for the log). */
export interface Checked {
  checked?: { as: 'verify' | 'register'; result: string; user: string };
}

export type CodeOutcome = Checked &
  (
    | { kind: 'retry'; reason: 'empty' | 'locked' | 'registered_elsewhere' | 'expired' }
    /** A security key's answer that was not right (`cloned`: a copy of a registered key), or a key not added. */
    | { kind: 'retry'; reason: 'key_refused' | 'key_cloned' | 'key_not_added' }
    /** A wrong code; `triesLeft` before the lock, when a lock is that near; `byEmail`: on the email code page. */
    | { kind: 'retry'; reason: 'wrong'; triesLeft?: number | undefined; byEmail?: boolean | undefined }
    /** Registered: the backup codes page comes next. */
    | { kind: 'page' }
    | Finished
  );

export interface JourneyDeps {
  users: UserStore;
  userService: UserService;
  secondFactor: SecondFactorService;
  settings: SettingsService;
  state: JourneyStateStore;
  rateLimiter: RateLimiter;
  rateLimits: { perIp: RateLimit; perAccount: RateLimit };
  audit: AuditLog;
  keyring: DataKeyring;
  clock: Clock;
  emailCodes: EmailCodes;
  /** Mail can go out (SMTP_URL, or the embedded terminal): email codes are possible. */
  mailOn: boolean;
  /** The issuer can be a WebAuthn relying party (https, or localhost): security keys are possible. */
  keysOn: boolean;
}

/** Which factor the second-factor step asks for, and whether to register or check it. */
interface Step {
  factor: FactorKind;
  registering: boolean;
  /** The other factors the person may switch to on this page. */
  others: FactorKind[];
  /** A factor the user has, checked before another is added: the application accepts only the other. */
  proving?: boolean | undefined;
}

interface RateLimit {
  limit: number;
  windowSeconds: number;
}

const BACKUP_CODES_PURPOSE = 'backup-codes-display';

/**
 * The sign-in, whichever protocol asked for it: the password step, the MFA decision, the
 * registration, the code or backup code, and what comes next. The protocol doors (oidc/,
 * saml/) and the pages only translate to and from it.
 */
export function createSignInJourney(deps: JourneyDeps) {
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);

  /** The second factors the application accepts now (settings, its `mfa_factors`, mail). */
  async function acceptedFor(app: AppPolicy): Promise<FactorKind[]> {
    return acceptedFactors((await deps.settings.get()).factors, app.mfaFactors, deps.mailOn, deps.keysOn);
  }

  /**
   * Whether this user, at this application, for this request, needs the second factor now.
   * `methods`: what the session presented, of which only the factors the application
   * accepts count (an email code does not stand for the app where only the app is accepted).
   */
  async function decide(
    user: UserRecord | null,
    app: AppPolicy,
    request: JourneyRequest,
    methods: MethodTimes,
    deviceToken?: string,
  ): Promise<MfaDecision> {
    if (!user) return { action: 'deny' };
    const settings = await deps.settings.get();
    const accepted = await acceptedFor(app);
    const decision = decideMfa({
      settings: { enabled: settings.enabled, defaultPolicy: settings.defaultPolicy },
      client: app,
      requestMaxAge: request.maxAge,
      user: {
        exempt: user.mfa.exempt,
        disabled: user.disabled,
        hasDevice: usableFactors(user).some((factor) => accepted.includes(factor)),
        enrolled: registeredFactors(user).length > 0,
      },
      stepUp: request.stepUp,
      lastSecondFactorAt: request.forced ? undefined : secondFactorAt(acceptedTimes(methods, accepted)),
      now: nowSeconds(),
    });
    return rememberedInstead(decision, user, app, request, deviceToken);
  }

  /**
   * A browser remembered for this user spares the code it would be asked, where the
   * application remembers browsers that long; never for a registration, a step-up, a new
   * sign-in (`prompt=login`, `max_age`) or the phishing-resistant level.
   */
  function rememberedInstead(
    decision: MfaDecision,
    user: UserRecord,
    app: AppPolicy,
    request: JourneyRequest,
    deviceToken: string | undefined,
  ): MfaDecision {
    if (decision.action !== 'verify' || decision.reason === 'step_up') return decision;
    if (request.stepUp || request.forced || request.maxAge !== undefined || wantsKeysOnly(app)) return decision;
    const now = deps.clock.now();
    const device = rememberedDeviceOf(user, deviceToken, now);
    return device && isHonoured(device, app, now) ? { action: 'none', wanted: decision.reason, rememberedBy: device.id } : decision;
  }

  /** "Don't ask again on this device" may be offered on this step: for so many days, or 0. */
  const rememberDaysOf = (journey: Journey, step: Step) =>
    step.registering || step.proving || journey.request.stepUp || wantsKeysOnly(journey.app) ? 0 : (journey.app.rememberDays ?? 0);

  /**
   * The step of this sign-in: check a factor the user has and the application accepts (the
   * app first, unless email codes were chosen), else register one: the app first, email
   * codes when chosen and the user has a verified address. When only email codes are
   * accepted and the user has no verified address, the app is registered (a second factor
   * is never skipped for want of an address).
   */
  async function stepOf(journey: Journey, state: SignInState, user: UserRecord): Promise<Step> {
    const accepted = await acceptedFor(journey.app);
    // Of the factors this step may take, the app first unless another was chosen; the others on offer.
    const pick = (factors: FactorKind[]) => {
      const factor = state.factor && factors.includes(state.factor) ? state.factor : factors[0]!;
      return { factor, others: factors.filter((other) => other !== factor) };
    };
    const held = usableFactors(user);
    const usable = held.filter((factor) => accepted.includes(factor));
    if (usable.length) return { ...pick(usable), registering: false };
    // Adding a factor takes the one the user has, when there is one: the password alone
    // never adds a factor to an account that has one. This sign-in or its session may have
    // presented it already.
    if (held.length && !state.proven) {
      const presented = await journey.sessionMethods(user.id);
      const presentedOne = held.some((factor) => methodsOfFactor(factor).some((method) => presented[method] !== undefined));
      if (!presentedOne) return { ...pick(held), registering: false, proving: true };
    }
    const registrable = accepted.filter((factor) => factor !== 'email' || hasVerifiedEmail(user));
    return { ...pick(registrable.length ? registrable : ['totp']), registering: true };
  }

  /**
   * Counts this attempt against the client address and then the account (known or not):
   * the wait until another is allowed, or 0. Nothing about the password is checked first.
   */
  const rateLimited = (username: string, ip: string | undefined) =>
    countAttempt(deps.rateLimiter, deps.rateLimits, { kind: '', username, ip, now: deps.clock.now() });

  /** The sign-in of an application is complete: who, where, and the second factor it presented. */
  const signedIn = (userId: string, factor: AuthMethod | 'none' | 'remembered', source: AttemptSource) =>
    deps.audit.record(signedInEvent(new Date(deps.clock.now()), userId, factor, source));

  /** A remembered browser spared this sign-in its second factor: noted on it, and audited. */
  async function rememberedUse(user: UserRecord, deviceId: string, source: AttemptSource) {
    const at = new Date(deps.clock.now());
    const browser = user.mfa.remembered?.find((device) => device.id === deviceId)?.browser;
    await Promise.all([
      deps.users.rememberedDeviceUsed(user.id, deviceId, at),
      deps.audit.record({
        at,
        type: 'mfa.browser_used',
        outcome: 'success',
        userId: user.id,
        ...source,
        ...(browser ? { reason: browser } : {}),
      }),
    ]);
  }

  /** Remembers this browser for the application's days, after a second factor: the cookie's token, or undefined when not kept. */
  async function remember(journey: Journey, accountId: string, source: AttemptSource): Promise<Finished['remembered']> {
    const days = journey.app.rememberDays ?? 0;
    const { token, device } = newRememberedDevice({ now: deps.clock.now(), days, userAgent: source.userAgent, clientId: source.clientId });
    if (!(await deps.users.rememberDevice(accountId, device))) return undefined;
    await deps.audit.record({
      at: device.rememberedAt,
      type: 'mfa.browser_remembered',
      outcome: 'success',
      userId: accountId,
      ...source,
      reason: device.browser,
    });
    return { token, maxAgeSeconds: days * 86_400 };
  }

  const recordSignIn = (userId: string, source: AttemptSource, succeeded: boolean) =>
    deps.users.recordSignIn(userId, { at: new Date(deps.clock.now()), ip: source.ip, userAgent: source.userAgent, succeeded });

  /**
   * The password step. When the policy wants a second factor, the sign-in is not finished:
   * the accepted account is kept with it and the second-factor page follows. Signing in
   * again in a session that passed the second factor keeps it (no downgrade), unless a new
   * sign-in was asked for: then a second factor the application wants is asked again.
   * Either way the password alone is what this step presented.
   */
  async function password(journey: Journey, username: string, secret: string, source: AttemptSource): Promise<PasswordOutcome> {
    const at = () => new Date(deps.clock.now());
    const limited = await rateLimited(username, source.ip);
    if (limited.waitMs > 0) {
      await deps.audit.record({ at: at(), type: 'rate_limited', outcome: 'failure', reason: limited.per, ...source });
      return { kind: 'refused', reason: 'rate_limited', per: limited.per, waitMs: limited.waitMs };
    }
    // The user's lookup records the attempt (lastAttemptAt) in the same command.
    const result = await deps.userService.verifyPassword(username, secret, at());
    if (!result.ok) {
      await deps.audit.record({
        at: at(),
        type: 'password.refused',
        outcome: 'failure',
        reason: result.reason,
        ...(result.userId ? { userId: result.userId } : {}),
        ...source,
      });
      return {
        kind: 'refused',
        reason: result.reason === 'disabled' ? 'disabled' : result.reason === 'unknown_user' ? 'unknown_user' : 'wrong_password',
        userId: result.userId,
      };
    }
    const { user } = result;
    if (journey.app.adminsOnly && user.role !== 'admin') {
      await deps.audit.record({ at: at(), type: 'signin.refused', outcome: 'failure', reason: 'not_admin', userId: user.id, ...source });
      return { kind: 'refused', reason: 'not_admin', userId: user.id, username: user.username };
    }
    const known = await journey.sessionMethods(user.id);
    const decision = await decide(user, journey.app, journey.request, known, journey.deviceToken);
    const passwordAt = nowSeconds();
    if (decision.action === 'deny') return { kind: 'refused', reason: 'disabled', userId: user.id };
    if (decision.action === 'none') {
      const by = decision.rememberedBy;
      await Promise.all([
        recordSignIn(user.id, source, true),
        signedIn(user.id, by ? 'remembered' : 'none', source),
        by ? rememberedUse(user, by, source) : undefined,
      ]);
      return { kind: 'finished', accountId: user.id, methods: { pwd: passwordAt }, login: true };
    }
    await save(journey, { accountId: user.id, passwordAt });
    return { kind: 'second_factor', accountId: user.id };
  }

  /**
   * A passkey may sign in instead of the password here: the setting is on, the application
   * allows it and accepts keys, and keys can be used at this issuer. Never at an
   * application for administrators only (the console), which always asks for the password.
   */
  async function passkeyAllowed(app: AppPolicy): Promise<boolean> {
    if (!deps.keysOn || !app.passkeySignIn || app.adminsOnly) return false;
    if (!(await deps.settings.get()).passkeySignIn.enabled) return false;
    return (await acceptedFor(app)).includes('webauthn');
  }

  /**
   * The options of the login page's "Sign in with a passkey", where allowed: a new
   * challenge, kept with the sign-in (the one shown last counts). Undefined elsewhere.
   */
  async function passkeyOffer(journey: Journey): Promise<string | undefined> {
    if (!(await passkeyAllowed(journey.app))) return undefined;
    const options = await deps.secondFactor.passkeyOptions();
    await deps.state.putChallenge(journey.id, options.challenge, journey.expiresIn);
    return JSON.stringify(options);
  }

  /**
   * A passkey presented instead of the password: the answer to this sign-in's challenge
   * (taken from it first: each answers once), signed by a key of the user it names, whose
   * authenticator verified the user. It then stands for both factors: a new login whose
   * methods are the key and `user`, without `pwd`. Rate limited as passwords are; a wrong
   * answer for a user counts toward that user's lockout, as a wrong code does.
   */
  async function passkey(journey: Journey, answer: unknown, source: AttemptSource): Promise<PasskeyOutcome> {
    if (!(await passkeyAllowed(journey.app)))
      throw new AppError('invalid_request', 'This application does not take a passkey instead of the password.');
    const challenge = await deps.state.takeChallenge(journey.id);
    if (challenge === undefined)
      throw new AppError('invalid_request', 'This step of the sign-in is not the current one. Start again from the application.');
    const at = () => new Date(deps.clock.now());
    const userId = deps.secondFactor.userIdOfAnswer(answer);
    const limited = await rateLimited(`passkey:${userId ?? '-'}`, source.ip);
    if (limited.waitMs > 0) {
      await deps.audit.record({ at: at(), type: 'rate_limited', outcome: 'failure', reason: limited.per, ...source });
      return { kind: 'refused', reason: 'rate_limited', per: limited.per, waitMs: limited.waitMs };
    }
    const user = userId === undefined ? null : await deps.users.findById(userId);
    if (!user || user.disabled) {
      const reason = user ? 'disabled' : 'unknown_passkey';
      await deps.audit.record({
        at: at(),
        type: 'signin.refused',
        outcome: 'failure',
        reason,
        ...(user ? { userId: user.id } : {}),
        ...source,
      });
      return { kind: 'refused', reason: user ? 'disabled' : 'refused', userId: user?.id };
    }
    const outcome = await deps.secondFactor.verifyKey(user, answer, challenge, source, { passkey: true });
    if (outcome.result === 'locked') return { kind: 'refused', reason: 'locked', userId: user.id, until: outcome.until };
    if (outcome.result === 'cloned') return { kind: 'refused', reason: 'cloned', userId: user.id };
    if (outcome.result !== 'passed') return { kind: 'refused', reason: 'refused', userId: user.id };
    journey.state = Promise.resolve(undefined);
    await Promise.all([recordSignIn(user.id, source, true), signedIn(user.id, outcome.method, source), deps.state.drop(journey.id)]);
    const passedAt = nowSeconds();
    return {
      kind: 'finished',
      accountId: user.id,
      methods: { [outcome.method]: passedAt, user: passedAt },
      login: true,
      passwordless: true,
    };
  }

  /** The sign-in's state, read once per request (the Journey is the request's own). */
  const stateOf = (journey: Journey) => (journey.state ??= deps.state.get(journey.id));

  /** Writes the sign-in's state; this request's copy follows. */
  async function save(journey: Journey, state: SignInState) {
    await deps.state.put(journey.id, state, journey.expiresIn);
    journey.state = Promise.resolve(state);
  }

  /** Whether the password of this sign-in was accepted and its second factor is pending. */
  async function awaitsSecondFactor(journey: Journey): Promise<boolean> {
    return (await stateOf(journey))?.passwordAt !== undefined;
  }

  /**
   * Whose second factor this sign-in asks for (after its password, or in a session that has
   * one), with the state kept for it so far.
   */
  async function pendingOf(journey: Journey): Promise<SignInState> {
    const state = await stateOf(journey);
    if (journey.sessionAccountId) return state?.accountId === journey.sessionAccountId ? state : { accountId: journey.sessionAccountId };
    if (state?.passwordAt !== undefined) return state;
    throw new AppError('sign_in_expired', 'This sign-in has expired or was already finished. Start again from the application.');
  }

  async function userOf(accountId: string): Promise<UserRecord> {
    const user = await deps.users.findById(accountId);
    if (!user || user.disabled) throw new AppError('forbidden', 'This account is disabled. Ask your administrator.');
    return user;
  }

  /** The page of the second-factor step, making the registration's secret once per sign-in. */
  async function factorPage(journey: Journey, source: AttemptSource = {}): Promise<FactorPage> {
    const state = await pendingOf(journey);
    const user = await userOf(state.accountId);
    if (state.secondFactorAt !== undefined && state.backupCodesLeft !== undefined) {
      return { kind: 'backup_code_used', user, left: state.backupCodesLeft };
    }
    if (state.secondFactorAt !== undefined) {
      const codes = state.sealedBackupCodes
        ? (JSON.parse(deps.keyring.open(state.sealedBackupCodes, BACKUP_CODES_PURPOSE)) as string[])
        : [];
      return { kind: 'backup_codes', user, codes, factor: factorOfMethod(state.passedWith ?? 'totp') ?? 'totp' };
    }
    const lock = await deps.secondFactor.lockOf(user);
    if (lock) return { kind: 'locked', user, until: lock.until };
    const step = await stepOf(journey, state, user);
    const address = user.email && hasVerifiedEmail(user) ? maskedAddress(user.email) : undefined;
    const hasBackupCodes = !step.registering && (user.mfa.backupCodes?.hashes.length ?? 0) > 0;
    if (step.factor === 'email') {
      // The first view of the email page mails a code; later views (a reload) do not.
      const sent = state.emailCode ? undefined : await mailCode(journey, state, user, source);
      return {
        kind: 'email_code',
        user,
        registering: step.registering,
        to: address ?? '',
        sent,
        appInstead: step.others.includes('totp'),
        hasBackupCodes,
        rememberDays: rememberDaysOf(journey, step),
      };
    }
    const emailInstead = step.others.includes('email') ? address : undefined;
    const keyInstead = step.others.includes('webauthn');
    if (step.factor === 'webauthn') {
      // Every view issues a new challenge, kept with the sign-in: the one answered last counts.
      const options = step.registering ? await deps.secondFactor.keyCreation(user) : await deps.secondFactor.keyRequest(user);
      await save(journey, { ...state, keyChallenge: options.challenge });
      if (step.registering) await deps.users.markRegistrationPending(state.accountId, new Date(deps.clock.now()));
      return {
        kind: 'key',
        user,
        registering: step.registering,
        options: JSON.stringify(options),
        appInstead: step.others.includes('totp'),
        emailInstead,
        hasBackupCodes,
        rememberDays: rememberDaysOf(journey, step),
      };
    }
    if (!step.registering)
      return {
        kind: 'code',
        user,
        registeredElsewhere: state.sealedEnrollment !== undefined,
        emailInstead,
        keyInstead,
        rememberDays: rememberDaysOf(journey, step),
      };
    let sealed = state.sealedEnrollment;
    if (!sealed) {
      sealed = deps.secondFactor.newEnrollment().sealed;
      await save(journey, { ...state, sealedEnrollment: sealed });
      await deps.users.markRegistrationPending(state.accountId, new Date(deps.clock.now()));
    }
    const secret = deps.secondFactor.openEnrollment(sealed);
    const settings = await deps.settings.get();
    const uri = otpauthUri({ secret, label: settings.issuerLabel, account: user.username });
    return {
      kind: 'register',
      user,
      secret,
      uri,
      label: settings.issuerLabel,
      message: settings.registrationMessage,
      emailInstead,
      keyInstead,
    };
  }

  /** Mails a code for this sign-in and keeps its hash with it (the new code replaces an older one). */
  async function mailCode(journey: Journey, state: SignInState, user: UserRecord, source: AttemptSource): Promise<SendOutcome> {
    const sent = await deps.emailCodes.send(user, source, journey.appName);
    if (sent.sent) await save(journey, { ...state, emailCode: sent.code });
    return sent;
  }

  /**
   * The person chose another factor on the page: email codes (mailing one), a security key,
   * or back to the app. Only a factor the step offers can be chosen; anything else changes
   * nothing.
   */
  async function choose(journey: Journey, factor: FactorKind, source: AttemptSource): Promise<SendOutcome | undefined> {
    const state = await pendingOf(journey);
    if (state.secondFactorAt !== undefined) return undefined;
    const user = await userOf(state.accountId);
    const step = await stepOf(journey, state, user);
    if (step.factor === factor || !step.others.includes(factor)) return undefined;
    if (factor === 'totp') {
      const { factor: _chosen, ...rest } = state;
      await save(journey, rest);
      return undefined;
    }
    const chosen: SignInState = { ...state, factor };
    await save(journey, chosen);
    return factor === 'email' && !state.emailCode ? mailCode(journey, chosen, user, source) : undefined;
  }

  /** "Send a new code" on the email page: within the cool-down and the cap, a new code replaces the last. */
  async function resend(journey: Journey, source: AttemptSource): Promise<SendOutcome | undefined> {
    const state = await pendingOf(journey);
    if (state.secondFactorAt !== undefined) return undefined;
    const user = await userOf(state.accountId);
    if ((await stepOf(journey, state, user)).factor !== 'email') return undefined;
    return mailCode(journey, state, user, source);
  }

  /**
   * Checks a code typed on the code, email code or registration page. `remember`: "don't
   * ask again on this device" was ticked (honoured only where the page offers it); `name`:
   * the name a registration gives the app.
   */
  async function code(
    journey: Journey,
    input: string,
    source: AttemptSource,
    { remember = false, name = '' }: { remember?: boolean; name?: string } = {},
  ): Promise<CodeOutcome> {
    const state = await pendingOf(journey);
    // Passed already, and the backup codes are on screen: show them again.
    if (state.secondFactorAt !== undefined) return { kind: 'page' };
    const user = await userOf(state.accountId);
    if (input.trim() === '') return { kind: 'retry', reason: 'empty' };
    const step = await stepOf(journey, state, user);
    // This page was a registration, and another finished first: ask for that factor's code.
    if (!step.registering && state.sealedEnrollment) return registeredElsewhere(journey, state);
    if (step.factor === 'email') return emailCode(journey, state, user, step, input, source, remember);
    if (!step.registering) {
      const outcome = await deps.secondFactor.verify(user, input, source, { finishes: !step.proving });
      return verified(journey, state, user, step, outcome, source, remember);
    }
    if (!state.sealedEnrollment)
      throw new AppError('sign_in_expired', 'This sign-in has expired or was already finished. Start again from the application.');
    const outcome = await deps.secondFactor.register(user, state.sealedEnrollment, input, source, { name });
    return registered(journey, state, user, outcome, 'totp', source);
  }

  /**
   * Checks the browser's answer on the security key page: a sign-in with a registered key,
   * or the registration of a new one named `name`. The challenge the page issued is taken
   * from the sign-in before the answer is checked: each answers once.
   */
  async function key(journey: Journey, answer: unknown, name: string, source: AttemptSource, remember = false): Promise<CodeOutcome> {
    const state = await pendingOf(journey);
    if (state.secondFactorAt !== undefined) return { kind: 'page' };
    const user = await userOf(state.accountId);
    const step = await stepOf(journey, state, user);
    const { keyChallenge: challenge, ...rest } = state;
    if (step.factor !== 'webauthn' || challenge === undefined)
      throw new AppError('invalid_request', 'This step of the sign-in is not the current one. Start again from the application.');
    await save(journey, rest);
    if (step.registering) {
      const outcome = await deps.secondFactor.registerKey(user, answer, challenge, name, source);
      return registered(journey, rest, user, outcome, 'webauthn', source);
    }
    const outcome = await deps.secondFactor.verifyKey(user, answer, challenge, source);
    return verified(journey, rest, user, step, outcome, source, remember);
  }

  async function emailCode(
    journey: Journey,
    state: SignInState,
    user: UserRecord,
    step: Step,
    input: string,
    source: AttemptSource,
    remember: boolean,
  ) {
    const check = { sent: state.emailCode, matches: deps.emailCodes.matches };
    if (step.registering) {
      const outcome = await deps.secondFactor.registerEmail(user, input, check, source);
      return registered(journey, state, user, outcome, 'email', source);
    }
    return verified(journey, state, user, step, await deps.secondFactor.verifyEmail(user, input, check, source), source, remember);
  }

  /** What a checked code of a registered factor leads to. */
  async function verified(
    journey: Journey,
    state: SignInState,
    user: UserRecord,
    step: Step,
    outcome: FactorOutcome,
    source: AttemptSource,
    remember: boolean,
  ): Promise<CodeOutcome> {
    const checked = { as: 'verify' as const, result: outcome.result, user: user.id };
    if (outcome.result === 'locked') return { kind: 'retry' as const, reason: 'locked' as const, checked };
    if (outcome.result === 'expired') return { kind: 'retry' as const, reason: 'expired' as const, checked };
    if (outcome.result === 'cloned') return { kind: 'retry' as const, reason: 'key_cloned' as const, checked };
    if (outcome.result !== 'passed' && step.factor === 'webauthn')
      return { kind: 'retry' as const, reason: 'key_refused' as const, checked };
    if (outcome.result !== 'passed')
      return {
        kind: 'retry' as const,
        reason: 'wrong' as const,
        triesLeft: await triesLeft('failures' in outcome ? outcome.failures : undefined),
        byEmail: step.factor === 'email',
        checked,
      };
    const { emailCode: _used, ...rest } = state;
    // Ticked where the page offered it: the browser is remembered when the sign-in finishes.
    const remembering = remember && rememberDaysOf(journey, step) > 0;
    if (step.proving && outcome.method !== 'backup_code') {
      // The user's own factor passed: now the one this application accepts is added.
      const { factor: _chosen, ...proven } = rest;
      await save(journey, { ...proven, proven: true });
      return { kind: 'page', checked };
    }
    if (outcome.method === 'backup_code') {
      // Say how many are left before going on (read before this one was used).
      const left = Math.max(0, (user.mfa.backupCodes?.hashes.length ?? 1) - 1);
      await save(journey, {
        ...rest,
        secondFactorAt: nowSeconds(),
        backupCodesLeft: left,
        passedWith: 'backup_code',
        ...(remembering ? { remember: true as const } : {}),
      });
      return { kind: 'page' as const, checked };
    }
    const recorded = outcome.signedIn === true;
    const presented = { method: outcome.method, at: nowSeconds(), userVerified: outcome.userVerified === true, remember: remembering };
    return { ...(await finish(journey, rest, presented, source, recorded)), checked };
  }

  /** What a registration's code leads to: the backup codes page, or the code of a factor registered elsewhere. */
  async function registered(
    journey: Journey,
    state: SignInState,
    user: UserRecord,
    outcome: RegisterOutcome,
    factor: FactorKind,
    source: AttemptSource,
  ): Promise<CodeOutcome> {
    const checked = { as: 'register' as const, result: outcome.result, user: user.id };
    switch (outcome.result) {
      case 'registered': {
        const method = outcome.method ?? methodsOfFactor(factor)[0]!;
        return { ...(await afterRegistration(journey, state, method, source, outcome.userVerified === true)), checked };
      }
      case 'already_registered':
        if (factor === 'webauthn') return { kind: 'retry', reason: 'key_not_added', checked };
        return factor === 'email'
          ? { ...(await afterRegistration(journey, state, factor, source, false)), checked }
          : { ...(await registeredElsewhere(journey, state)), checked };
      case 'locked':
        return { kind: 'retry', reason: 'locked', checked };
      case 'expired':
        return { kind: 'retry', reason: 'expired', checked };
      case 'cloned':
        return { kind: 'retry', reason: 'key_cloned', checked };
      default:
        if (factor === 'webauthn') return { kind: 'retry', reason: 'key_refused', checked };
        return { kind: 'retry', reason: 'wrong', triesLeft: await triesLeft(outcome.failures), byEmail: factor === 'email', checked };
    }
  }

  /** Wrong codes still allowed before the lock, when that is 2 or fewer (the page warns then). */
  async function triesLeft(failures: number | undefined): Promise<number | undefined> {
    if (failures === undefined || failures === 0) return undefined;
    const left = (await deps.settings.get()).maxAttempts - failures;
    return left > 0 && left <= 2 ? left : undefined;
  }

  async function registeredElsewhere(journey: Journey, state: SignInState): Promise<CodeOutcome> {
    const { sealedEnrollment: _dropped, ...rest } = state;
    await save(journey, rest);
    return { kind: 'retry', reason: 'registered_elsewhere' };
  }

  /**
   * After a registration (which presented `method`; `userVerified`: a key that verified its
   * user): the backup codes are shown once before the sign-in goes on.
   */
  async function afterRegistration(
    journey: Journey,
    state: SignInState,
    method: AuthMethod,
    source: AttemptSource,
    userVerified: boolean,
  ): Promise<CodeOutcome> {
    const codes = await deps.secondFactor.issueBackupCodes(state.accountId, source);
    const { sealedEnrollment: _done, emailCode: _used, factor: _chosen, keyChallenge: _answered, ...rest } = state;
    await save(journey, {
      ...rest,
      secondFactorAt: nowSeconds(),
      passedWith: method as NonNullable<SignInState['passedWith']>,
      ...(userVerified ? { passedVerified: true as const } : {}),
      ...(codes ? { sealedBackupCodes: deps.keyring.seal(JSON.stringify(codes), BACKUP_CODES_PURPOSE) } : {}),
    });
    return { kind: 'page' };
  }

  /** The person saw the backup codes: the sign-in goes on. */
  async function proceed(journey: Journey, source: AttemptSource): Promise<Finished> {
    const state = await pendingOf(journey);
    assertThat(
      state.secondFactorAt !== undefined,
      'invalid_request',
      'This step of the sign-in is not the current one. Start again from the application.',
    );
    const presented = {
      method: state.passedWith ?? 'totp',
      at: state.secondFactorAt,
      userVerified: state.passedVerified === true,
      remember: state.remember === true,
    };
    return finish(journey, state, presented, source);
  }

  /**
   * What this sign-in presented: after a password in it, both methods and a new login; in
   * a session that had its password already (step-up, an expired second factor), the
   * second factor alone: the password was not asked again. A key that verified its user
   * says so (`user`, at the key's time). `recorded`: the code's own writes recorded the
   * sign-in already (the user's `lastLogin`, `signin.succeeded`).
   */
  async function finish(
    journey: Journey,
    state: SignInState,
    presented: { method: AuthMethod; at: number; userVerified: boolean; remember?: boolean },
    source: AttemptSource,
    recorded = false,
  ): Promise<Finished> {
    const { method, at } = presented;
    const { accountId, passwordAt } = state;
    journey.state = Promise.resolve(undefined);
    await Promise.all([
      deps.state.drop(journey.id),
      ...(recorded ? [] : [recordSignIn(accountId, source, true), signedIn(accountId, method, source)]),
    ]);
    const methods: MethodTimes = {
      ...(passwordAt === undefined ? {} : { pwd: passwordAt }),
      [method]: at,
      ...(presented.userVerified ? { user: at } : {}),
    };
    const remembered = presented.remember ? await remember(journey, accountId, source) : undefined;
    return { kind: 'finished', accountId, methods, login: passwordAt !== undefined, ...(remembered ? { remembered } : {}) };
  }

  return {
    acceptedFor,
    decide,
    password,
    passkeyAllowed,
    passkeyOffer,
    passkey,
    awaitsSecondFactor,
    factorPage,
    choose,
    resend,
    code,
    key,
    proceed,
    abandon: (journeyId: string) => deps.state.drop(journeyId),
  };
}

export type SignInJourney = ReturnType<typeof createSignInJourney>;
