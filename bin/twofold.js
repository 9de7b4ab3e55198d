#!/usr/bin/env node
// The `twofold` command. It runs the built CLI (dist/, as in the Docker image) when there
// is one, else the TypeScript source on the project's Node 22 (the `node` development
// dependency), which runs TypeScript as it is.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/cli/main.js');
const source = join(root, 'src/cli/main.ts');
const node22 = join(root, 'node_modules/node/bin/node');
const [node, entry] = existsSync(built) ? [process.execPath, built] : [existsSync(node22) ? node22 : process.execPath, source];
const result = spawnSync(node, ['--disable-warning=ExperimentalWarning', entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
