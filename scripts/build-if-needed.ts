/**
 * Runs before `npm start`: compiles src/ to dist/ when dist/ is missing or older than any
 * source file, so a fresh checkout starts with one command. The types are not checked
 * here (tsc --noCheck: the same JavaScript, several times faster); `npm test` and CI
 * check them. The build says what it is doing and how long it took.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const built = 'dist/main.js';
const sources = Math.max(newest('src'), statSync('package.json').mtimeMs, statSync('tsconfig.json').mtimeMs);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  const started = Date.now();
  const files = readdirSync('src', { recursive: true }).filter((name) => String(name).endsWith('.ts')).length;
  console.log(`twofold: building dist/ from ${files} source files (first start, or the sources changed)…`);
  // A line every few seconds, so a slow machine is seen to be working.
  const ticker = setInterval(() => console.log(`twofold: still building (${Math.round((Date.now() - started) / 1000)} s)…`), 5000);
  const child = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--noCheck'], {
    stdio: 'inherit',
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (status) => resolve(status ?? 1)));
  clearInterval(ticker);
  if (code !== 0) {
    console.error('twofold: the build failed (see above)');
    process.exit(1);
  }
  console.log(`twofold: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
