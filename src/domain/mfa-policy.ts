/**
 * Whether a sign-in needs the second factor, decided from plain data: no I/O, no clock of
 * its own. The oidc/ prompt checks and the login route both ask this one function.
 */
export const mfaPolicies = ['required', 'if_enrolled', 'off'] as const;
export type MfaPolicy = (typeof mfaPolicies)[number];

export interface PolicyInput {
  settings: { enabled: boolean; defaultPolicy: MfaPolicy };
  /** `alwaysRequired`: twofold's own pages (the account page), where no switch or exemption applies. */
  client: { mfaPolicy?: MfaPolicy | undefined; mfaMaxAge?: number | undefined; alwaysRequired?: boolean | undefined };
  /** The request's own `max_age` (seconds): a second factor older than this is asked again too. */
  requestMaxAge?: number | undefined;
  /**
   * `hasDevice`: the user has a second factor the application accepts (else a registration
   * is asked). `enrolled`: the user has any second factor (for `if_enrolled`); `hasDevice` when absent.
   */
  user: { exempt: boolean; disabled: boolean; hasDevice: boolean; enrolled?: boolean | undefined };
  /** The request asks for the MFA authentication context (acr_values or claims). */
  stepUp: boolean;
  /** When this session last passed the second factor for this user (epoch seconds). */
  lastSecondFactorAt: number | undefined;
  /** Epoch seconds. */
  now: number;
}

export type MfaReason = 'required' | 'if_enrolled' | 'step_up' | 'max_age';

/**
 * `none` with `wanted`: the second factor is wanted for that reason and the session's last
 * one covers it (single sign-on); the tokens then say MFA. `none` alone: nothing is wanted.
 * `rememberedBy`: a remembered browser (its id) spared the factor; nothing covers it in the
 * session, so the tokens say the password alone (domain/remembered-devices.ts).
 */
export type MfaDecision =
  { action: 'deny' } | { action: 'none'; wanted?: MfaReason; rememberedBy?: string } | { action: 'register' | 'verify'; reason: MfaReason };

export function decideMfa(input: PolicyInput): MfaDecision {
  const { settings, client, user } = input;
  if (user.disabled) return { action: 'deny' };
  // The master switch off asks nobody; registrations are kept for when it is on again.
  if (!client.alwaysRequired && (!settings.enabled || user.exempt)) return { action: 'none' };

  const policy = client.alwaysRequired ? 'required' : (client.mfaPolicy ?? settings.defaultPolicy);
  const wanted: MfaReason | null = input.stepUp
    ? 'step_up'
    : policy === 'required'
      ? 'required'
      : policy === 'if_enrolled' && (user.enrolled ?? user.hasDevice)
        ? 'if_enrolled'
        : null;
  if (wanted === null) return { action: 'none' };

  let reason: MfaReason = wanted;
  if (input.lastSecondFactorAt !== undefined) {
    if (isWithin(input.lastSecondFactorAt, maxAgeOf(client.mfaMaxAge, input.requestMaxAge), input.now)) return { action: 'none', wanted };
    reason = 'max_age';
  }
  return { action: user.hasDevice ? 'verify' : 'register', reason };
}

/** The stricter of the application's `mfa_max_age` and the request's `max_age`, if either is set. */
export function maxAgeOf(...ages: (number | undefined)[]): number | undefined {
  const set = ages.filter((age): age is number => age !== undefined);
  return set.length ? Math.min(...set) : undefined;
}

/** Whether something done at `at` (epoch seconds) is at most `maxAge` seconds old at `now`. */
export function isWithin(at: number, maxAge: number | undefined, now: number): boolean {
  return maxAge === undefined || now - at <= maxAge;
}
