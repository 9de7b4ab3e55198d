/**
 * Where a sign-in's time goes, beside the cost of the password hash that bounds it.
 *   - argon2id hashes per second with the configured parameters, one at a time and with
 *     as many at once as there are cores: the ceiling of password sign-ins on this machine;
 *   - complete MFA sign-ins (authorize → password → code → consent → token exchange with
 *     openid-client) at 1, 2, 4 and 8 concurrent users;
 *   - refresh-token grants, 40 chains at once;
 *   - second-factor POSTs alone (a right code, through to the redirect), 4 at once.
 * For each: the rate, and per operation the node's CPU split by thread (the main thread's
 * JavaScript, libuv's pool, where the argon2id hash runs, and the garbage collector's and
 * V8's helpers), the log bytes it wrote, and on the real stores the operations it sent to
 * Redis and MongoDB by command, the bytes each way and the stores' own CPU (store-meter.ts).
 * twofold runs in a process of its own (as in production, logging one line per request at
 * info); the client runs in this process on the same cores, so the rates are a floor and
 * the CPU per operation is the figure that scales.
 * Loopback only, bounded in count. Prints its figures; not part of `npm test`.
 * Run: node bench/signin.ts   (BENCH_STORES=real|embedded runs one; BENCH_LOG_LEVEL=warn
 * measures without the request lines)
 */
import { availableParallelism } from 'node:os';
import { loadConfig } from '../src/config/load.ts';
import { createPasswordHasher } from '../src/domain/passwords.ts';
import { signIn, UserAgent } from '../test/support/relying-party.ts';
import { type RealStores, refreshingApplication } from '../test/support/server.ts';
import { openCodePages, pool, registeredPeople } from './people.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { nodeThreadCpuMs, operationWords, perOperation, type StoreMeter } from './store-meter.ts';
import { onEachStore } from './stores.ts';

const CONCURRENCY = [1, 2, 4, 8];
const SIGN_INS_PER_LEVEL = 60;
const REFRESH_CHAINS = 40;
const REFRESHES_PER_CHAIN = 25;
const CODE_POSTS = 120;
const WARM_UP = 40;

async function hashesPerSecond(parallel: number, count: number) {
  const { password } = loadConfig({});
  const hasher = await createPasswordHasher({ memoryKiB: password.memoryKiB, passes: password.passes, parallelism: password.parallelism });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < count) await hasher.hash('a long passphrase');
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: count / ((performance.now() - started) / 1000), cpuMs: (cpu.user + cpu.system) / 1000 / count };
}

const cores = availableParallelism();
const fixed = (n: number, digits = 1) => n.toFixed(digits);
const kB = (bytes: number) => `${fixed(bytes / 1024)} kB`;

/**
 * Runs `work` (which does `count` operations, each with `hashes` password hashes) and
 * prints what one operation cost. libuv's pool runs the argon2id hashes and the engine's
 * RS256 signatures (WebCrypto); the hashes' share is their count times the CPU of one hash
 * measured alone in this process, the rest of the pool is the signatures.
 */
