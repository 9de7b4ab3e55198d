import { countAttempt } from './attempt-limits.ts';
import { secondFactorAt, type AuthMethod, type MethodTimes } from './authentication.ts';
import type { Clock } from './clock.ts';
import type { DataKeyring } from './data-key.ts';
import { AppError, assertThat } from './errors.ts';
import { decideMfa, type MfaDecision, type MfaPolicy } from './mfa-policy.ts';
import type { AuditLog, JourneyStateStore, RateLimiter, SignInState, UserRecord, UserStore } from './ports.ts';
import type { AttemptSource, SecondFactorService } from './second-factor.ts';
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
  /** The account the browser's session signed in already, when the step is the second factor alone. */
  sessionAccountId?: string | undefined;
  /** When each method was presented in the browser's session, for `sessionAccountId` or the password's account. */
  sessionMethods: (accountId: string) => Promise<MethodTimes>;
}

/** The sign-in is over: what it presented, for the door to hand to its protocol. */
export interface Finished {
  kind: 'finished';
  accountId: string;
  methods: MethodTimes;
  /** A password was presented in this sign-in (a new login), not only a second factor. */
  login: boolean;
}

export type PasswordOutcome =
  | { kind: 'refused'; reason: 'rate_limited'; per: 'per_ip' | 'per_account'; waitMs: number }
  | { kind: 'refused'; reason: 'unknown_user' | 'wrong_password' | 'disabled'; userId?: string | undefined }
  /** The password was right, but the application is for administrators only. */
  | { kind: 'refused'; reason: 'not_admin'; userId: string; username: string }
  | { kind: 'second_factor'; accountId: string }
  | Finished;

/** The page of the second-factor step. */
export type FactorPage =
  | { kind: 'backup_codes'; user: UserRecord; codes: string[] }
  /** A backup code signed in: how many are left (a new set is due when few are). */
  | { kind: 'backup_code_used'; user: UserRecord; left: number }
  | { kind: 'locked'; user: UserRecord; until: number | null }
  | { kind: 'code'; user: UserRecord; registeredElsewhere: boolean }
  | { kind: 'register'; user: UserRecord; secret: Buffer; uri: string; label: string; message: string | undefined };

/** What a code was checked as, and what came of it (for the log). */
export interface Checked {
  checked?: { as: 'verify' | 'register'; result: string; user: string };
}

