import type { Router, RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import type { UserService } from '../../domain/users.ts';
import type { UserStore } from '../../stores/types.ts';
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

export function mountUserRoutes(router: Router, deps: { users: UserStore; userService: UserService; json: RouterMiddleware }) {
  router.post('/users', deps.json, async (ctx) => {
    const input = parseInput(newUser, ctx.request.body);
    const user = await deps.userService.create(input);
    ctx.status = 201;
    ctx.body = presentUser(user);
  });

  router.get('/users', async (ctx) => {
    const query = parseInput(listQuery, ctx.query);
    const users = await deps.users.list({ ...(query.q === undefined ? {} : { pattern: query.q }), limit: query.limit });
    ctx.body = { users: users.map(presentUser) };
  });

  router.patch('/users/:id', deps.json, async (ctx) => {
    const id = parseInput(idParam, ctx.params.id);
    const patch = parseInput(userPatch, ctx.request.body);
    const user = await deps.users.update(id, patch, new Date());
    if (!user) throw new AppError('not_found', 'no user with this id');
    ctx.body = presentUser(user);
  });

  router.get('/users/:id', async (ctx) => {
    const user = await deps.users.findById(parseInput(idParam, ctx.params.id));
    if (!user) throw new AppError('not_found', 'no user with this id');
    ctx.body = presentUser(user);
  });
}
