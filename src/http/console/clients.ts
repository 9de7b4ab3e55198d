import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Administration } from '../../domain/administration.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { isInternalClient } from '../../oidc/internal-clients.ts';
import { presentClient } from '../admin/presenters.ts';
import { clientPatch, newClient } from '../admin/schemas.ts';
import { parseInput } from '../validate.ts';
import { consoleOf } from './session.ts';

/** The application form's fields, as the admin API's metadata (checked by its schemas). */
function metadataOf(body: Record<string, string>) {
  const maxAge = body.mfa_max_age?.trim();
  return {
    client_name: body.client_name?.trim() || null,
    redirect_uris: (body.redirect_uris ?? '').split(/\s+/).filter(Boolean),
    mfa_policy: body.mfa_policy ? body.mfa_policy : null,
    mfa_max_age: maxAge ? Number(maxAge) : null,
    first_party: body.first_party === 'on',
  };
}

export function mountConsoleClients(router: Router, admin: Administration) {
  const listPage = async (
    ctx: Context,
    options: { error?: string; form?: Record<string, string>; secret?: { clientId: string; secret: string } } = {},
  ) => {
    const clients = (await admin.clients.list()).filter((client) => !isInternalClient(client.clientId)).map(presentClient);
    ctx.status = options.error ? 400 : 200;
    await ctx.render('console/clients', {
      title: 'Applications',
      section: 'clients',
      clients,
      policies: mfaPolicies,
      form: options.form ?? {},
      ...options,
      ...consoleOf(ctx),
    });
  };

  router.get('/clients', (ctx) => listPage(ctx));

  router.post('/clients', async (ctx) => {
    const body = ctx.request.body as Record<string, string>;
    try {
      const { client_name, mfa_policy, mfa_max_age, ...rest } = metadataOf(body);
      const input = parseInput(newClient, {
        client_id: body.client_id ?? '',
        ...rest,
        ...(client_name ? { client_name } : {}),
        ...(mfa_policy ? { mfa_policy } : {}),
        ...(mfa_max_age !== null ? { mfa_max_age } : {}),
      });
      const { record, secret } = await admin.clients.register(input, consoleOf(ctx).actor);
      await listPage(ctx, { ...(secret ? { secret: { clientId: record.clientId, secret } } : {}) });
    } catch (err) {
      if (isAppError(err) && err.status < 500) return listPage(ctx, { error: err.message, form: body });
      throw err;
    }
  });

  const editPage = async (ctx: Context, clientId: string, options: { error?: string; secret?: string } = {}) => {
    const client = await admin.clients.get(clientId);
    if (!client || isInternalClient(clientId)) throw new AppError('not_found', 'There is no such application.');
    ctx.status = options.error ? 400 : 200;
    await ctx.render('console/client', {
      title: client.clientId,
      section: 'clients',
      client: presentClient(client),
      policies: mfaPolicies,
      ...options,
      ...consoleOf(ctx),
    });
  };

  router.get('/clients/:id', (ctx) => editPage(ctx, ctx.params.id!));

  router.post('/clients/:id', async (ctx) => {
    const clientId = ctx.params.id!;
    if (isInternalClient(clientId)) throw new AppError('not_found', 'There is no such application.');
    try {
      const patch = parseInput(clientPatch, metadataOf(ctx.request.body as Record<string, string>));
      if (!(await admin.clients.update(clientId, patch, consoleOf(ctx).actor)))
        throw new AppError('not_found', 'There is no such application.');
    } catch (err) {
      if (isAppError(err) && err.status < 500 && err.code !== 'not_found') return editPage(ctx, clientId, { error: err.message });
      throw err;
    }
    ctx.status = 303;
    ctx.redirect(`/admin/clients/${encodeURIComponent(clientId)}`);
  });

  router.post('/clients/:id/secret', async (ctx) => {
    const clientId = ctx.params.id!;
    if (isInternalClient(clientId)) throw new AppError('not_found', 'There is no such application.');
    const secret = await admin.clients.rotateSecret(clientId, consoleOf(ctx).actor);
    if (!secret) return editPage(ctx, clientId, { error: 'This application has no secret to rotate (it is a public client).' });
    await editPage(ctx, clientId, { secret });
  });
}
