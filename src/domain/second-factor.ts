import { createHash, randomBytes } from 'node:crypto';
import type {
  AttemptLimits,
  AttemptResult,
  AuditEvent,
  AuditLog,
  AuditType,
  SecondFactorGuard,
  TotpDevice,
  UserRecord,
  UserStore,
  WebAuthnKey,
} from '../domain/ports.ts';
import { BACKUP_CODE_PURPOSE, generateBackupCodes, hashBackupCode, normalizeBackupCode } from './backup-codes.ts';
import type { Clock } from './clock.ts';
import type { DataKeyring } from './data-key.ts';
import { EMAIL_CODE_SECONDS, type SentCode } from './email-codes.ts';
import { registeredFactors, type FactorKind } from './factors.ts';
import type { SettingsService } from './settings.ts';
import { generateSecret, isTotpShaped, learnDrift, matchStep, normalizeCode, stepAt } from './totp.ts';
import type { WebAuthnCeremonies } from './webauthn.ts';
import { AppError } from './errors.ts';

export const TOTP_SECRET_PURPOSE = 'totp-secret';
export const ENROLLMENT_PURPOSE = 'totp-enrollment';

/** What one code did. "No device" and "wrong" look the same to the user; the audit log tells them apart. */
export type CodeOutcome =
  /**
   * `signedIn`: the sign-in this code finished is recorded already (see `verify`);
   * `userVerified`: a key whose authenticator verified its user.
   */
  | { result: 'passed'; method: 'totp' | 'email' | 'backup_code' | 'hwk' | 'swk'; signedIn?: true; userVerified?: true }
  /** A security key signed right, but its counter went back: a copy of it (refused, audited). */
  | { result: 'cloned' }
  /** The mailed code, right but past its 10 minutes (not counted as a wrong code). */
  | { result: 'expired' }
  | { result: 'wrong' | 'replayed'; failures: number }
  /** `until`: epoch ms, or null when only an administrator can unlock. */
  | { result: 'locked'; until: number | null }
  | { result: 'no_device' };

/** `method`: what the registration presented, when not the factor's one method (a key: `hwk` or `swk`). */
export type RegisterOutcome =
  | { result: 'registered'; method?: 'hwk' | 'swk'; userVerified?: true }
  | { result: 'already_registered' }
  | Exclude<CodeOutcome, { result: 'passed' | 'no_device' }>;

/** The session method a key presents: bound to one device (`hwk`), or a passkey that may be synced (`swk`). */
const keyMethod = (key: Pick<WebAuthnKey, 'deviceType'>) => (key.deviceType === 'multiDevice' ? ('swk' as const) : ('hwk' as const));

/** The name of an app registered without one (the user may rename it). */
export const FIRST_APP_NAME = 'Authenticator app';

/** An authenticator's name as the user gave it: trimmed, without control characters, at most 64 characters. */
export function keyName(input: string): string | undefined {
  const name = input.trim().replace(/\s+/g, ' ');
  return /^[^\p{Cc}]{1,64}$/u.test(name) ? name : undefined;
}

/** How long a WebAuthn challenge stays claimed once answered (longer than any sign-in). */
const CHALLENGE_CLAIM_SECONDS = 3600;

/** What checking a mailed code needs: the code sent, and whether it is right. */
export interface EmailCodeCheck {
  sent: SentCode | undefined;
  matches: (sent: SentCode, input: string) => boolean;
}

type Refusal = Exclude<AttemptResult, { outcome: 'passed' | 'reserved' }>;
const isRefusal = (attempt: AttemptResult): attempt is Refusal => attempt.outcome !== 'passed' && attempt.outcome !== 'reserved';

