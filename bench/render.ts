/**
 * What rendering a page costs through koa-views (as twofold does: per-request middleware,
 * which looks the template file up on disk at every render, then pug's cached template)
 * beside calling pug's compiled template directly (no lookup), for the login and the code
 * pages. A sign-in renders three to four pages; bench/signin.ts measures the node's CPU
 * per sign-in (about 28 ms on the embedded stores), so the difference per page times four,
 * over that, is the share the lookup costs. Prints its figures; not part of `npm test`.
 * Run: node bench/render.ts
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import pug from 'pug';
import { packageRoot } from '../src/config/load.ts';
import { defaultSettings } from '../src/domain/settings.ts';
import { createPageRenderer } from '../src/http/app.ts';

const RENDERS = 5000;
const viewsDir = join(packageRoot, 'views');
const app = new Koa();
const pages = createPageRenderer(viewsDir, async () => defaultSettings.brand);
const views: [string, Record<string, unknown>][] = [
  ['login', { title: 'Sign in', uid: 'abc', clientName: 'Wiki', username: '' }],
  ['totp-code', { title: 'Enter your code', uid: 'abc', clientName: 'Wiki', backup: false }],
];

function context() {
  const req = new IncomingMessage(new Socket());
  return app.createContext(req, new ServerResponse(req));
}

async function throughKoaViews(view: string, locals: Record<string, unknown>) {
  const ctx = context();
  await pages(ctx, () => ctx.render(view, locals));
  return ctx.body;
}

const compiled = new Map(views.map(([view]) => [view, pug.compileFile(join(viewsDir, `${view}.pug`), { basedir: viewsDir })]));
async function direct(view: string, locals: Record<string, unknown>) {
  const ctx = context();
  ctx.type = 'text/html';
  ctx.body = compiled.get(view)!({ brand: defaultSettings.brand, ...locals });
  return ctx.body;
}

async function timePerRender(render: typeof direct, view: string, locals: Record<string, unknown>) {
  for (let i = 0; i < 500; i++) await render(view, locals);
  const started = process.cpuUsage();
  for (let i = 0; i < RENDERS; i++) await render(view, locals);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / RENDERS;
}

for (const [view, locals] of views) {
  const viaViews = await timePerRender(throughKoaViews, view, locals);
  const viaPug = await timePerRender(direct, view, locals);
  console.log(
    `${view.padEnd(10)} koa-views ${viaViews.toFixed(3)} ms/render, pug directly ${viaPug.toFixed(3)} ms/render: ` +
      `the lookup costs ${(viaViews - viaPug).toFixed(3)} ms, ${((4 * (viaViews - viaPug) * 100) / 28).toFixed(2)} % of a 28 ms sign-in (4 pages)`,
  );
}
