import type { Context } from 'koa';
import { AppError } from '../../domain/errors.ts';
import type { Interaction, InteractionDeps, InteractionKit, OidcClient } from './kit.ts';

// What each scope lets an application see, in the words of the consent page.
const scopeDescriptions: Record<string, string[]> = {
  profile: ['your name and username'],
  email: ['your email address'],
};

/** The consent step; first-party applications are the organisation's own and skip it. */
export function createConsentStep(deps: InteractionDeps, kit: InteractionKit) {
  async function grant(ctx: Context, interaction: Interaction) {
    const { prompt, params, session } = interaction;
    const existing = interaction.grantId ? await deps.provider.Grant.find(interaction.grantId) : undefined;
    if (interaction.grantId && !existing)
      throw new AppError('invalid_request', 'This sign-in has expired. Start again from the application.');
    const grant = existing ?? new deps.provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await kit.finish(ctx, { consent: interaction.grantId ? {} : { grantId } }, true);
  }

  async function show(ctx: Context, interaction: Interaction, client: OidcClient) {
    const details = interaction.prompt.details as { missingOIDCScope?: string[] };
    await ctx.render('consent', {
      title: 'Allow access',
      uid: interaction.uid,
      clientName: kit.clientName(client),
      scopes: (details.missingOIDCScope ?? []).flatMap((scope) => scopeDescriptions[scope] ?? []),
      offline: details.missingOIDCScope?.includes('offline_access') ?? false,
    });
  }

  return { grant, show };
}
