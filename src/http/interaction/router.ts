import Router from '@koa/router';
import { errors as oidcErrors } from 'oidc-provider';
import { z } from 'zod';
import { AppError, isAppError } from '../../domain/errors.ts';
import { MFA_PROMPT } from '../../oidc/interaction-policy.ts';
import { isFirstParty } from '../../oidc/provider.ts';
import { bodyParser } from '../body.ts';
import '../koa-augment.ts';
import { parseInput } from '../validate.ts';
import { createConsentStep } from './consent.ts';
import { createInteractionKit, DISABLED, EXPIRED, type InteractionDeps } from './kit.ts';
import { createLoginStep } from './login.ts';
import { createSecondFactorPages } from './second-factor.ts';

/**
 * The sign-in pages, after the engine's example/routes/koa.js: GET shows the page of the
 * pending prompt, every POST ends by handing a result back to the engine.
 */
export function createInteractionRoutes(deps: InteractionDeps) {
  const kit = createInteractionKit(deps);
  const login = createLoginStep(deps, kit);
  const secondFactor = createSecondFactorPages(deps, kit);
  const consent = createConsentStep(deps, kit);
  const router = new Router({ prefix: '/interaction' });
  const form = bodyParser({ limit: deps.bodyLimit, accept: ['form'] });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      if (!(err instanceof oidcErrors.SessionNotFound) && !isAppError(err, 'sign_in_expired')) throw err;
      // The interaction is gone (expired, finished, or never was): point back to its application.
      const uid = /^\/interaction\/([^/]+)/.exec(ctx.path)?.[1];
      ctx.state.backTo = await kit.applicationHome(uid).catch(() => undefined);
      throw new AppError('sign_in_expired', EXPIRED, { cause: err });
    }
  });

  router.get('/:uid', async (ctx) => {
    const { interaction, client } = await kit.details(ctx);
    // A refused form redirects here with ?retry=1 and leaves its outcome to show this once;
    // only then is there one to read. The page's first showing notes the application the
    // sign-in is for (to point back to it once the sign-in has expired); a retry was shown before.
    const retry = ctx.query.retry === '1';
    const flash = retry ? await deps.mfaState.flash.take(interaction.uid) : {};
    const noteOrigin = () => (retry ? undefined : deps.mfaState.origin.put(interaction.uid, client.clientId));
    switch (interaction.prompt.name) {
      case 'login': {
        // The code page after the password: the login page of this sign-in noted it.
        if (await deps.journey.awaitsSecondFactor(await kit.journeyOf(ctx, interaction, client)))
          return secondFactor.show(ctx, interaction, client, flash);
        await noteOrigin();
        return login.show(ctx, interaction, client, flash);
      }
      case MFA_PROMPT:
        if (interaction.prompt.reasons.includes('account_unavailable')) {
          throw new AppError('forbidden', DISABLED);
        }
        await noteOrigin();
        return secondFactor.show(ctx, interaction, client, flash);
      case 'consent':
        // A first-party application's consent is given at once: no page, nothing to point back from.
        if (isFirstParty(client.metadata())) return consent.grant(ctx, interaction);
        await noteOrigin();
        return consent.show(ctx, interaction, client);
      default:
        throw new AppError('invalid_request', 'This sign-in step is not known.');
    }
  });

  router.post('/:uid/login', form, (ctx) => login.submit(ctx));
  router.post('/:uid/passkey', form, (ctx) => login.submitPasskey(ctx));
  router.post('/:uid/code', form, (ctx) => secondFactor.submit(ctx));
  router.post('/:uid/factor', form, (ctx) => secondFactor.choose(ctx));
  router.post('/:uid/key', form, (ctx) => secondFactor.submitKey(ctx));
  router.post('/:uid/email/resend', form, (ctx) => secondFactor.resend(ctx));
  router.post('/:uid/continue', form, (ctx) => {
    parseInput(z.strictObject({}), ctx.request.body);
    return secondFactor.proceed(ctx);
  });

  router.post('/:uid/confirm', form, async (ctx) => {
    parseInput(z.strictObject({}), ctx.request.body);
    const { interaction } = await kit.details(ctx, 'consent');
    await consent.grant(ctx, interaction);
  });

  router.get('/:uid/abort', async (ctx) => {
    const { interaction } = await kit.details(ctx);
    await deps.journey.abandon(interaction.uid);
    await kit.finish(ctx, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' });
  });

  return router;
}
