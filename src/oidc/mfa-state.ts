import { z } from 'zod';
import { authMethods, type MethodTimes } from '../domain/authentication.ts';
import type { OidcStateStore } from '../stores/types.ts';

/**
 * Second-factor state kept in the protocol store (Redis), next to the engine's own:
 *  - per sign-in (interaction uid): the account whose password was accepted while the
 *    second factor is pending, the sealed secret of a registration in progress, and the
 *    sealed backup codes shown after a registration until the person continues. It
 *    expires with the interaction, so an abandoned registration leaves nothing behind;
 *  - per session (session uid): for which account, and when each method (password, TOTP,
 *    backup code) was last presented in it. A later password-only login of the same
 *    account moves the password's time only: the second factor's stays where it was, so
 *    the session is neither downgraded nor credited with a factor it did not present;
 *    `mfa_max_age` is measured from the second factor's time.
 *  - per sign-in, for a day: its application, so an expired sign-in links back to it.
 * All are read back through a schema, as any stored input.
 */
const signInSchema = z.strictObject({
  accountId: z.string().min(1),
  passwordAt: z.number().int().optional(),
  sealedEnrollment: z.string().optional(),
  /** The second factor passed in this sign-in (epoch seconds); the backup codes are shown before it ends. */
  secondFactorAt: z.number().int().optional(),
  /** The new backup codes, sealed, until the person has seen them and continues. */
  sealedBackupCodes: z.string().optional(),
  backupCodesLeft: z.number().int().min(0).optional(),
  /** Email codes or a security key were chosen in this sign-in: to register, or instead of the app. */
  factor: z.enum(['email', 'webauthn']).optional(),
  /** The WebAuthn challenge the key page of this sign-in issued, checked once. */
  keyChallenge: z
    .string()
    .regex(/^[\w-]{16,128}$/)
    .optional(),
  /** The code mailed in this sign-in: its id, keyed hash and times (epoch seconds). */
  emailCode: z
    .strictObject({ id: z.string().min(1), hash: z.string().min(1), sentAt: z.number().int(), expiresAt: z.number().int() })
    .optional(),
  /** What passed the second factor in this sign-in, until the page after it is seen. */
  passedWith: z.enum(['totp', 'email', 'backup_code', 'hwk', 'swk']).optional(),
  /** The key that passed it verified its user. */
  passedVerified: z.literal(true).optional(),
  /** "Don't ask again on this device" was ticked. */
  remember: z.literal(true).optional(),
  /** The user's own factor passed in this sign-in, before another is added. */
  proven: z.literal(true).optional(),
});
const epochSeconds = z.number().int().nonnegative();
// Only the methods twofold knows: any other key refuses the record.
const methodTimesSchema = z.partialRecord(z.enum(authMethods), epochSeconds);
const sessionSchema = z.strictObject({ accountId: z.string().min(1), methods: methodTimesSchema });
const originSchema = z.strictObject({ clientId: z.string().min(1) });
const challengeSchema = z.strictObject({ challenge: z.string().regex(/^[\w-]{16,128}$/) });
/** What a refused form leaves for the page it redirects to (post/redirect/get), read once. */
const flashSchema = z.strictObject({
  error: z.string().optional(),
  notice: z.string().optional(),
  status: z.number().int().min(200).max(599).optional(),
  username: z.string().optional(),
  retryAfter: z.number().int().optional(),
});
export type Flash = z.infer<typeof flashSchema>;

// Long after a sign-in has expired, its page can still link back to its application.
const ORIGIN_TTL_SECONDS = 86_400;

export type SignInState = z.infer<typeof signInSchema>;
export type SessionAuthentication = z.infer<typeof sessionSchema>;

/** Keeps only the methods that were presented (zod's optional keys may be present and undefined). */
export const definedMethods = (methods: MethodTimes): MethodTimes =>
  Object.fromEntries(Object.entries(methods).filter(([, at]) => at !== undefined)) as MethodTimes;

export function createMfaState(oidc: OidcStateStore, sessionTtl: number) {
  const signIns = oidc.adapterFor('TwofoldSignIn');
  const sessions = oidc.adapterFor('TwofoldSessionAuth');
  const origins = oidc.adapterFor('TwofoldSignInOrigin');
  const flashes = oidc.adapterFor('TwofoldFlash');
  const challenges = oidc.adapterFor('TwofoldPasskeyChallenge');
  const read = async <T>(schema: z.ZodType<T>, found: Promise<Record<string, unknown> | undefined>) => {
    const payload = await found;
    if (!payload) return undefined;
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : undefined;
  };
  return {
    signIn: {
      get: (uid: string) => read(signInSchema, signIns.find(uid)),
      put: (uid: string, state: SignInState, expiresIn: number) => signIns.upsert(uid, { ...state }, Math.max(1, expiresIn)),
      drop: (uid: string) => signIns.destroy(uid),
      putChallenge: (uid: string, challenge: string, expiresIn: number) => challenges.upsert(uid, { challenge }, Math.max(1, expiresIn)),
      async takeChallenge(uid: string): Promise<string | undefined> {
        const found = await read(challengeSchema, challenges.find(uid));
        if (found) await challenges.destroy(uid);
        return found?.challenge;
      },
    },
    session: {
      get: (sessionUid: string) => read(sessionSchema, sessions.find(sessionUid)),
      put: (sessionUid: string, state: SessionAuthentication) =>
        sessions.upsert(sessionUid, { accountId: state.accountId, methods: definedMethods(state.methods) }, sessionTtl),
      drop: (sessionUid: string) => sessions.destroy(sessionUid),
    },
    /** The outcome of a refused form, for the next view of its page only. */
    flash: {
      put: (uid: string, flash: Flash, expiresIn: number) => flashes.upsert(uid, { ...flash }, Math.max(1, expiresIn)),
      async take(uid: string): Promise<Flash> {
        const flash = await read(flashSchema, flashes.find(uid));
        if (flash) await flashes.destroy(uid);
        return flash ?? {};
      },
    },
    /** Which application a sign-in (interaction uid) was for, kept a day. */
    origin: {
      get: async (uid: string) => (await read(originSchema, origins.find(uid)))?.clientId,
      put: (uid: string, clientId: string) => origins.upsert(uid, { clientId }, ORIGIN_TTL_SECONDS),
    },
  };
}

export type MfaState = ReturnType<typeof createMfaState>;
