import { isWithin, maxAgeOf, type MfaDecision } from './mfa-policy.ts';

/**
 * What a sign-in session has proved, and when: per method, not one time for everything
 * (SPEC section 3.7). A password-only re-authentication moves the password's time and
 * leaves the second factor's where it was; anything that needs a "fresh second factor"
 * reads the second factor's time.
 */
export const authMethods = ['pwd', 'totp', 'email', 'backup_code', 'hwk', 'swk', 'user'] as const;
export type AuthMethod = (typeof authMethods)[number];
/**
 * `hwk`: a security key or a passkey bound to one device; `swk`: a passkey that may be
 * synced between devices. `user` is no factor of its own: the authenticator of a key
 * presented at that same time verified its user (a PIN or a biometric on it).
 */
export const secondFactorMethods: readonly AuthMethod[] = ['totp', 'email', 'backup_code', 'hwk', 'swk'];

/** Epoch seconds of the last time each method was presented in one session. */
export type MethodTimes = Partial<Record<AuthMethod, number>>;

/** A security key or passkey: bound to this issuer's origin, so a look-alike site cannot relay it. */
export const isKeyMethod = (method: AuthMethod) => method === 'hwk' || method === 'swk';

/** When a second factor (of any kind) was last presented, if ever. */
export function secondFactorAt(methods: MethodTimes): number | undefined {
  return latestFactor(methods)?.at;
}

/** The second factor presented last, and when. */
function latestFactor(methods: MethodTimes): { method: AuthMethod; at: number } | undefined {
  let latest: { method: AuthMethod; at: number } | undefined;
  for (const method of secondFactorMethods) {
    const at = methods[method];
    if (at !== undefined && (latest === undefined || at > latest.at)) latest = { method, at };
  }
  return latest;
}

/**
 * The RFC 8176 value of a second factor: `otp` for an authenticator app's code and for a
 * backup code (both one-time passwords the user holds), `email` for a code sent by mail
 * (not in the IANA registry: a private value, documented in docs/second-factor.md), `hwk`
 * for a security key or a device-bound passkey (a key kept in hardware) and `swk` for a
 * passkey that may be synced between devices (a key kept in software).
 */
export const amrOf = (method: AuthMethod): string => (method === 'email' || method === 'hwk' || method === 'swk' ? method : 'otp');

/**
 * The authentication a token reports: its level, its RFC 8176 methods and its time. `phr`
 * (phishing-resistant): the second factor was a security key or passkey, and the level was
 * asked for (by the request, or by an application that accepts keys only).
 */
export interface ReportedAuthentication {
  level: 'password' | 'mfa' | 'phr';
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
 * The methods are those the application accepts (see domain/factors.ts `acceptedTimes`);
 * the second factor reported is the latest of them (`amrOf`).
 */
export function reportedAuthentication(input: {
  methods: MethodTimes;
  decision: MfaDecision;
  mfaMaxAge?: number | undefined;
  requestMaxAge?: number | undefined;
  now: number;
  /** When the engine's session logged in: the password time when the session has none recorded. */
  fallbackAuthTime: number;
  /** The phishing-resistant level was asked for: a key's sign-in reports it. */
  phishingResistant?: boolean | undefined;
}): ReportedAuthentication {
  const { methods, decision } = input;
  const passwordAt = methods.pwd ?? input.fallbackAuthTime;
  const password: ReportedAuthentication = { level: 'password', amr: ['pwd'], authTime: passwordAt };
  const factor = latestFactor(methods);
  if (factor === undefined || decision.action !== 'none') return password;
  const factorAt = factor.at;
  const wanted = decision.wanted !== undefined;
  const maxAge = wanted ? maxAgeOf(input.mfaMaxAge, input.requestMaxAge) : input.requestMaxAge;
  if (!isWithin(factorAt, maxAge, input.now)) return password;
  if (!wanted && factorAt < passwordAt) return password;
  const level = input.phishingResistant && isKeyMethod(factor.method) ? 'phr' : 'mfa';
  // `user` (RFC 8176): the key reported is the one whose authenticator verified its user.
  const verified = isKeyMethod(factor.method) && methods.user === factorAt ? ['user'] : [];
  return { level, amr: [...(methods.pwd !== undefined ? ['pwd'] : []), amrOf(factor.method), ...verified, 'mfa'], authTime: factorAt };
}
