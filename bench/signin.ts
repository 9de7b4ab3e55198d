/**
 * Whole sign-ins per second, beside the cost of the password hash that bounds them.
 *   - argon2id hashes per second with the configured parameters, one at a time and with
 *     as many at once as there are cores: the ceiling of password sign-ins on this machine;
 *   - complete MFA sign-ins (authorize → password → code → token exchange with
 *     openid-client) at 1, 2, 4 and 8 concurrent users, and the node's CPU per sign-in;
 *   - refresh-token grants per second, and the node's CPU per grant (grants/s per core).
 * twofold runs in a process of its own (as in production), on the embedded stores and on
 * Redis + the MongoDB test server; the client runs in this process on the same cores, so
 * the rates are a floor and the node's CPU per operation is the figure that scales.
 * Loopback only, bounded in count. Prints its figures; not part of `npm test`.
 * Run: node bench/signin.ts
 */
import { availableParallelism } from 'node:os';
import { loadConfig } from '../src/config/load.ts';
import { createPasswordHasher } from '../src/domain/passwords.ts';
import { signIn, UserAgent } from '../test/support/relying-party.ts';
import { type RealStores, refreshingApplication } from '../test/support/server.ts';
import { pool, registeredPeople } from './people.ts';
import { startServerProcess } from './server-process.ts';
import { onEachStore } from './stores.ts';

const CONCURRENCY = [1, 2, 4, 8];
const SIGN_INS_PER_LEVEL = 60;
const REFRESH_CHAINS = 40;
const REFRESHES_PER_CHAIN = 25;

async function hashesPerSecond(parallel: number, count: number) {
  const { password } = loadConfig({});
  const hasher = await createPasswordHasher({ memoryKiB: password.memoryKiB, passes: password.passes, parallelism: password.parallelism });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < count) await hasher.hash('a long passphrase');
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const cores = availableParallelism();

async function signInBench(name: string, real: RealStores | undefined, hashRate: number) {
  const server = await startServerProcess(real);
  try {
    const { rp, secret } = await refreshingApplication(server, 'bench');
    const people = await registeredPeople(server, rp, 'bench', CONCURRENCY.length * SIGN_INS_PER_LEVEL);

    let errors = 0;
    const refreshTokens: string[] = [];
    for (const [level, concurrency] of CONCURRENCY.entries()) {
      const batch = people.slice(level * SIGN_INS_PER_LEVEL, (level + 1) * SIGN_INS_PER_LEVEL);
      const before = await server.usage();
      const started = performance.now();
      errors += await pool(batch, concurrency, async (person) => {
        const { tokens } = await signIn(
          new UserAgent(),
          rp,
          person.credentials,
          { scope: 'openid offline_access', prompt: 'consent' },
          person.phone.app,
        );
        refreshTokens.push(tokens.refresh_token!);
      });
      const perSecond = batch.length / ((performance.now() - started) / 1000);
      const cpuMs = (((await server.usage()).cpuSeconds - before.cpuSeconds) * 1000) / batch.length;
      console.log(
        `${name}: ${perSecond.toFixed(1)} complete MFA sign-ins/s with ${concurrency} at once (${(perSecond / hashRate).toFixed(2)} of the hash ceiling); node CPU ${cpuMs.toFixed(1)} ms per sign-in`,
      );
    }

    // Refresh grants straight to the token endpoint (the client's own cost kept small).
    const tokenEndpoint = rp.config.serverMetadata().token_endpoint!;
    const basic = `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`;
    const before = await server.usage();
    const started = performance.now();
    let refreshed = 0;
    errors += await pool(refreshTokens.slice(0, REFRESH_CHAINS), REFRESH_CHAINS, async (token) => {
      let current = token;
      for (let i = 0; i < REFRESHES_PER_CHAIN; i++) {
        const response = await fetch(tokenEndpoint, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current }),
        });
        if (response.status !== 200) throw new Error(`refresh answered ${response.status}: ${await response.text()}`);
        current = ((await response.json()) as { refresh_token: string }).refresh_token;
        refreshed++;
      }
    });
    const perSecond = refreshed / ((performance.now() - started) / 1000);
    const cpuMs = (((await server.usage()).cpuSeconds - before.cpuSeconds) * 1000) / refreshed;
    console.log(
      `${name}: ${perSecond.toFixed(0)} refresh-token grants/s (${REFRESH_CHAINS} at once); node CPU ${cpuMs.toFixed(2)} ms per grant = ${(1000 / cpuMs).toFixed(0)} grants/s per core`,
    );
    console.log(`${name}: ${errors} errors`);
  } finally {
    await server.stop();
  }
}

console.log(`${cores} cores`);
const single = await hashesPerSecond(1, 40);
const parallel = await hashesPerSecond(cores, 80);
console.log(
  `argon2id (configured parameters): ${single.toFixed(1)} hashes/s one at a time (${(1000 / single).toFixed(1)} ms), ${parallel.toFixed(1)} with ${cores} at once`,
);
await onEachStore((name, real) => signInBench(name, real, parallel));
process.exit(0);
