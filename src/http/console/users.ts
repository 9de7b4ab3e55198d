import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { presentUser } from '../admin/presenters.ts';
import { username as usernameSchema } from '../admin/schemas.ts';
import { consoleOf } from './session.ts';

const PAGE = 25;

/** What each user action asks and does; all of them go through the administration service. */
const actions = {
  'reset-mfa': {
    title: 'Reset the authenticator app?',
    lead: 'The app and the backup codes are removed, a lock is lifted, and every session of the user ends now. The next sign-in that asks for a second factor registers a new app.',
    button: 'Reset the authenticator app',
    danger: true,
  },
  'end-sessions': {
    title: 'Sign this user out everywhere?',
    lead: 'Every sign-in session and refresh token of the user ends now, on every application: the next sign-in asks for the password and the code.',
    button: 'Sign out everywhere',
    danger: true,
  },
  unlock: { title: 'Unlock?', lead: 'The lock after too many wrong codes is lifted now.', button: 'Unlock', danger: false },
  exempt: {
    title: 'Exempt from the second factor?',
    lead: 'An exempt user is never asked for a second factor, by any application.',
    button: 'Exempt',
    danger: true,
  },
  unexempt: {
    title: 'Ask for the second factor again?',
    lead: "The user is asked as the applications' policies say.",
    button: 'Remove the exemption',
    danger: false,
  },
  disable: {
    title: 'Disable this user?',
    lead: 'A disabled user cannot sign in, and every session of theirs ends now. Their authenticator app is kept.',
    button: 'Disable',
    danger: true,
  },
  enable: { title: 'Enable this user?', lead: 'The user can sign in again.', button: 'Enable', danger: false },
  'set-password': {
    title: 'Set a new password?',
    lead: 'Every session of the user ends now; they sign in with the new password.',
    button: 'Set the password',
    danger: true,
  },
  delete: {
    title: 'Delete this user?',
    lead: 'The user and their authenticator app are deleted for good, and every session of theirs ends now.',
    button: 'Delete the user',
    danger: true,
  },
} as const;
type Action = keyof typeof actions;
const isAction = (name: string): name is Action => Object.hasOwn(actions, name);

const passwordField = z
  .string()
  .min(8, { message: 'The password needs at least 8 characters.' })
  .max(1024, { message: 'The password has at most 1024 characters.' });

export function mountConsoleUsers(router: Router, admin: Administration) {
  const userOr404 = async (id: string) => {
    const user = await admin.users.get(id);
    if (!user) throw new AppError('not_found', 'There is no such user.');
    return user;
  };

  router.get('/users', async (ctx) => {
    const q = typeof ctx.query.q === 'string' && ctx.query.q.trim() ? ctx.query.q.trim().slice(0, 128) : undefined;
    const cursor = typeof ctx.query.cursor === 'string' ? ctx.query.cursor.slice(0, 256) : undefined;
    const page = await admin.users.list({ limit: PAGE, ...(q ? { pattern: q } : {}), ...(cursor ? { after: cursor } : {}) });
    const users = await Promise.all(page.users.map(async (user) => presentUser(user, await admin.users.lockOf(user))));
    const next = page.next ? `/admin/users?${new URLSearchParams({ ...(q ? { q } : {}), cursor: page.next })}` : undefined;
    await ctx.render('console/users', { title: 'Users', section: 'users', q: q ?? '', users, next, ...consoleOf(ctx) });
  });

  router.get('/users/:id', async (ctx) => {
    const user = await userOr404(ctx.params.id!);
    const { events } = await admin.audit.list({ userId: user.id, limit: 20 });
    await ctx.render('console/user', {
      title: user.username,
      section: 'users',
      user: presentUser(user, await admin.users.lockOf(user)),
      events: events.map((event) => ({ ...event, at: event.at.toISOString() })),
      ...consoleOf(ctx),
    });
  });

  const confirmPage = (ctx: Context, id: string, username: string, action: Action, error?: string) => {
    ctx.status = error ? 400 : 200;
    return ctx.render('console/confirm', { section: 'users', ...actions[action], action, id, username, error, ...consoleOf(ctx) });
  };

  router.get('/users/:id/:action', async (ctx) => {
    if (!isAction(ctx.params.action!)) throw new AppError('not_found', 'There is no such page.');
    const user = await userOr404(ctx.params.id!);
    await confirmPage(ctx, user.id, user.username, ctx.params.action);
  });

  router.post('/users/:id/:action', async (ctx) => {
    const action = ctx.params.action!;
    if (!isAction(action)) throw new AppError('not_found', 'There is no such page.');
    const user = await userOr404(ctx.params.id!);
    const { actor } = consoleOf(ctx);
    const body = ctx.request.body as Record<string, string>;
    try {
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
        case 'exempt':
        case 'unexempt':
          await admin.users.update(user.id, { exempt: action === 'exempt' }, actor);
          break;
        case 'disable':
        case 'enable':
          await admin.users.update(user.id, { disabled: action === 'disable' }, actor);
          break;
        case 'set-password': {
          const parsed = passwordField.safeParse(body.password ?? '');
          if (!parsed.success) return confirmPage(ctx, user.id, user.username, action, parsed.error.issues[0]!.message);
          await admin.users.update(user.id, { password: parsed.data }, actor);
          break;
        }
        case 'delete':
          await admin.users.delete(user.id, actor);
          ctx.status = 303;
          return ctx.redirect('/admin/users');
      }
    } catch (err) {
      if (isAppError(err) && err.status < 500) return confirmPage(ctx, user.id, user.username, action, err.message);
      throw err;
    }
    ctx.status = 303;
    ctx.redirect(`/admin/users/${encodeURIComponent(user.id)}`);
  });

  router.post('/users', async (ctx) => {
    const body = ctx.request.body as Record<string, string>;
    const parsed = z
      .object({ username: usernameSchema, password: passwordField, role: z.enum(['user', 'admin']).default('user') })
      .safeParse({ username: body.username ?? '', password: body.password ?? '', role: body.role || undefined });
    if (!parsed.success) throw new AppError('invalid_request', parsed.error.issues[0]!.message);
    const user = await admin.users.create(
      {
        username: parsed.data.username,
        password: parsed.data.password,
        ...(parsed.data.role === 'admin' ? { role: 'admin' as const } : {}),
      },
      consoleOf(ctx).actor,
    );
    ctx.status = 303;
    ctx.redirect(`/admin/users/${encodeURIComponent(user.id)}`);
  });
}
