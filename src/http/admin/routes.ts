import { userSearch, type Administration } from '../../domain/administration.ts';
import { LOGO_MAX_BYTES, LOGO_PATH } from '../../domain/brand-logo.ts';
import type { SettingsCheck } from '../settings-check.ts';
import { AppError } from '../../domain/errors.ts';
import { isInternalClient } from '../../oidc/internal-clients.ts';
import type { UserRecord } from '../../domain/ports.ts';
import { presentClient, presentUser } from './presenters.ts';
import { route, type AdminRoute } from './route.ts';
import * as s from './schemas.ts';
import { exportSchema } from '../../domain/data-portability.ts';

const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

const noUser = () => new AppError('not_found', 'no user with this id');
const noClient = () => new AppError('not_found', 'no client with this client_id');

/** Every operation of the admin API (SPEC section 7), in the order the document lists them. */
export function adminRoutes(admin: Administration, checkSettings: SettingsCheck): AdminRoute[] {
  const present = async (user: UserRecord | null) => {
    if (!user) throw noUser();
    return presentUser(user, await admin.users.lockOf(user));
  };
  const changeable = (clientId: string) => {
    if (isInternalClient(clientId)) throw new AppError('forbidden', `${clientId} is twofold's own application and cannot be changed`);
    return clientId;
  };

  return [
    route({
      method: 'post',
      path: '/users',
      summary: 'Create a user',
      body: { schema: s.newUser },
      ok: { status: 201, description: 'the user', schema: s.userView },
      errors: [409],
      handle: async ({ body, actor }) => {
        const { role, email_verified, ...rest } = body;
        return present(
          await admin.users.create(
            { ...rest, ...(role === 'admin' ? { role } : {}), ...(email_verified !== undefined ? { emailVerified: email_verified } : {}) },
            actor,
          ),
        );
      },
    }),
    route({
      method: 'get',
      path: '/users',
      summary:
        'List users; `q` without `*` finds usernames, emails and names containing it (any case), with `*` matches usernames case-sensitively',
      query: s.userListQuery,
      ok: { status: 200, description: 'a page of users, `next` to go on', schema: s.userList },
      handle: async ({ query }) => {
        const page = await admin.users.list({
          limit: query.limit,
          ...(query.q ? userSearch(query.q) : {}),
          ...(query.exempt ? { exempt: query.exempt === 'true' } : {}),
          ...(query.cursor ? { after: query.cursor } : {}),
        });
        return { users: await Promise.all(page.users.map(present)), ...(page.next ? { next: page.next } : {}) };
      },
    }),
    route({
      method: 'get',
      path: '/users/:id',
      summary: 'One user, with the second factor and the last sign-in',
      params: s.idParams,
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params }) => present(await admin.users.get(params.id)),
    }),
    route({
      method: 'patch',
      path: '/users/:id',
      summary: 'Change a user; a new password or disabling ends all of its sessions',
      params: s.idParams,
      body: { schema: s.userPatch },
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, body, actor }) => {
        const { role, email_verified, ...rest } = body;
        return present(
          await admin.users.update(
            params.id,
            {
              ...rest,
              ...(role === undefined ? {} : { role: role === 'admin' ? 'admin' : null }),
              ...(email_verified === undefined ? {} : { emailVerified: email_verified }),
            },
            actor,
          ),
        );
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id',
      summary: 'Delete a user and its second factor; every session and refresh token of the user ends',
      params: s.idParams,
      ok: { status: 204, description: 'deleted' },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.delete(params.id, actor))) throw noUser();
      },
    }),
    route({
      method: 'post',
      path: '/users/:id/mfa/reset',
      summary:
        'Remove the authenticator app and backup codes and lift a lock; every session and refresh token of the user ends; the next sign-in registers anew',
      params: s.idParams,
      body: { schema: s.noBody, optional: true },
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.resetMfa(params.id, actor))) throw noUser();
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id/mfa/keys/:keyId',
      summary:
        'Remove one security key or passkey; every session and refresh token of the user ends; a user left with no second factor registers anew',
      params: s.keyParams,
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.removeKey(params.id, params.keyId, actor)))
          throw new AppError('not_found', 'There is no such security key of this user.');
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id/mfa/apps/:appId',
      summary:
        'Remove one authenticator app; every session and refresh token of the user ends; a user left with no second factor registers anew',
      params: s.appParams,
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.removeApp(params.id, params.appId, actor)))
          throw new AppError('not_found', 'There is no such authenticator app of this user.');
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id/mfa/remembered/:browserId',
      summary: 'Forget one remembered browser: its next sign-in asks for the second factor again',
      params: s.browserParams,
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.forgetBrowsers(params.id, params.browserId, actor)))
          throw new AppError('not_found', 'There is no such remembered browser of this user.');
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id/mfa/remembered',
      summary: 'Forget every remembered browser of the user: each asks for the second factor again',
      params: s.idParams,
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.get(params.id))) throw noUser();
        await admin.users.forgetBrowsers(params.id, undefined, actor);
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'post',
      path: '/users/:id/sessions/end',
      summary: 'End every session, grant and refresh token of the user, on every node; the next sign-in asks for the password and the code',
      params: s.idParams,
      body: { schema: s.noBody, optional: true },
      ok: { status: 204, description: 'ended' },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.endSessions(params.id, actor))) throw noUser();
      },
    }),
    route({
      method: 'post',
      path: '/users/:id/unlock',
      summary: 'Lift a lock',
      params: s.idParams,
      body: { schema: s.noBody, optional: true },
      ok: { status: 200, description: 'the user', schema: s.userView },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.users.unlock(params.id, actor))) throw noUser();
        return present(await admin.users.get(params.id));
      },
    }),
    route({
      method: 'post',
      path: '/clients',
      summary: 'Register an application; a generated secret is in the answer, once',
      body: { schema: s.newClient },
      ok: { status: 201, description: 'the application', schema: s.clientWithSecret },
      errors: [409],
      handle: async ({ body, actor }) => {
        const { record, secret } = await admin.clients.register(body, actor);
        return { ...presentClient(record), ...(secret ? { client_secret: secret } : {}) };
      },
    }),
    route({
      method: 'get',
      path: '/clients',
      summary: 'List applications by client_id',
      query: s.clientListQuery,
      ok: { status: 200, description: 'a page of applications, `next` to go on', schema: s.clientList },
      handle: async ({ query }) => {
        const all = (await admin.clients.list()).filter((client) => query.cursor === undefined || client.clientId > query.cursor);
        const page = all.slice(0, query.limit);
        return { clients: page.map(presentClient), ...(all.length > query.limit ? { next: page.at(-1)!.clientId } : {}) };
      },
    }),
    route({
      method: 'get',
      path: '/clients/:client_id',
      summary: 'One application (never its secret)',
      params: s.clientIdParams,
      ok: { status: 200, description: 'the application', schema: s.clientView },
      errors: [404],
      handle: async ({ params }) => {
        const client = await admin.clients.get(params.client_id);
        if (!client) throw noClient();
        return presentClient(client);
      },
    }),
    route({
      method: 'patch',
      path: '/clients/:client_id',
      summary: 'Change an application; null removes an optional key',
      params: s.clientIdParams,
      body: { schema: s.clientPatch },
      ok: { status: 200, description: 'the application', schema: s.clientView },
      errors: [403, 404],
      handle: async ({ params, body, actor }) => {
        const client = await admin.clients.update(changeable(params.client_id), body, actor);
        if (!client) throw noClient();
        return presentClient(client);
      },
    }),
    route({
      method: 'delete',
      path: '/clients/:client_id',
      summary: 'Delete an application: its tokens stop working',
      params: s.clientIdParams,
      ok: { status: 204, description: 'deleted' },
      errors: [403, 404],
      handle: async ({ params, actor }) => {
        if (!(await admin.clients.delete(changeable(params.client_id), actor))) throw noClient();
      },
    }),
    route({
      method: 'post',
      path: '/clients/:client_id/secret',
      summary: "Rotate a confidential application's secret: the new one is in the answer, once; the old one stops working",
      params: s.clientIdParams,
      body: { schema: s.noBody, optional: true },
      ok: { status: 200, description: 'the new secret', schema: s.rotatedSecret },
      errors: [403, 404],
      handle: async ({ params, actor }) => {
        const secret = await admin.clients.rotateSecret(changeable(params.client_id), actor);
        if (!secret) throw new AppError('not_found', 'no confidential client with this client_id');
        return { client_id: params.client_id, client_secret: secret };
      },
    }),
    route({
      method: 'get',
      path: '/settings',
      summary: 'The second-factor settings',
      ok: { status: 200, description: 'the settings', schema: s.settingsView },
      handle: () => admin.settings.get(),
    }),
    route({
      method: 'patch',
      path: '/settings',
      summary: 'Change settings (a JSON merge patch); every node applies them within 5 seconds',
      description:
        'A JSON merge patch (RFC 7396): nested objects merge, so `{"brand":{"name":"Acme"}}` changes the name alone, and `"logoUrl": null` removes the logo. The result is checked as a whole before anything is written. The audit event lists each changed setting with its old and new value.',
      body: { schema: s.settingsPatch },
      ok: { status: 200, description: 'the settings', schema: s.settingsView },
      handle: ({ body, actor }) => admin.settings.update(body, actor, checkSettings),
    }),
    route({
      method: 'post',
      path: '/settings/logo',
      summary: 'Upload the brand logo (PNG, JPEG, GIF or WebP, at most 256 kB); it becomes brand.logoUrl',
      description: `Send the image bytes as the body. The type is read from the content, not from Content-Type. The logo is served at ${LOGO_PATH}.`,
      body: { schema: s.noBody, raw: LOGO_TYPES, limitBytes: LOGO_MAX_BYTES },
      ok: { status: 200, description: 'the settings', schema: s.settingsView },
      handle: ({ body, actor }) => admin.settings.uploadLogo(body as Buffer, actor, checkSettings),
    }),
    route({
      method: 'get',
      path: '/export',
      summary: 'Users with their second factor (secrets still sealed, key ids kept) and, unless clients=false, applications',
      query: s.exportQuery,
      ok: { status: 200, description: 'the export', schema: exportSchema },
      handle: ({ query, actor }) => admin.data.export({ clients: query.clients !== 'false' }, actor),
    }),
    route({
      method: 'post',
      path: '/import',
      summary: 'Import an export: users by username, applications by client_id; every record is checked before any is written',
      body: { schema: exportSchema, limitBytes: 64 * 1024 * 1024, checkedByService: true },
      ok: { status: 200, description: 'what was created and updated', schema: s.importResult },
      errors: [409],
      handle: ({ body, actor }) => admin.data.import(body, actor),
    }),
    route({
      method: 'post',
      path: '/keys/rotate',
      summary: 'Re-seal every secret under the newest DATA_KEY; safe while serving, and resumable',
      body: { schema: s.noBody, optional: true },
      ok: { status: 200, description: 'what was re-sealed', schema: s.rotationResult },
      handle: ({ actor }) => admin.keys.rotate(actor),
    }),
    route({
      method: 'get',
      path: '/audit',
      summary: 'Audit events, newest first, with the names of their users and applications',
      description:
        '`user` is a user id; `username` a search as in the user list (with `*` a case-sensitive username pattern, without one a text in the username, email or name); `client` an application id (events of signing in to it, and of changing it); `since` and `until` a time range.',
      query: s.auditQuery,
      ok: { status: 200, description: 'a page of events, `next` to go on', schema: s.auditList },
      handle: async ({ query }) => {
        const page = await admin.audit.list({
          limit: query.limit,
          userId: query.user,
          users: query.username,
          clientId: query.client,
          type: query.type,
          since: query.since ? new Date(query.since) : undefined,
          until: query.until ? new Date(query.until) : undefined,
          cursor: query.cursor,
        });
        return {
          events: page.events.map((event) => ({ ...event, at: event.at.toISOString() })),
          ...(page.next ? { next: page.next } : {}),
        };
      },
    }),
  ];
}
