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
await import('./start.ts');
