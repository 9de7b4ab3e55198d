import type { Router, RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import type { ClientService } from '../../domain/clients.ts';
import { AppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { INTERNAL_CLIENT_PREFIX, isInternalClient } from '../../oidc/internal-clients.ts';
import { parseInput } from '../validate.ts';
import { presentClient } from './presenters.ts';

const uri = z.url({ message: 'an absolute URL' }).max(2048);

/**
 * The client metadata an administrator can set: twofold's own (`first_party`) and the
 * OIDC registration metadata a relying party of this provider uses. The engine then checks
 * the combination (redirect URIs against application_type, grant types against response
 * types, …).
 */
const newClient = z.strictObject({
  client_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, { message: '1 to 128 printable characters without spaces' })
    .refine((id) => !isInternalClient(id), { message: `ids starting with ${INTERNAL_CLIENT_PREFIX} are twofold's own` }),
  client_secret: z.string().min(32, { message: 'at least 32 characters' }).max(512).optional(),
  client_name: z.string().trim().min(1).max(256).optional(),
  redirect_uris: z.array(uri).min(1).max(50),
  post_logout_redirect_uris: z.array(uri).max(50).optional(),
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).min(1).optional(),
  response_types: z.array(z.literal('code')).min(1).optional(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  scope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/).max(1024).optional(),
  id_token_signed_response_alg: z.enum(['RS256']).optional(),
  client_uri: uri.optional(),
  logo_uri: uri.optional(),
  policy_uri: uri.optional(),
  tos_uri: uri.optional(),
  first_party: z.boolean().optional(),
  mfa_policy: z.enum(mfaPolicies).optional(),
  mfa_max_age: z.number().int().min(0).max(31_536_000).optional(),
});

/** Any metadata but the identifiers; null removes an optional key. */
const clientPatch = newClient
  .omit({ client_id: true, client_secret: true })
  .partial()
  .extend({
    client_name: z.string().trim().min(1).max(256).nullable().optional(),
    post_logout_redirect_uris: z.array(uri).max(50).nullable().optional(),
    mfa_policy: z.enum(mfaPolicies).nullable().optional(),
    mfa_max_age: z.number().int().min(0).max(31_536_000).nullable().optional(),
    first_party: z.boolean().nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

const clientIdParam = z.string().min(1).max(128);

export function mountClientRoutes(router: Router, deps: { clients: ClientService; json: RouterMiddleware }) {
  router.post('/clients', deps.json, async (ctx) => {
    const input = parseInput(newClient, ctx.request.body);
    const { record, secret } = await deps.clients.register(input);
    ctx.status = 201;
    // A generated secret is shown here once; it is stored only sealed.
    ctx.body = { ...presentClient(record), ...(secret ? { client_secret: secret } : {}) };
  });

  router.get('/clients', async (ctx) => {
    parseInput(z.strictObject({}), ctx.query);
    ctx.body = { clients: (await deps.clients.list()).map(presentClient) };
  });

  router.patch('/clients/:client_id', deps.json, async (ctx) => {
    const clientId = parseInput(clientIdParam, ctx.params.client_id);
    if (isInternalClient(clientId)) throw new AppError('forbidden', `${clientId} is twofold's own application and cannot be changed`);
    const patch = parseInput(clientPatch, ctx.request.body);
    const client = await deps.clients.update(clientId, patch);
    if (!client) throw new AppError('not_found', 'no client with this client_id');
    ctx.body = presentClient(client);
  });

  router.get('/clients/:client_id', async (ctx) => {
    const client = await deps.clients.find(parseInput(clientIdParam, ctx.params.client_id));
    if (!client) throw new AppError('not_found', 'no client with this client_id');
    ctx.body = presentClient(client);
  });
}
