import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { userSearch, type Actor, type Administration } from '../../domain/administration.ts';
import { AppError } from '../../domain/errors.ts';
import type { UserRecord } from '../../domain/ports.ts';
import { USERNAME_PATTERN } from '../../domain/users.ts';
import { presentUser } from '../admin/presenters.ts';
import { describeEvent, eventTypeLabels } from './audit-words.ts';
import { passwordField } from '../password-rules.ts';
import { parseForm, serviceProblem, typed, type FormState } from './forms.ts';
import { consoleLocals, consoleOf } from './session.ts';
import { userActions, type UserAction } from './user-actions.ts';

const PAGE = 25;

const password = passwordField;
const email = z
  .string()
  .trim()
  .max(254, { message: 'An email address has at most 254 characters.' })
  .pipe(z.union([z.literal(''), z.email({ message: 'Enter an email address, like name@example.com, or leave it empty.' })]));
const name = z.string().trim().max(256, { message: 'A name has at most 256 characters.' });

/** The add-a-user form, in words for the administrator. */
const newUserForm = z.object({
  username: z.string().regex(USERNAME_PATTERN, { message: 'Choose a username of 1 to 128 characters, without spaces or *.' }),
  email,
  name,
  password,
  role: z.enum(['user', 'admin']),
  email_verified: z.boolean(),
});
/** The user's details form. */
const profileForm = z.object({ email, name, email_verified: z.boolean() });

const emptyForm: FormState = { values: {}, errors: {} };

