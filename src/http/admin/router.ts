import Router from '@koa/router';
import type { ClientService } from '../../domain/clients.ts';
import type { RecoveryService } from '../../domain/recovery.ts';
import type { SecondFactorService } from '../../domain/second-factor.ts';
import type { SettingsService } from '../../domain/settings.ts';
import type { UserService } from '../../domain/users.ts';
import type { UserStore } from '../../stores/types.ts';
import { bodyParser, emptyOrJson } from '../body.ts';
import { adminAuth } from './auth.ts';
import { mountClientRoutes } from './clients.ts';
import { mountSettingsRoutes } from './settings.ts';
import { mountUserRoutes } from './users.ts';

/** The admin REST API under /admin/api (SPEC section 7). */
export function createAdminRouter(deps: {
  adminToken: string;
  users: UserStore;
  userService: UserService;
  clients: ClientService;
  settings: SettingsService;
  secondFactor: SecondFactorService;
  recovery: RecoveryService;
  bodyLimit: number;
  onSettingsChange: (changed: string[]) => void;
}) {
  const router = new Router({ prefix: '/admin/api' });
  const json = bodyParser({ limit: deps.bodyLimit, accept: ['json'] });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(adminAuth(deps.adminToken));
  mountUserRoutes(router, { users: deps.users, userService: deps.userService, secondFactor: deps.secondFactor, recovery: deps.recovery, json, action: emptyOrJson(deps.bodyLimit) });
  mountClientRoutes(router, { clients: deps.clients, json });
  mountSettingsRoutes(router, { settings: deps.settings, json, onChange: deps.onSettingsChange });
  return router;
}
