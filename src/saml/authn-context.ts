import { CONTEXT } from './names.ts';
import type { AuthnRequest } from './requests.ts';

/** What a RequestedAuthnContext asks of the sign-in, or that it cannot be met. */
export type ContextPlan = { met: true; wantsMfa: boolean; passwordClassOnly: boolean } | { met: false };

// The classes twofold can state, weakest first.
const RANK: Record<string, number> = { [CONTEXT.password]: 1, [CONTEXT.mfa]: 2 };

/**
 * Reads a RequestedAuthnContext (saml-core-2.0 3.3.2.2.1) against the two classes twofold
 * states: PasswordProtectedTransport after a password alone, the REFEDS MFA profile after a
 * second factor. `wantsMfa`: a second factor is needed (step-up, as `acr_values` does).
 * `passwordClassOnly`: the application accepts only the password class, which stays true
 * after a second factor too (a password was presented). A request naming no class twofold
 * can state, or only stronger than MFA, cannot be met (`NoAuthnContext`).
 */
export function contextPlan(requested: AuthnRequest['requestedContext']): ContextPlan {
  if (!requested) return { met: true, wantsMfa: false, passwordClassOnly: false };
  if (requested.classRefs.includes(CONTEXT.unspecified)) return { met: true, wantsMfa: false, passwordClassOnly: false };
  const ranks = requested.classRefs.map((ref) => RANK[ref]).filter((rank): rank is number => rank !== undefined);
  if (!ranks.length) return { met: false };
  const lowest = Math.min(...ranks);
  const highest = Math.max(...ranks);
  switch (requested.comparison) {
    case 'exact':
      return { met: true, wantsMfa: lowest === RANK[CONTEXT.mfa], passwordClassOnly: highest === RANK[CONTEXT.password] };
    case 'minimum':
      return { met: true, wantsMfa: lowest === RANK[CONTEXT.mfa], passwordClassOnly: false };
    case 'better':
      return lowest === RANK[CONTEXT.password] ? { met: true, wantsMfa: true, passwordClassOnly: false } : { met: false };
    case 'maximum':
      return { met: true, wantsMfa: false, passwordClassOnly: highest === RANK[CONTEXT.password] };
  }
}

/** The class an assertion states: what was presented, within what the application accepts. */
export function statedClass(plan: Extract<ContextPlan, { met: true }>, mfaPresented: boolean): string {
  return mfaPresented && !plan.passwordClassOnly ? CONTEXT.mfa : CONTEXT.password;
}
