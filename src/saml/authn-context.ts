import { CONTEXT } from './names.ts';
import type { AuthnRequest } from './requests.ts';

/**
 * What a RequestedAuthnContext asks of the sign-in, or that it cannot be met. `wantsMfa`: a
 * second factor is needed (step-up, as `acr_values` does); `wantsPhr`: a security key or
 * passkey is; `passwordClassOnly`: the application accepts only the password class, which
 * stays true after a second factor too (a password was presented); `phrAllowed`: the
 * phishing-resistant class may be stated when a key was presented.
 */
export type ContextPlan =
  { met: true; wantsMfa: boolean; wantsPhr: boolean; passwordClassOnly: boolean; phrAllowed: boolean } | { met: false };

// The classes twofold can state, weakest first.
const RANK: Record<string, number> = { [CONTEXT.password]: 1, [CONTEXT.mfa]: 2, [CONTEXT.phr]: 3 };

const ANY: ContextPlan = { met: true, wantsMfa: false, wantsPhr: false, passwordClassOnly: false, phrAllowed: true };

/**
 * Reads a RequestedAuthnContext (saml-core-2.0 3.3.2.2.1) against the three classes
 * twofold states: PasswordProtectedTransport after a password alone, the REFEDS MFA
 * profile after a second factor, and `urn:twofold:acr:phr` after a security key or passkey.
 * A request naming no class twofold can state cannot be met (`NoAuthnContext`).
 */
export function contextPlan(requested: AuthnRequest['requestedContext']): ContextPlan {
  if (!requested) return ANY;
  if (requested.classRefs.includes(CONTEXT.unspecified)) return ANY;
  const ranks = requested.classRefs.map((ref) => RANK[ref]).filter((rank): rank is number => rank !== undefined);
  if (!ranks.length) return { met: false };
  const lowest = Math.min(...ranks);
  const highest = Math.max(...ranks);
  const [password, mfa, phr] = [RANK[CONTEXT.password]!, RANK[CONTEXT.mfa]!, RANK[CONTEXT.phr]!];
  switch (requested.comparison) {
    case 'exact':
      return {
        met: true,
        wantsMfa: lowest >= mfa,
        wantsPhr: lowest === phr,
        passwordClassOnly: highest === password,
        phrAllowed: ranks.includes(phr),
      };
    case 'minimum':
      return { met: true, wantsMfa: lowest >= mfa, wantsPhr: lowest === phr, passwordClassOnly: false, phrAllowed: true };
    case 'better':
      if (lowest === phr) return { met: false };
      return { met: true, wantsMfa: true, wantsPhr: lowest === mfa, passwordClassOnly: false, phrAllowed: true };
    case 'maximum':
      return { met: true, wantsMfa: false, wantsPhr: false, passwordClassOnly: highest === password, phrAllowed: highest === phr };
  }
}

/** The class an assertion states: what was presented, within what the application accepts. */
export function statedClass(plan: Extract<ContextPlan, { met: true }>, presented: 'password' | 'mfa' | 'phr'): string {
  if (presented === 'password' || plan.passwordClassOnly) return CONTEXT.password;
  return presented === 'phr' && plan.phrAllowed ? CONTEXT.phr : CONTEXT.mfa;
}