export function mountConsoleUsers(router: Router, admin: Administration) {
  const userOr404 = async (id: string) => {
    const user = await admin.users.get(id);
    if (!user) throw new AppError('not_found', 'There is no such user.');
    return user;
  };

  const listPage = async (ctx: Context, form: FormState = emptyForm) => {
    const q = typeof ctx.query.q === 'string' && ctx.query.q.trim() ? ctx.query.q.trim().slice(0, 128) : undefined;
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor.slice(0, 256) : undefined;
    const page = await admin.users.list({ limit: PAGE, ...(q ? userSearch(q) : {}), ...(cursor ? { after: cursor } : {}) });
    const users = await Promise.all(page.users.map(async (user) => presentUser(user, await admin.users.lockOf(user))));
    const next = page.next ? `/admin/users?${new URLSearchParams({ ...(q ? { q } : {}), cursor: page.next })}` : undefined;
    ctx.status = Object.keys(form.errors).length || form.error ? 400 : 200;
    await ctx.render('console/users', { title: 'Users', section: 'users', q: q ?? '', users, next, ...form, ...consoleLocals(ctx) });
  };

  const userPage = async (ctx: Context, user: UserRecord, form?: FormState) => {
    const { events } = await admin.audit.list({ userId: user.id, limit: 20 });
    ctx.status = form && (Object.keys(form.errors).length || form.error) ? 400 : 200;
    await ctx.render('console/user', {
      title: user.username,
      section: 'users',
      user: presentUser(user, await admin.users.lockOf(user)),
      events: events.map((event) => ({
        ...event,
        at: event.at.toISOString(),
        label: eventTypeLabels[event.type],
        what: describeEvent(event),
      })),
      ...(form ?? {
        values: { email: user.email ?? '', name: user.name ?? '', email_verified: user.emailVerified ? 'on' : '' },
        errors: {},
      }),
      ...consoleLocals(ctx),
    });
  };

  router.get('/users', (ctx) => listPage(ctx));

  router.post('/users', async (ctx) => {
    const values = typed(ctx.request.body);
    const parsed = parseForm(newUserForm, {
      ...values,
      role: values.role === 'admin' ? 'admin' : 'user',
      email_verified: values.email_verified === 'on',
    });
    if (!parsed.ok) return listPage(ctx, { values, errors: parsed.errors });
    const { username, password: secret, email: address, name: fullName, role, email_verified } = parsed.data;
    let user: UserRecord;
    try {
      user = await admin.users.create(
        {
          username,
          password: secret,
          ...(address ? { email: address, emailVerified: email_verified } : {}),
          ...(fullName ? { name: fullName } : {}),
          ...(role === 'admin' ? { role: 'admin' as const } : {}),
        },
        consoleOf(ctx).actor,
      );
    } catch (err) {
      if ((err as AppError).code === 'conflict')
        return listPage(ctx, { values, errors: { username: 'This username is taken. Choose another.' } });
      const problem = serviceProblem(err, { username: 'username', email: 'email', name: 'name', password: 'password' });
      if (problem) return listPage(ctx, { values, ...problem });
      throw err;
    }
    consoleOf(ctx).done(`/admin/users/${encodeURIComponent(user.id)}`, {
      message: `${user.username} was added${role === 'admin' ? ' as an administrator' : ''}. Their first sign-in that asks for a second factor sets up an authenticator app.`,
    });
  });

  router.get('/users/:id', async (ctx) => userPage(ctx, await userOr404(ctx.params.id!)));

  // The user's details: email and name.
  router.post('/users/:id', async (ctx) => {
    const user = await userOr404(ctx.params.id!);
    const values = typed(ctx.request.body);
    const parsed = parseForm(profileForm, { ...values, email_verified: values.email_verified === 'on' });
    if (!parsed.ok) return userPage(ctx, user, { values, errors: parsed.errors });
    const { email: address, name: fullName, email_verified } = parsed.data;
    const updated = await admin.users.update(
      user.id,
      { email: address === '' ? null : address, emailVerified: address !== '' && email_verified, name: fullName === '' ? null : fullName },
      consoleOf(ctx).actor,
    );
    const changed =
      (user.email ?? '') !== (updated?.email ?? '') ||
      (user.name ?? '') !== (updated?.name ?? '') ||
      !!user.emailVerified !== !!updated?.emailVerified;
    consoleOf(ctx).done(`/admin/users/${encodeURIComponent(user.id)}`, {
      message: changed ? `The details of ${user.username} were saved.` : 'Nothing was changed.',
    });
  });

  const confirmPage = (ctx: Context, user: UserRecord, action: UserAction, error?: string) => {
    ctx.status = error ? 400 : 200;
    const path = `/admin/users/${encodeURIComponent(user.id)}`;
    return ctx.render('console/confirm', {
      section: 'users',
      ...userActions[action],
      subject: user.username,
      formAction: `${path}/${action}`,
      backHref: path,
      askPassword: action === 'set-password',
      errors: error ? { password: error } : {},
      values: {},
      ...consoleLocals(ctx),
    });
  };

  /**
   * One authenticator of a user, removed by an administrator: security keys and passkeys,
   * and authenticator apps. The user is signed out everywhere; a user left with none
   * registers anew.
   */
  const kinds = {
    keys: {
      find: (user: UserRecord, id: string) => user.mfa.webauthn?.find((key) => key.id === id),
      noun: 'security key',
      lead: 'The key no longer signs the user in',
      remove: (userId: string, id: string, actor: Actor) => admin.users.removeKey(userId, id, actor),
    },
    apps: {
      find: (user: UserRecord, id: string) => user.mfa.apps?.find((app) => app.id === id),
      noun: 'authenticator app',
      lead: 'The codes of this app no longer sign the user in',
      remove: (userId: string, id: string, actor: Actor) => admin.users.removeApp(userId, id, actor),
    },
  };

  for (const [path, kind] of Object.entries(kinds)) {
    const heldOr404 = (user: UserRecord, id: string) => {
      const held = kind.find(user, id);
      if (!held) throw new AppError('not_found', `There is no such ${kind.noun} of this user.`);
      return held;
    };

    router.get(`/users/:id/${path}/:itemId/remove`, async (ctx) => {
      const user = await userOr404(ctx.params.id!);
      const held = heldOr404(user, ctx.params.itemId!);
      const here = `/admin/users/${encodeURIComponent(user.id)}`;
      await ctx.render('console/confirm', {
        section: 'users',
        title: `Remove the ${kind.noun} “${held.name}”?`,
        lead: `${kind.lead}, and every session of the user ends now. A user left with no second factor registers one at the next sign-in that asks for it.`,
        button: `Remove the ${kind.noun}`,
        danger: true,
        subject: user.username,
        formAction: `${here}/${path}/${encodeURIComponent(held.id)}/remove`,
        backHref: here,
        askPassword: false,
        errors: {},
        values: {},
        ...consoleLocals(ctx),
      });
    });

    router.post(`/users/:id/${path}/:itemId/remove`, async (ctx) => {
      const user = await userOr404(ctx.params.id!);
      const held = heldOr404(user, ctx.params.itemId!);
      await kind.remove(user.id, held.id, consoleOf(ctx).actor);
      consoleOf(ctx).done(`/admin/users/${encodeURIComponent(user.id)}`, {
        message: `The ${kind.noun} “${held.name}” of ${user.username} was removed and their sessions ended.`,
      });
    });
  }

  const actionOf = (ctx: Context): UserAction => {
    const action = ctx.params.action!;
    if (!Object.hasOwn(userActions, action)) throw new AppError('not_found', 'There is no such page.');
    return action as UserAction;
  };

  router.get('/users/:id/:action', async (ctx) => {
    const action = actionOf(ctx);
    await confirmPage(ctx, await userOr404(ctx.params.id!), action);
  });

  router.post('/users/:id/:action', async (ctx) => {
    const action = actionOf(ctx);
    const user = await userOr404(ctx.params.id!);
    const { actor } = consoleOf(ctx);
    const here = `/admin/users/${encodeURIComponent(user.id)}`;
    switch (action) {
      case 'reset-mfa':
        await admin.users.resetMfa(user.id, actor);
        break;
      case 'unlock':
        await admin.users.unlock(user.id, actor);
        break;
      case 'end-sessions':
        await admin.users.endSessions(user.id, actor);
        break;
      case 'forget-browsers':
        await admin.users.forgetBrowsers(user.id, undefined, actor);
        break;
      case 'exempt':
      case 'unexempt':
        await admin.users.update(user.id, { exempt: action === 'exempt' }, actor);
        break;
      case 'disable':
      case 'enable':
        await admin.users.update(user.id, { disabled: action === 'disable' }, actor);
        break;
      case 'make-admin':
      case 'remove-admin':
        if (action === 'remove-admin' && user.id === consoleOf(ctx).admin.id) {
          return confirmPage(ctx, user, action, 'You cannot take the role from yourself: ask another administrator.');
        }
        await admin.users.update(user.id, { role: action === 'make-admin' ? 'admin' : null }, actor);
        break;
      case 'set-password': {
        const parsed = password.safeParse((ctx.request.body as Record<string, unknown>).password ?? '');
        if (!parsed.success) return confirmPage(ctx, user, action, parsed.error.issues[0]!.message);
        await admin.users.update(user.id, { password: parsed.data }, actor);
        break;
      }
      case 'delete':
        await admin.users.delete(user.id, actor);
        return consoleOf(ctx).done('/admin/users', { message: userActions.delete.done(user.username) });
    }
    consoleOf(ctx).done(here, { message: userActions[action].done(user.username) });
  });
}
