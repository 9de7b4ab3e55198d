/**
 * A node's memory with many live sessions against none: sessions, grants and tokens live
 * in Redis, so a node's resident memory should not grow with them (target: ≤ 5 MB for
 * 10 000 sessions). twofold runs in a process of its own on Redis + the MongoDB test
 * server; 100 users sign in 100 times each, each time from a new browser (a new session,
 * grant, and tokens). The node's RSS and V8 heap are read after a full garbage
 * collection (bench/memory-probe.ts, loaded into the benchmarked node only).
 * BENCH_SESSIONS sets the number (default 10 000); MALLOC_ARENA_MAX is passed on to the
 * node when set. Loopback only; not part of `npm test`.
 * Run: node bench/sessions-rss.ts
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { connectRedis, createRedis } from '../src/stores/redis/connection.ts';
import { startMongoServer, startRedis } from '../test/support/processes.ts';
import { signIn, UserAgent } from '../test/support/relying-party.ts';
import { createUser, refreshingApplication } from '../test/support/server.ts';
import { pool } from './people.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const USERS = 100;
// The first couple of thousand sign-ins grow the node to its working size (compiled code,
// V8's heap spaces, argon2's 19 MiB blocks in each of libuv's threads, the allocator's
// arenas): the baseline is taken after them, and checkpoints show whether it still grows.
const WARM_UP = 2000;
const CHECKPOINT = 2500;
const MB = 1024 * 1024;

const memory = async (server: ServerProcess) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { rss, heapUsed, heapTotal, external } = await server.memoryAfterGc();
  return { rss: rss / MB, heap: heapUsed / MB, heapTotal: heapTotal / MB, external: external / MB };
};
const show = (at: Awaited<ReturnType<typeof memory>>) =>
  `RSS ${at.rss.toFixed(1)} MB, V8 heap ${at.heap.toFixed(1)} MB used of ${at.heapTotal.toFixed(1)} MB, external ${at.external.toFixed(1)} MB`;

console.log(`${availableParallelism()} cores`);
const redisService = await startRedis();
const mongo = await startMongoServer();
const keyPrefix = '{rss}:';
const server = await startServerProcess({
  mongoUri: `${mongo.url}/rss`,
  redisUrl: redisService.url,
  keyPrefix,
  dataKey: randomBytes(32).toString('base64'),
  cookieKeys: randomBytes(32).toString('base64url'),
});
const redis = createRedis({ url: redisService.url, commandTimeoutMs: 5000 });
await connectRedis(redis, 5000);
try {
  const { rp } = await refreshingApplication(server, 'rss', 'off');
  const users = Array.from({ length: USERS }, (_, i) => ({ username: `rss${i}`, password: 'a long passphrase' }));
  for (const user of users) await createUser(server, user);
  const sessions = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => users[(from + i) % USERS]!);
  const signInOnce = async (credentials: { username: string; password: string }) => {
    await signIn(new UserAgent(), rp, credentials, { scope: 'openid offline_access', prompt: 'consent' });
  };

  let errors = await pool(sessions(0, WARM_UP), 8, signInOnce);
  const none = await memory(server);
  const keysBefore = await redis.dbsize();
  console.log(`after ${WARM_UP} warm-up sign-ins, after a full GC: ${show(none)}`);
  const started = performance.now();
  for (let done = 0; done < SESSIONS; done += CHECKPOINT) {
    const next = Math.min(SESSIONS, done + CHECKPOINT);
    errors += await pool(sessions(WARM_UP + done, WARM_UP + next), 8, signInOnce);
    if (next < SESSIONS) {
      const at = await memory(server);
      console.log(`  + ${next} live sessions: ${show(at)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const many = await memory(server);
  const keysAfter = await redis.dbsize();
  console.log(
    `${SESSIONS} sign-ins in ${seconds.toFixed(0)} s (${(SESSIONS / seconds).toFixed(1)}/s), ${errors} errors; Redis keys ${keysBefore} → ${keysAfter}`,
  );
  console.log(`  + ${SESSIONS} live sessions: ${show(many)}`);
  console.log(
    `growth with ${SESSIONS} live sessions: RSS ${(many.rss - none.rss).toFixed(1)} MB, V8 heap used ${(many.heap - none.heap).toFixed(1)} MB`,
  );
} finally {
  redis.disconnect();
  await server.stop();
  await redisService.stop();
  await mongo.stop();
}
process.exit(0);
