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
  user: { exempt: boolean; disabled: boolean; hasDevice: boolean };
  /** The request asks for the MFA authentication context (acr_values or claims). */
  stepUp: boolean;
  /** When this session last passed the second factor for this user (epoch seconds). */
  lastSecondFactorAt: number | undefined;
  /** Epoch seconds. */
  now: number;
}

export type MfaReason = 'required' | 'if_enrolled' | 'step_up' | 'max_age';

export type MfaDecision =
  | { action: 'deny' }
  | { action: 'none' }
  | { action: 'register' | 'verify'; reason: MfaReason };

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
      : policy === 'if_enrolled' && user.hasDevice
        ? 'if_enrolled'
        : null;
  if (wanted === null) return { action: 'none' };

  let reason: MfaReason = wanted;
  if (input.lastSecondFactorAt !== undefined) {
    const expired = client.mfaMaxAge !== undefined && input.now - input.lastSecondFactorAt > client.mfaMaxAge;
    if (!expired) return { action: 'none' };
    reason = 'max_age';
  }
  return { action: user.hasDevice ? 'verify' : 'register', reason };
}
