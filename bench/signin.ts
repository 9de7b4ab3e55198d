/**
 * Whole sign-ins per second, beside the cost of the password hash that bounds them.
 *   - argon2id hashes per second with the configured parameters, one at a time and with
 *     as many at once as there are cores (the ceiling of password sign-ins);
 *   - complete MFA sign-ins (authorize → password → code → token exchange with
 *     openid-client) at 1, 2, 4 and 8 concurrent users, on the embedded stores and on
 *     Redis + the MongoDB test server (all on this machine's cores: the figures are a floor);
 *   - refresh-token grants per second.
 * Loopback only, bounded in count. Prints its figures; not part of `npm test`.
 * Run: node bench/signin.ts   (or npm run bench:signin)
 */
import { availableParallelism } from 'node:os';
import * as oidc from 'openid-client';
import { loadConfig } from '../src/config/load.ts';
import { createManualClock } from '../src/domain/clock.ts';
import { createPasswordHasher } from '../src/domain/passwords.ts';
import { registeredUser } from '../test/support/mfa.ts';
import { relyingParty, signIn, UserAgent } from '../test/support/relying-party.ts';
import { registerClient, startTestServer, type RealStores } from '../test/support/server.ts';
import { onEachStore } from './stores.ts';

const CONCURRENCY = [1, 2, 4, 8];
const SIGN_INS_PER_LEVEL = 40;

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

async function signInBench(name: string, real: RealStores | undefined) {
  const clock = createManualClock(Date.now());
  const server = await startTestServer({ ...(real ? { real } : {}), clock });
  try {
    const created = await registerClient(server, {
      client_id: 'bench',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      first_party: true,
      mfa_policy: 'required',
    });
    const rp = await relyingParty(server.issuer, 'bench', created.client_secret, 'http://127.0.0.1:9/cb');
    const total = CONCURRENCY.length * SIGN_INS_PER_LEVEL;
    const people = [];
    for (let i = 0; i < total; i++) people.push(await registeredUser(server, rp, clock, `bench${i}`));

    let errors = 0;
    const refreshTokens: string[] = [];
    for (const [level, concurrency] of CONCURRENCY.entries()) {
      const batch = people.slice(level * SIGN_INS_PER_LEVEL, (level + 1) * SIGN_INS_PER_LEVEL);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < batch.length) {
            const person = batch[next++]!;
            try {
              const { tokens } = await signIn(new UserAgent(), rp, person.credentials, { scope: 'openid offline_access', prompt: 'consent' }, person.phone.app);
              refreshTokens.push(tokens.refresh_token!);
            } catch {
              errors++;
            }
          }
        }),
      );
      const perSecond = batch.length / ((performance.now() - started) / 1000);
      console.log(`${name}: ${perSecond.toFixed(1)} complete MFA sign-ins/s with ${concurrency} at once`);
    }

    let refreshed = 0;
    const started = performance.now();
    await Promise.all(
      refreshTokens.slice(0, 80).map(async (token) => {
        let current = token;
        for (let i = 0; i < 5; i++) {
          current = (await oidc.refreshTokenGrant(rp.config, current)).refresh_token!;
          refreshed++;
        }
      }),
    ).catch(() => errors++);
    console.log(`${name}: ${(refreshed / ((performance.now() - started) / 1000)).toFixed(0)} refresh-token grants/s (80 at once)`);
    console.log(`${name}: ${errors} errors`);
  } finally {
    await server.close();
  }
}

const cores = availableParallelism();
console.log(`${cores} cores`);
console.log(`argon2id (configured parameters): ${(await hashesPerSecond(1, 40)).toFixed(1)} hashes/s one at a time, ${(await hashesPerSecond(cores, 80)).toFixed(1)} with ${cores} at once`);
await onEachStore(signInBench);
process.exit(0);
