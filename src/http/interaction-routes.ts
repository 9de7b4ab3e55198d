import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../domain/errors.ts';
import type { UserService } from '../domain/users.ts';
import { passwordLogin } from '../oidc/acr.ts';
import { isFirstParty } from '../oidc/provider.ts';
import { bodyParser } from './body.ts';
import './koa-augment.ts';
import { parseInput } from './validate.ts';

const loginForm = z.strictObject({
  username: z.string().trim().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const emptyForm = z.strictObject({});

// What each scope lets an application see, in the words of the consent page.
const scopeDescriptions: Record<string, string[]> = {
  profile: ['your name and username'],
  email: ['your email address'],
};

const WRONG_CREDENTIALS = 'The username or password is not correct.';
const DISABLED = 'This account is disabled. Ask your administrator.';

/**
 * The sign-in pages, after the engine's example/routes/koa.js: GET shows the page of the
 * pending prompt, every POST ends by handing a result back to the engine.
 */
export function createInteractionRoutes(deps: { provider: Provider; users: UserService; log: Logger; bodyLimit: number }) {
  const { provider, users, log } = deps;
  const router = new Router({ prefix: '/interaction' });
  const form = bodyParser({ limit: deps.bodyLimit, accept: ['form'] });

  async function details(ctx: Context, expectedPrompt?: string) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) {
      // The cookie names another sign-in than the address: a page of an older attempt.
      throw new AppError('invalid_request', 'This sign-in has expired or was already finished. Start again from the application.');
    }
    if (expectedPrompt && interaction.prompt.name !== expectedPrompt) {
      // A post for a step that is not the pending one (replayed, or skipped ahead).
      throw new AppError('invalid_request', 'This step of the sign-in is not the current one. Start again from the application.');
    }
    const client = await provider.Client.find(String(interaction.params.client_id));
    if (!client) throw new AppError('invalid_request', 'The application of this sign-in is no longer registered.');
    return { interaction, client };
  }

  async function finish(ctx: Context, result: Parameters<Provider['interactionResult']>[2], merge: boolean) {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  async function grantConsent(ctx: Context, interaction: Awaited<ReturnType<Provider['interactionDetails']>>) {
    const { prompt, params, session } = interaction;
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
    if (!grant) throw new AppError('invalid_request', 'This sign-in has expired. Start again from the application.');
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await finish(ctx, { consent: interaction.grantId ? {} : { grantId } }, true);
  }

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/:uid', async (ctx) => {
    const { interaction, client } = await details(ctx);
    const clientName = client.clientName ?? client.clientId;
    switch (interaction.prompt.name) {
      case 'login':
        return ctx.render('login', { title: 'Sign in', uid: interaction.uid, clientName, username: '' });
      case 'consent': {
        // First-party applications are the organisation's own: their users are not asked.
        if (isFirstParty(client.metadata())) return grantConsent(ctx, interaction);
        const details = interaction.prompt.details as { missingOIDCScope?: string[] };
        const scopes = (details.missingOIDCScope ?? []).flatMap((scope) => scopeDescriptions[scope] ?? []);
        return ctx.render('consent', {
          title: 'Allow access',
          uid: interaction.uid,
          clientName,
          scopes,
          offline: details.missingOIDCScope?.includes('offline_access') ?? false,
        });
      }
      default:
        throw new AppError('invalid_request', 'This sign-in step is not known.');
    }
  });

  router.post('/:uid/login', form, async (ctx) => {
    const { interaction, client } = await details(ctx, 'login');
    const rerender = (status: number, error: string, username: string) => {
      ctx.status = status;
      return ctx.render('login', {
        title: 'Sign in',
        uid: interaction.uid,
        clientName: client.clientName ?? client.clientId,
        username,
        error,
      });
    };
    const parsed = loginForm.safeParse(ctx.request.body);
    if (!parsed.success) return rerender(400, 'Enter your username and password.', '');
    const { username, password } = parsed.data;

    const result = await users.verifyPassword(username, password);
    if (!result.ok) {
      log.info({ event: 'signin.failed', reason: result.reason, client: client.clientId, ip: ctx.ip }, 'password sign-in failed');
      return rerender(401, result.reason === 'disabled' ? DISABLED : WRONG_CREDENTIALS, username);
    }
    log.info({ event: 'signin.password', user: result.user.id, client: client.clientId, ip: ctx.ip }, 'password accepted');
    await finish(ctx, { login: passwordLogin(result.user.id) }, false);
  });

  router.post('/:uid/confirm', form, async (ctx) => {
    parseInput(emptyForm, ctx.request.body);
    const { interaction } = await details(ctx, 'consent');
    await grantConsent(ctx, interaction);
  });

  router.get('/:uid/abort', async (ctx) => {
    await details(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' }, false);
  });

  return router;
}
