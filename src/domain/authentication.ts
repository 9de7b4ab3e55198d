import { isWithin, maxAgeOf, type MfaDecision } from './mfa-policy.ts';

/**
 * What a sign-in session has proved, and when: per method, not one time for everything
 * (SPEC section 3.7). A password-only re-authentication moves the password's time and
 * leaves the second factor's where it was; anything that needs a "fresh second factor"
 * reads the second factor's time.
 */
export const authMethods = ['pwd', 'totp', 'backup_code'] as const;
export type AuthMethod = (typeof authMethods)[number];
export const secondFactorMethods: readonly AuthMethod[] = ['totp', 'backup_code'];

/** Epoch seconds of the last time each method was presented in one session. */
export type MethodTimes = Partial<Record<AuthMethod, number>>;

/** When a second factor (of any kind) was last presented, if ever. */
export function secondFactorAt(methods: MethodTimes): number | undefined {
  const times = secondFactorMethods.map((method) => methods[method]).filter((at): at is number => at !== undefined);
  return times.length ? Math.max(...times) : undefined;
}

/** The authentication a token reports: its level, its RFC 8176 methods and its time. */
export interface ReportedAuthentication {
  level: 'password' | 'mfa';
  amr: string[];
  /** Epoch seconds: for an MFA token, never later than the second factor it reports. */
  authTime: number;
}

/**
 * What a token for one authorization may say, from what the session proved and what the
 * MFA decision of that authorization was.
 *  - The application wanted a second factor and the session's covers it (within
 *    `mfa_max_age` and the request's `max_age`): MFA, at the second factor's time.
 *  - Nothing was wanted: the session's latest authentication. MFA only when the second
 *    factor is at least as recent as the password (a password-only re-authentication after
 *    it reports the password alone), and within the request's `max_age`.
 *  - Anything else (the decision asked for a factor that was not presented): password.
 * Both a TOTP code and a backup code are one-time passwords (`otp`).
 */
export function reportedAuthentication(input: {
  methods: MethodTimes;
  decision: MfaDecision;
  mfaMaxAge?: number | undefined;
  requestMaxAge?: number | undefined;
  now: number;
  /** When the engine's session logged in: the password time when the session has none recorded. */
  fallbackAuthTime: number;
}): ReportedAuthentication {
  const { methods, decision } = input;
  const passwordAt = methods.pwd ?? input.fallbackAuthTime;
  const password: ReportedAuthentication = { level: 'password', amr: ['pwd'], authTime: passwordAt };
  const factorAt = secondFactorAt(methods);
  if (factorAt === undefined || decision.action !== 'none') return password;
  const wanted = decision.wanted !== undefined;
  const maxAge = wanted ? maxAgeOf(input.mfaMaxAge, input.requestMaxAge) : input.requestMaxAge;
  if (!isWithin(factorAt, maxAge, input.now)) return password;
  if (!wanted && factorAt < passwordAt) return password;
  return { level: 'mfa', amr: [...(methods.pwd !== undefined ? ['pwd'] : []), 'otp', 'mfa'], authTime: factorAt };
}
