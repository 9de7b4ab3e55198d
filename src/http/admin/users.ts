import type { Router, RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import type { RecoveryService } from '../../domain/recovery.ts';
import type { SecondFactorService } from '../../domain/second-factor.ts';
import type { UserService } from '../../domain/users.ts';
import type { UserRecord, UserStore } from '../../stores/types.ts';
import { parseInput } from '../validate.ts';
import { presentUser } from './presenters.ts';

// No whitespace or control characters, and no `*`: it is the search wildcard.
export const usernameSchema = z
  .string()
  .regex(/^[^\s\p{Cc}*]{1,128}$/u, { message: '1 to 128 characters, without spaces, control characters or *' });

const newUser = z.strictObject({
  username: usernameSchema,
  password: z.string().min(8, { message: 'at least 8 characters' }).max(1024, { message: 'at most 1024 characters' }),
  email: z.email({ message: 'an email address' }).max(254).optional(),
  name: z.string().trim().min(1).max(256).optional(),
});

const listQuery = z.strictObject({
  q: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const idParam = z.string().min(1).max(64);

const userPatch = z
  .strictObject({ disabled: z.boolean().optional(), exempt: z.boolean().optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

const noBody = z.strictObject({});

export function mountUserRoutes(
  router: Router,
  deps: {
    users: UserStore;
    userService: UserService;
    secondFactor: SecondFactorService;
    recovery: RecoveryService;
    json: RouterMiddleware;
    action: RouterMiddleware;
  },
) {
  const present = async (user: UserRecord) => presentUser(user, await deps.secondFactor.lockOf(user.id));
  const notFound = () => new AppError('not_found', 'no user with this id');
  const adminSource = (ctx: { ip: string; get(name: string): string }) => ({ actor: 'admin', ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });

  router.post('/users', deps.json, async (ctx) => {
    const input = parseInput(newUser, ctx.request.body);
    const user = await deps.userService.create(input);
    ctx.status = 201;
    ctx.body = await present(user);
  });

  router.get('/users', async (ctx) => {
    const query = parseInput(listQuery, ctx.query);
    const users = await deps.users.list({ ...(query.q === undefined ? {} : { pattern: query.q }), limit: query.limit });
    ctx.body = { users: await Promise.all(users.map(present)) };
  });

  router.patch('/users/:id', deps.json, async (ctx) => {
    const id = parseInput(idParam, ctx.params.id);
    const patch = parseInput(userPatch, ctx.request.body);
    const user = await deps.users.update(id, patch, new Date());
    if (!user) throw notFound();
    ctx.body = await present(user);
  });

  router.get('/users/:id', async (ctx) => {
    const user = await deps.users.findById(parseInput(idParam, ctx.params.id));
    if (!user) throw notFound();
    ctx.body = await present(user);
  });

  router.delete('/users/:id', async (ctx) => {
    if (!(await deps.recovery.deleteUser(parseInput(idParam, ctx.params.id), adminSource(ctx)))) throw notFound();
    ctx.status = 204;
  });

  // The recovery actions take no input and answer with the user as it is afterwards. A
  // reset deregisters the device and backup codes: the next sign-in registers anew.
  const recoveryActions = [
    ['/users/:id/mfa/reset', deps.recovery.resetMfa],
    ['/users/:id/unlock', deps.recovery.unlock],
  ] as const;
  for (const [path, act] of recoveryActions) {
    router.post(path, deps.action, async (ctx) => {
      const id = parseInput(idParam, ctx.params.id);
      parseInput(noBody, ctx.request.body);
      if (!(await act(id, adminSource(ctx)))) throw notFound();
      const user = await deps.users.findById(id);
      if (!user) throw notFound();
      ctx.body = await present(user);
    });
  }
}
