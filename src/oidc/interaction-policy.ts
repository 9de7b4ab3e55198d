import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { MfaReason } from '../domain/mfa-policy.ts';
import type { MfaAssessor } from './mfa-assessment.ts';

const { Check, Prompt, base } = interactionPolicy;

/** The name of twofold's second-factor prompt, between `login` and `consent`. */
export const MFA_PROMPT = 'mfa';

/**
 * The prompts an authorization request goes through, in order: the engine's `login`, then
 * twofold's `mfa`, then the engine's `consent`. Each MFA check names one reason the
 * policy asks for the second factor; no code is issued while any of them holds.
 *
 * The login prompt's own acr checks are removed: the only classes are password and MFA,
 * and a request for MFA is the `mfa` prompt's to satisfy (step-up) without asking the
 * password again.
 */
export function createInteractionPolicy(assessor: MfaAssessor): interactionPolicy.Prompt[] {
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.add(
    new Check('password_missing', 'the session presented a passkey and no password, and the application takes none instead', async (ctx) =>
      (await assessor.passwordMissing(ctx)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
  );

  const because = (reason: MfaReason) => async (ctx: KoaContextWithOIDC) => {
    const decision = await assessor.forRequest(ctx);
    return 'reason' in decision && decision.reason === reason ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  };

  const mfa = new Prompt(
    { name: MFA_PROMPT, requestable: false },
    new Check('account_unavailable', 'the account is disabled or no longer exists', async (ctx: KoaContextWithOIDC) =>
      (await assessor.forRequest(ctx)).action === 'deny' ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
    new Check('mfa_required', 'the application requires a second factor', because('required')),
    new Check('mfa_if_enrolled', 'the user registered a second factor', because('if_enrolled')),
    new Check('mfa_step_up', 'the application asked for the MFA authentication context', because('step_up')),
    new Check('mfa_max_age', 'the last second factor is older than the application allows', because('max_age')),
  );
  policy.add(mfa, policy.findIndex((prompt) => prompt.name === 'login') + 1);
  return policy;
}
