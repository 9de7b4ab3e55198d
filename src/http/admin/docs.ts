import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Router from '@koa/router';

const require = createRequire(import.meta.url);
const swaggerUiDir = dirname(require.resolve('swagger-ui-dist/package.json'));

/** The viewer's files twofold serves itself (no CDN). */
const files = {
  'swagger-ui.css': { path: join(swaggerUiDir, 'swagger-ui.css'), type: 'text/css' },
  'swagger-ui-bundle.js': { path: join(swaggerUiDir, 'swagger-ui-bundle.js'), type: 'text/javascript' },
} as const;

/**
 * The admin API's documentation at /admin/api/docs: Swagger UI, served from twofold with
 * the pages' policy (no inline script or style; its one addition is fetching the document
 * from this origin). Like the document, the page holds no data; trying an operation out
 * needs the admin token, typed into the viewer's "Authorize".
 */
export function mountApiDocs(router: Router) {
  router.get('/docs', async (ctx) => {
    ctx.state.connectSelf = true;
    await ctx.render('api-docs', { title: 'Admin API documentation' });
  });
  for (const [name, file] of Object.entries(files)) {
    // Read once at start-up (about 2 MB in all), never while serving a request.
    const content = readFileSync(file.path);
    router.get(`/docs/${name}`, (ctx) => {
      ctx.type = file.type;
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = content;
    });
  }
}