export type CodeOutcome = Checked &
  (
    | { kind: 'retry'; reason: 'empty' | 'locked' | 'registered_elsewhere' }
    /** A wrong code; `triesLeft` before the lock, when a lock is that near. */
    | { kind: 'retry'; reason: 'wrong'; triesLeft?: number | undefined }
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

  /** Whether this user, at this application, for this request, needs the second factor now. */
  async function decide(
    user: UserRecord | null,
    app: AppPolicy,
    request: JourneyRequest,
    lastSecondFactorAt: number | undefined,
  ): Promise<MfaDecision> {
    if (!user) return { action: 'deny' };
    const settings = await deps.settings.get();
    return decideMfa({
      settings: { enabled: settings.enabled, defaultPolicy: settings.defaultPolicy },
      client: app,
      requestMaxAge: request.maxAge,
      user: { exempt: user.mfa.exempt, disabled: user.disabled, hasDevice: user.mfa.device !== undefined },
      stepUp: request.stepUp,
      lastSecondFactorAt: request.forced ? undefined : lastSecondFactorAt,
      now: nowSeconds(),
    });
  }

  /**
   * Counts this attempt against the client address and then the account (known or not):
   * the wait until another is allowed, or 0. Nothing about the password is checked first.
   */
  const rateLimited = (username: string, ip: string | undefined) =>
    countAttempt(deps.rateLimiter, deps.rateLimits, { kind: '', username, ip, now: deps.clock.now() });

  /** The sign-in of an application is complete: who, where, and the second factor it presented. */
  const signedIn = (userId: string, factor: AuthMethod | 'none', source: AttemptSource) =>
    deps.audit.record({ at: new Date(deps.clock.now()), type: 'signin.succeeded', outcome: 'success', userId, factor, ...source });

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
    const result = await deps.userService.verifyPassword(username, secret);
    if (!result.ok) {
      await deps.audit.record({
        at: at(),
        type: 'password.refused',
        outcome: 'failure',
        reason: result.reason,
        ...(result.userId ? { userId: result.userId } : {}),
        ...source,
      });
      if (result.userId) await recordSignIn(result.userId, source, false);
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
    const decision = await decide(user, journey.app, journey.request, secondFactorAt(known));
    const passwordAt = nowSeconds();
    if (decision.action === 'deny') return { kind: 'refused', reason: 'disabled', userId: user.id };
    if (decision.action === 'none') {
      await Promise.all([recordSignIn(user.id, source, true), signedIn(user.id, 'none', source)]);
      return { kind: 'finished', accountId: user.id, methods: { pwd: passwordAt }, login: true };
    }
    await recordSignIn(user.id, source, false);
    await deps.state.put(journey.id, { accountId: user.id, passwordAt }, journey.expiresIn);
    return { kind: 'second_factor', accountId: user.id };
  }

  /** Whether the password of this sign-in was accepted and its second factor is pending. */
  async function awaitsSecondFactor(journeyId: string): Promise<boolean> {
    return (await deps.state.get(journeyId))?.passwordAt !== undefined;
  }

  /**
   * Whose second factor this sign-in asks for (after its password, or in a session that has
   * one), with the state kept for it so far.
   */
  async function pendingOf(journey: Journey): Promise<SignInState> {
    const state = await deps.state.get(journey.id);
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
  async function factorPage(journey: Journey): Promise<FactorPage> {
    const state = await pendingOf(journey);
    const user = await userOf(state.accountId);
    if (state.secondFactorAt !== undefined && state.backupCodesLeft !== undefined) {
      return { kind: 'backup_code_used', user, left: state.backupCodesLeft };
    }
    if (state.secondFactorAt !== undefined) {
      const codes = state.sealedBackupCodes
        ? (JSON.parse(deps.keyring.open(state.sealedBackupCodes, BACKUP_CODES_PURPOSE)) as string[])
        : [];
      return { kind: 'backup_codes', user, codes };
    }
    const lock = await deps.secondFactor.lockOf(user);
    if (lock) return { kind: 'locked', user, until: lock.until };
    if (user.mfa.device) return { kind: 'code', user, registeredElsewhere: state.sealedEnrollment !== undefined };
    let sealed = state.sealedEnrollment;
    if (!sealed) {
      sealed = deps.secondFactor.newEnrollment().sealed;
      await deps.state.put(journey.id, { ...state, sealedEnrollment: sealed }, journey.expiresIn);
      await deps.users.markRegistrationPending(state.accountId, new Date(deps.clock.now()));
    }
    const secret = deps.secondFactor.openEnrollment(sealed);
    const settings = await deps.settings.get();
    const uri = otpauthUri({ secret, label: settings.issuerLabel, account: user.username });
    return { kind: 'register', user, secret, uri, label: settings.issuerLabel, message: settings.registrationMessage };
  }

  /** Checks a code typed on the code or registration page. */
  async function code(journey: Journey, input: string, source: AttemptSource): Promise<CodeOutcome> {
    const state = await pendingOf(journey);
    // Passed already, and the backup codes are on screen: show them again.
    if (state.secondFactorAt !== undefined) return { kind: 'page' };
    const user = await userOf(state.accountId);
    if (input.trim() === '') return { kind: 'retry', reason: 'empty' };
    // This page was a registration, and another finished first: ask for that app's code.
    if (user.mfa.device && state.sealedEnrollment) return registeredElsewhere(journey, state);
    if (user.mfa.device) {
      const outcome = await deps.secondFactor.verify(user, input, source);
      const checked = { as: 'verify' as const, result: outcome.result, user: user.id };
      if (outcome.result === 'locked') return { kind: 'retry', reason: 'locked', checked };
      if (outcome.result !== 'passed')
        return {
          kind: 'retry',
          reason: 'wrong',
          triesLeft: await triesLeft('failures' in outcome ? outcome.failures : undefined),
          checked,
        };
      if (outcome.method === 'backup_code') {
        // Say how many are left before going on (read before this one was used).
        const left = Math.max(0, (user.mfa.backupCodes?.hashes.length ?? 1) - 1);
        await deps.state.put(journey.id, { ...state, secondFactorAt: nowSeconds(), backupCodesLeft: left }, journey.expiresIn);
        return { kind: 'page', checked };
      }
      return { ...(await finish(journey, state, outcome.method, nowSeconds(), source)), checked };
    }
    if (!state.sealedEnrollment)
      throw new AppError('sign_in_expired', 'This sign-in has expired or was already finished. Start again from the application.');
    const outcome = await deps.secondFactor.register(user, state.sealedEnrollment, input, source);
    const checked = { as: 'register' as const, result: outcome.result, user: user.id };
    switch (outcome.result) {
      case 'registered':
        return { ...(await afterRegistration(journey, state, source)), checked };
      case 'already_registered':
        return { ...(await registeredElsewhere(journey, state)), checked };
      case 'locked':
        return { kind: 'retry', reason: 'locked', checked };
      default:
        return { kind: 'retry', reason: 'wrong', triesLeft: await triesLeft(outcome.failures), checked };
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
    await deps.state.put(journey.id, rest, journey.expiresIn);
    return { kind: 'retry', reason: 'registered_elsewhere' };
  }

  /** After a registration: the backup codes are shown once before the sign-in goes on. */
  async function afterRegistration(journey: Journey, state: SignInState, source: AttemptSource): Promise<CodeOutcome> {
    const codes = await deps.secondFactor.issueBackupCodes(state.accountId, source);
    const { sealedEnrollment: _done, ...rest } = state;
    await deps.state.put(
      journey.id,
      {
        ...rest,
        secondFactorAt: nowSeconds(),
        ...(codes ? { sealedBackupCodes: deps.keyring.seal(JSON.stringify(codes), BACKUP_CODES_PURPOSE) } : {}),
      },
      journey.expiresIn,
    );
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
    return finish(journey, state, state.backupCodesLeft !== undefined ? 'backup_code' : 'totp', state.secondFactorAt, source);
  }

  /**
   * What this sign-in presented: after a password in it, both methods and a new login; in
   * a session that had its password already (step-up, an expired second factor), the
   * second factor alone: the password was not asked again.
   */
  async function finish(journey: Journey, state: SignInState, method: AuthMethod, at: number, source: AttemptSource): Promise<Finished> {
    const { accountId, passwordAt } = state;
    await Promise.all([deps.state.drop(journey.id), recordSignIn(accountId, source, true), signedIn(accountId, method, source)]);
    const methods: MethodTimes = passwordAt === undefined ? { [method]: at } : { pwd: passwordAt, [method]: at };
    return { kind: 'finished', accountId, methods, login: passwordAt !== undefined };
  }

  return { decide, password, awaitsSecondFactor, factorPage, code, proceed, abandon: (journeyId: string) => deps.state.drop(journeyId) };
}

export type SignInJourney = ReturnType<typeof createSignInJourney>;
