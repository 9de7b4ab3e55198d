/**
 * `npm start` (and `node dist/main.js`): checks the Node.js version before anything else is
 * loaded, then starts twofold (start.ts). Its imports are dynamic so that an old Node never
 * loads the rest.
 */
import { unsupportedNode } from './node-version.ts';

const problem = unsupportedNode(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// The page renderer's debug output prints every page's locals, a registration's secret
// among them: it stays off whatever DEBUG asks for (read when the module loads, so here).
if (process.env.DEBUG) process.env.DEBUG = `${process.env.DEBUG},-@ladjs/koa-views`;
await import('./start.ts');