async function measured(server: ServerProcess, meter: StoreMeter | undefined, label: string, hashes: number, work: () => Promise<number>) {
  const threads = nodeThreadCpuMs(server.pid);
  const stores = await meter?.read();
  const logBytes = server.logBytes();
  const started = performance.now();
  const count = await server.profiled(label, work);
  const seconds = (performance.now() - started) / 1000;
  const after = nodeThreadCpuMs(server.pid);
  const main = (after.main - threads.main) / count;
  const pool = (after.pool - threads.pool) / count;
  const hash = Math.min(pool, hashes * hashCpuMs);
  const helpers = (after.other - threads.other) / count;
  const node = main + pool + helpers;
  console.log(`  ${label}: ${fixed(count / seconds)}/s`);
  console.log(
    `    node CPU ${fixed(node, 2)} ms = main thread ${fixed(main, 2)} + libuv pool ${fixed(pool, 2)} (argon2id ${fixed(hash, 2)}, RS256 signatures ${fixed(pool - hash, 2)}) + GC/V8 helpers ${fixed(helpers, 2)}; log ${fixed((server.logBytes() - logBytes) / count, 0)} bytes`,
  );
  if (meter && stores) {
    const now = await meter.read();
    const redis = perOperation(stores.redis, now.redis, count);
    const mongo = perOperation(stores.mongo, now.mongo, count);
    console.log(
      `    Redis: ${fixed(redis.total)} commands (${operationWords(redis.operations)}), ${kB(redis.bytesWritten)} written, ${kB(redis.bytesRead)} read, CPU ${fixed(redis.cpuMs, 2)} ms`,
    );
    console.log(
      `    MongoDB: ${fixed(mongo.total)} commands (${operationWords(mongo.operations) || 'none'}), ${kB(mongo.bytesWritten)} written, ${kB(mongo.bytesRead)} read, CPU ${fixed(mongo.cpuMs, 2)} ms`,
    );
    console.log(
      `    node + stores other than the hash: ${fixed(node - hash + redis.cpuMs + mongo.cpuMs, 2)} ms (node ${fixed(node - hash, 2)}, Redis ${fixed(redis.cpuMs, 2)}, MongoDB test server ${fixed(mongo.cpuMs, 2)})`,
    );
  } else console.log(`    node CPU other than the hash: ${fixed(node - hash, 2)} ms`);
}

async function signInBench(name: string, real: RealStores | undefined, meter: StoreMeter | undefined, hashRate: number) {
  const server = await startServerProcess(real);
  try {
    console.log(`${name}:`);
    const { rp, secret } = await refreshingApplication(server, 'bench');
    const signInCount = CONCURRENCY.length * SIGN_INS_PER_LEVEL;
    const people = await registeredPeople(server, rp, 'bench', signInCount + CODE_POSTS + WARM_UP);
    const warmUp = people.slice(signInCount + CODE_POSTS);

    // Unmeasured: the engine's and twofold's code paths compiled and warm before the first level.
    let errors = await pool(warmUp, 4, async (person) => {
      await signIn(new UserAgent(), rp, person.credentials, { scope: 'openid offline_access', prompt: 'consent' }, person.phone.app);
    });
    const refreshTokens: string[] = [];
    for (const [level, concurrency] of CONCURRENCY.entries()) {
      const batch = people.slice(level * SIGN_INS_PER_LEVEL, (level + 1) * SIGN_INS_PER_LEVEL);
      await measured(server, meter, `complete MFA sign-ins, ${concurrency} at once`, 1, async () => {
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
        console.log(`  (${fixed(perSecond / hashRate, 2)} of the hash ceiling)`);
        return batch.length;
      });
    }

    // Refresh grants straight to the token endpoint (the client's own cost kept small).
    const tokenEndpoint = rp.config.serverMetadata().token_endpoint!;
    const basic = `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`;
    await measured(server, meter, `refresh-token grants, ${REFRESH_CHAINS} at once`, 0, async () => {
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
      return refreshed;
    });

    // The second-factor POST alone: code pages opened first, then only the POSTs measured.
    const opened = await openCodePages(rp, people.slice(signInCount, signInCount + CODE_POSTS), {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    errors += opened.errors;
    await measured(server, meter, 'second-factor POSTs (a right code), 4 at once', 0, async () => {
      errors += await pool(opened.pending, 4, async ({ agent, action, person }) => {
        const response = await agent.postForm(action, { code: await person.phone.code() });
        if (response.status !== 303) throw new Error(`the code POST answered ${response.status}`);
      });
      return opened.pending.length;
    });
    console.log(`  ${errors} errors`);
  } finally {
    await server.stop();
  }
}

console.log(`${cores} cores`);
const single = await hashesPerSecond(1, 40);
const hashCpuMs = single.cpuMs;
const parallel = await hashesPerSecond(cores, 80);
console.log(
  `argon2id (configured parameters): ${fixed(single.perSecond)} hashes/s one at a time (${fixed(1000 / single.perSecond)} ms, CPU ${fixed(single.cpuMs)} ms each), ${fixed(parallel.perSecond)} with ${cores} at once`,
);
await onEachStore((name, real, meter) => signInBench(name, real, meter, parallel.perSecond), { metered: true });
process.exit(0);