/** Where an attempt came from, for the audit log. */
export interface AttemptSource {
  /** The application the attempt was for (an OIDC client_id, or a SAML application's id). */
  clientId?: string | undefined;
  protocol?: 'oidc' | 'saml' | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** The sign-in of an application succeeded: the event every protocol's sign-in writes. */
export const signedInEvent = (at: Date, userId: string, factor: string, source: AttemptSource): AuditEvent => ({
  at,
  type: 'signin.succeeded',
  outcome: 'success',
  userId,
  factor,
  ...source,
});

/**
 * Registration and verification of the second factor. Every attempt goes through the
 * guard as one atomic step (lock check, wrong-code count, step claim), then through the
 * user store's own atomic update: a code replayed or sent twice at once passes at most
 * once, and parallel guesses cannot pass the lockout.
 */
export function createSecondFactorService(deps: {
  users: UserStore;
  guard: SecondFactorGuard;
  keyring: DataKeyring;
  clock: Clock;
  settings: SettingsService;
  audit: AuditLog;
  /** The WebAuthn ceremonies, when the issuer can be a relying party; absent, no key is offered or accepted. */
  keys?: WebAuthnCeremonies | undefined;
}) {
  const { users, guard, keyring, clock } = deps;

  function ceremonies(): WebAuthnCeremonies {
    if (!deps.keys) throw new AppError('invalid_request', 'Security keys cannot be used at this address.');
    return deps.keys;
  }

  async function limits(): Promise<AttemptLimits & { skewSteps: number }> {
    const settings = await deps.settings.get();
    return { maxAttempts: settings.maxAttempts, lockoutSeconds: settings.lockoutSeconds, skewSteps: settings.skewSteps, now: clock.now() };
  }

  async function audit(type: AuditType, userId: string, source: AttemptSource, outcome: 'success' | 'failure', reason?: string) {
    await deps.audit.record({ at: new Date(clock.now()), type, outcome, userId, ...source, ...(reason ? { reason } : {}) });
  }

  /** A factor was registered: the event says which (the notification it mails does too). */
  const registeredEvent = (userId: string, factor: FactorKind, source: AttemptSource) =>
    deps.audit.record({ at: new Date(clock.now()), type: 'mfa.registered', outcome: 'success', userId, factor, ...source });

  /** Turns a refused attempt into its outcome, recording it (and a lock it caused). */
  async function refused(attempt: Refusal, userId: string, source: AttemptSource) {
    if (attempt.outcome === 'locked') {
      if (attempt.justNow) await users.setLock(userId, { until: attempt.until === null ? null : new Date(attempt.until) });
      await audit('mfa.refused', userId, source, 'failure', 'locked');
      if (attempt.justNow) await audit('mfa.locked', userId, source, 'success');
      return { result: 'locked' as const, until: attempt.until };
    }
    await audit('mfa.refused', userId, source, 'failure', attempt.outcome);
    return { result: attempt.outcome, failures: attempt.failures };
  }

  /**
   * The user's app whose code this is, and its time step: each app is tried in turn (at
   * most TOTP_APPS_MAX). Steps already used still match here: the guard refuses them as
   * replays.
   */
  function matchingApp(user: UserRecord, code: string, nowStep: number, skewSteps: number) {
    for (const app of user.mfa.apps ?? []) {
      const secret = Buffer.from(keyring.open(app.sealedSecret, TOTP_SECRET_PURPOSE), 'base64');
      const step = matchStep(secret, code, { nowStep, drift: app.drift, skewSteps, lastStep: -1 });
      if (step !== null) return { app, step };
    }
    return undefined;
  }

  async function verifyTotp(user: UserRecord, code: string, source: AttemptSource, finishes: boolean): Promise<CodeOutcome> {
    const limit = await limits();
    const nowStep = stepAt(limit.now);
    const matched = matchingApp(user, code, nowStep, limit.skewSteps);
    const attempt = await guard.attemptStep(user.id, matched?.step ?? null, matched?.app.lastStep ?? 0, limit);
    if (isRefusal(attempt)) return refused(attempt, user.id, source);
    // Only a step that matched passes the guard.
    const { app: device, step } = matched!;
    const offset = step - nowStep;
    const at = new Date(limit.now);
    const accepted = await users.acceptStep(user.id, device.id, {
      step,
      drift: learnDrift(device, offset),
      lastOffset: offset,
      at,
      ...(finishes ? { signedIn: source } : {}),
    });
    if (!accepted) return refused({ outcome: 'replayed', failures: 0 }, user.id, source);
    const passed: AuditEvent = { at, type: 'mfa.passed', outcome: 'success', userId: user.id, ...source, reason: 'totp' };
    if (!finishes) {
      await deps.audit.record(passed);
      return { result: 'passed', method: 'totp' };
    }
    await deps.audit.record(passed, signedInEvent(at, user.id, 'totp', source));
    return { result: 'passed', method: 'totp', signedIn: true };
  }

  async function verifyBackupCode(user: UserRecord, canonical: string, source: AttemptSource): Promise<CodeOutcome> {
    const limit = await limits();
    const reserved = await guard.reserve(user.id, limit);
    if (isRefusal(reserved)) return refused(reserved, user.id, source);
    const codes = user.mfa.backupCodes;
    const used = codes
      ? await users.useBackupCode(user.id, hashBackupCode(keyring.derive(BACKUP_CODE_PURPOSE, codes.kid).key, canonical))
      : false;
    const settled = await guard.settle(user.id, used, limit);
    // A right code reserved its attempt before any lock: it was used, so it passes.
    if (!used) return refused(isRefusal(settled) ? settled : { outcome: 'wrong', failures: 0 }, user.id, source);
    await audit('mfa.backup_code_used', user.id, source, 'success');
    await audit('mfa.passed', user.id, source, 'success', 'backup_code');
    return { result: 'passed', method: 'backup_code' };
  }

  /**
   * A mailed code: an attempt is reserved (refused while locked), the code compared, then
   * claimed once across nodes by its id (of two submissions at once, one passes), and the
   * attempt settled, so wrong codes count toward the same lockout as the app's.
   */
  async function checkEmailCode(user: UserRecord, code: string, check: EmailCodeCheck, source: AttemptSource): Promise<CodeOutcome> {
    const limit = await limits();
    const { sent } = check;
    const right = sent !== undefined && check.matches(sent, code);
    if (right && sent.expiresAt * 1000 <= limit.now) {
      await audit('mfa.refused', user.id, source, 'failure', 'expired');
      return { result: 'expired' };
    }
    const reserved = await guard.reserve(user.id, limit);
    if (isRefusal(reserved)) return refused(reserved, user.id, source);
    const passed = right && (await guard.acquire(`email-code:${sent.id}`, EMAIL_CODE_SECONDS));
    const settled = await guard.settle(user.id, passed, limit);
    if (!passed) return refused(isRefusal(settled) ? settled : { outcome: right ? 'replayed' : 'wrong', failures: 0 }, user.id, source);
    return { result: 'passed', method: 'email' };
  }

  /**
   * The start of a security key's answer: refused while locked, an attempt reserved as for
   * a code, and the challenge claimed once across nodes (`fresh`: this is its first answer).
   */
  async function keyAttempt(user: UserRecord, challenge: string, source: AttemptSource) {
    const locked = storedLock(user, clock.now());
    if (locked) return refused(locked, user.id, source);
    const limit = await limits();
    const reserved = await guard.reserve(user.id, limit);
    if (isRefusal(reserved)) return refused(reserved, user.id, source);
    return { limit, fresh: await guard.acquire(`webauthn:${challenge}`, CHALLENGE_CLAIM_SECONDS) };
  }

  /** An enrollment adds one app, however many of its codes are sent: the first to claim it, across nodes. */
  const claimEnrollment = (sealed: string) =>
    guard.acquire(`enrolled:${createHash('sha256').update(sealed).digest('base64url')}`, CHALLENGE_CLAIM_SECONDS);

  /** The lock the user document holds, if it still holds at `now` (epoch ms). */
  const storedLock = (user: UserRecord, now: number): Extract<Refusal, { outcome: 'locked' }> | null => {
    const lock = user.mfa.lock;
    if (!lock || (lock.until !== null && lock.until.getTime() <= now)) return null;
    return { outcome: 'locked', until: lock.until === null ? null : lock.until.getTime() };
  };

  return {
    /** A fresh 160-bit secret for a registration, sealed for keeping with the sign-in. */
    newEnrollment(): { secret: Buffer; sealed: string } {
      const secret = generateSecret();
      return { secret, sealed: keyring.seal(secret.toString('base64'), ENROLLMENT_PURPOSE) };
    },

    openEnrollment(sealed: string): Buffer {
      return Buffer.from(keyring.open(sealed, ENROLLMENT_PURPOSE), 'base64');
    },

    /**
     * Checks a code typed on the code page: a current TOTP code or an unused backup code,
     * in any case, with or without dashes and spaces. Anything else is a wrong code.
     * `finishes`: a passing app code finishes a sign-in; then the sign-in is recorded with
     * the code (the user record's `lastLogin` in the step's update, `signin.succeeded` in the
     * same insert as `mfa.passed`) and the outcome says `signedIn`.
     */
    async verify(user: UserRecord, input: string, source: AttemptSource, { finishes = false } = {}): Promise<CodeOutcome> {
      if (registeredFactors(user).length === 0) {
        await audit('mfa.refused', user.id, source, 'failure', 'no_device');
        return { result: 'no_device' };
      }
      const locked = storedLock(user, clock.now());
      if (locked) return refused(locked, user.id, source);
      const totp = normalizeCode(input);
      // Without an app, six digits are no code of the user's: a wrong one.
      if (isTotpShaped(totp) && user.mfa.apps?.length) return verifyTotp(user, totp, source, finishes);
      const backup = normalizeBackupCode(input);
      if (backup) return verifyBackupCode(user, backup, source);
      const attempt = await guard.attemptStep(user.id, null, 0, await limits());
      return refused(isRefusal(attempt) ? attempt : { outcome: 'wrong', failures: 0 }, user.id, source);
    },

    /**
     * Checks a code typed on the email code page: six digits are the code mailed in this
     * sign-in; anything else is checked as on the code page (a backup code, else wrong).
     */
    async verifyEmail(user: UserRecord, input: string, check: EmailCodeCheck, source: AttemptSource): Promise<CodeOutcome> {
      const code = normalizeCode(input);
      if (!isTotpShaped(code)) return this.verify(user, input, source);
      const locked = storedLock(user, clock.now());
      if (locked) return refused(locked, user.id, source);
      const outcome = await checkEmailCode(user, code, check, source);
      if (outcome.result === 'passed') {
        await users.emailFactorUsed(user.id, new Date(clock.now()));
        await audit('mfa.passed', user.id, source, 'success', 'email');
      }
      return outcome;
    },

    /**
     * Registers email codes when `input` is the code just mailed to the user's verified
     * address (which proves it receives them). Wrong codes count toward the lockout.
     */
    async registerEmail(user: UserRecord, input: string, check: EmailCodeCheck, source: AttemptSource): Promise<RegisterOutcome> {
      const locked = storedLock(user, clock.now());
      if (locked) return refused(locked, user.id, source);
      const outcome = await checkEmailCode(user, normalizeCode(input), check, source);
      if (outcome.result !== 'passed') return outcome as RegisterOutcome;
      // Registered already (another tab): the code proved the address all the same.
      if (!(await users.registerEmailFactor(user.id, new Date(clock.now())))) return { result: 'already_registered' };
      await registeredEvent(user.id, 'email', source);
      return { result: 'registered' };
    },

    /**
     * Stores the app, named `name`, when `input` is a current code of the enrollment
     * secret. Wrong codes count toward the lockout as on the code page. The accepted step
     * is stored as the app's last one, so the code used to register cannot sign in again.
     * During a sign-in it is the user's first app (of two registrations at once, one is
     * stored); `another`: an app added on the account page, beside those the user has,
     * each enrollment once.
     */
    async register(
      user: UserRecord,
      sealedEnrollment: string,
      input: string,
      source: AttemptSource,
      { name = '', another = false }: { name?: string; another?: boolean } = {},
    ): Promise<RegisterOutcome> {
      const locked = storedLock(user, clock.now());
      if (locked) return refused(locked, user.id, source);
      const secret = this.openEnrollment(sealedEnrollment);
      const limit = await limits();
      const nowStep = stepAt(limit.now);
      const step = matchStep(secret, normalizeCode(input), { nowStep, drift: 0, skewSteps: limit.skewSteps, lastStep: -1 });
      if (another) {
        // Counted as an attempt, but no time step of the user's is claimed: the code of an app
        // the user has, typed a moment before to confirm, may be of the same step.
        const reserved = await guard.reserve(user.id, limit);
        if (isRefusal(reserved)) return refused(reserved, user.id, source);
        const settled = await guard.settle(user.id, step !== null, limit);
        if (step === null) return refused(isRefusal(settled) ? settled : { outcome: 'wrong', failures: 0 }, user.id, source);
      } else {
        const attempt = await guard.attemptStep(user.id, step, -1, limit);
        if (isRefusal(attempt)) return refused(attempt, user.id, source);
      }
      // Two registrations of one user at once (two tabs): one is stored, the other refused.
      const hold = `register:${user.id}`;
      if (!(await guard.acquire(hold, 30))) return { result: 'already_registered' };
      try {
        const app: TotpDevice = {
          id: randomBytes(8).toString('hex'),
          name: keyName(name) ?? FIRST_APP_NAME,
          sealedSecret: keyring.seal(secret.toString('base64'), TOTP_SECRET_PURPOSE),
          registeredAt: new Date(limit.now),
          lastStep: step!,
          drift: 0,
          lastOffset: step! - nowStep,
        };
        const stored = another
          ? (await claimEnrollment(sealedEnrollment)) && (await users.addDevice(user.id, app))
          : await users.registerDevice(user.id, app);
        if (!stored) return { result: 'already_registered' };
      } finally {
        await guard.release(hold);
      }
      await registeredEvent(user.id, 'totp', source);
      return { result: 'registered' };
    },

    /**
     * A new set of backup codes for a user with a second factor, replacing any old set at once.
     * The codes are returned to be shown once; null when backup codes are switched off.
     */
    async issueBackupCodes(userId: string, source: AttemptSource, regenerated = false): Promise<string[] | null> {
      const { backupCodes } = await deps.settings.get();
      if (!backupCodes.enabled) return null;
      const codes = generateBackupCodes(backupCodes.count);
      const { kid, key } = keyring.derive(BACKUP_CODE_PURPOSE);
      const hashes = codes.map((code) => hashBackupCode(key, normalizeBackupCode(code)!));
      if (!(await users.setBackupCodes(userId, { kid, hashes, createdAt: new Date(clock.now()) }))) return null;
      if (regenerated) await audit('mfa.backup_codes_regenerated', userId, source, 'success');
      return codes;
    },

    /** Security keys can be used: the issuer can be a WebAuthn relying party. */
    keysOn: deps.keys !== undefined,

    /** Options for the browser to register a new security key or passkey (their challenge to keep with the sign-in). */
    keyCreation: (user: UserRecord) => ceremonies().creationOptions(user),

    /** Options for the browser to sign in with one of the user's keys. */
    keyRequest: (user: UserRecord) => ceremonies().requestOptions(user),

    /** Options for the login page's "Sign in with a passkey" (no user named, user verification required). */
    passkeyOptions: () => ceremonies().passkeyOptions(),

    /** The id of the user a passkey's answer names, unchecked: the answer is checked against that user's keys. */
    userIdOfAnswer: (answer: unknown) => ceremonies().userIdOfAnswer(answer),

    /**
     * Checks a sign-in with a security key: the answer to `challenge` (claimed once across
     * nodes) signed by one of the user's keys, whose counter then moves on in one
     * conditional update. A wrong answer counts toward the lockout as a wrong code does; a
     * right signature with a counter that went back is a copy of the key: refused and
     * audited as `mfa.key_cloned`. `passkey`: the key signs in instead of the password, so
     * its authenticator must have verified the user; an answer without that is refused.
     */
    async verifyKey(
      user: UserRecord,
      answer: unknown,
      challenge: string,
      source: AttemptSource,
      { passkey = false } = {},
    ): Promise<CodeOutcome> {
      const attempt = await keyAttempt(user, challenge, source);
      if ('result' in attempt) return attempt;
      const { limit, fresh } = attempt;
      const assertion = fresh ? await ceremonies().checkAssertion(answer, challenge, user) : undefined;
      const checked: typeof assertion =
        assertion?.ok && passkey && !assertion.userVerified ? { ok: false, reason: 'invalid', key: assertion.key } : assertion;
      const used =
        checked?.ok === true &&
        (await users.useWebAuthnKey(user.id, checked.key.id, { from: checked.key.counter, to: checked.counter, at: new Date(limit.now) }));
      const settled = await guard.settle(user.id, used, limit);
      if (checked?.ok === false && checked.reason === 'cloned') {
        // Recorded as a detection that happened (as a lock is), which is what a mail tells the user of.
        await audit('mfa.key_cloned', user.id, source, 'success', checked.key?.name);
        return { result: 'cloned' };
      }
      if (!used || !checked?.ok) {
        const outcome = !fresh || checked?.ok ? 'replayed' : 'wrong';
        return refused(isRefusal(settled) ? settled : { outcome, failures: 0 }, user.id, source);
      }
      const method = keyMethod(checked.key);
      await audit('mfa.passed', user.id, source, 'success', method);
      return { result: 'passed', method, ...(checked.userVerified ? { userVerified: true as const } : {}) };
    },

    /**
     * Registers a security key or passkey when `answer` is the browser's answer to
     * `challenge` (claimed once), for this origin and RP id, named `name`. A wrong answer
     * counts toward the lockout; the key must be new to the user (at most WEBAUTHN_KEYS_MAX).
     */
    async registerKey(user: UserRecord, answer: unknown, challenge: string, name: string, source: AttemptSource): Promise<RegisterOutcome> {
      const attempt = await keyAttempt(user, challenge, source);
      if ('result' in attempt) return attempt as RegisterOutcome;
      const { limit, fresh } = attempt;
      const checked = fresh ? await ceremonies().checkCreation(answer, challenge) : undefined;
      const settled = await guard.settle(user.id, checked?.ok === true, limit);
      if (!checked?.ok)
        return refused(isRefusal(settled) ? settled : { outcome: fresh ? 'wrong' : 'replayed', failures: 0 }, user.id, source);
      const key: WebAuthnKey = { ...checked.key, name: keyName(name) ?? 'Security key', addedAt: new Date(limit.now) };
      if (!(await users.addWebAuthnKey(user.id, key))) return { result: 'already_registered' };
      await registeredEvent(user.id, 'webauthn', source);
      return { result: 'registered', method: keyMethod(key), ...(checked.userVerified ? { userVerified: true as const } : {}) };
    },

    /** The user's lock now, from the guard or, should Redis have lost it, the user record at hand. */
    async lockOf(user: UserRecord): Promise<{ until: number | null } | null> {
      const now = clock.now();
      const inGuard = await guard.lockOf(user.id, now);
      if (inGuard) return inGuard;
      const stored = storedLock(user, now);
      return stored ? { until: stored.until } : null;
    },
  };
}

export type SecondFactorService = ReturnType<typeof createSecondFactorService>;
