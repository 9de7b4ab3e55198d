import Router from '@koa/router';
import type { Stores } from '../stores/types.ts';

/** /healthz: the process answers. /readyz: MongoDB and Redis answer too (503 otherwise). */
export function createHealthRoutes(stores: Stores) {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const health = await stores.health();
    const ready = health.mongodb && health.redis;
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'unavailable',
      mongodb: health.mongodb ? 'up' : 'down',
      redis: health.redis ? 'up' : 'down',
    };
  });
  return router;
}
